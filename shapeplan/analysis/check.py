"""``check``: propagate shapes through every case of a network, decide every condition for all
sizes, and build the Report (the main case's table, the union of the cases' domains)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.errors import Diagnostic
from ..core.ir import Network
from .cases import Case, case_notes, main_case, run_cases
from .domain.domain import Domain
from .propagate import Propagation
from .pyhints import python_hints
from .report import LayerInfo, Report, layer_infos, shape_text


def run_check(net: Network, assign: Mapping[tuple[str, str], Any] | None = None, *,
              fixits: bool = False) -> Report:
    """Propagate and analyse ``net``.  With ``fixits``, a merge whose branches never agree
    gets the argument edits that would make them agree in its hint (a few more checks)."""
    base, cases = run_cases(net, assign)
    main = main_case(cases)
    others = [c for c in cases if c is not main]
    prop = main.propagation
    assert prop is not None and main.network is not None
    shown = main.network
    diags = list(main.diagnostics) + case_notes(main, others, base)
    if fixits:
        diags = [_with_fixes(shown, prop, d, assign) for d in diags]
    diags = python_hints(shown, prop, diags)
    domain = Domain.union(main.domain.symbols, [c.domain for c in cases], main.domain.bounds)
    order = {layer.name: i for i, layer in enumerate(shown.layers)}
    return Report(shown, layer_infos(shown, prop, order), sorted(diags, key=_diag_order(order)), domain, prop, others,
                  main)


def _with_fixes(net: Network, prop: Propagation, d: Diagnostic,
                assign: Mapping[tuple[str, str], Any] | None) -> Diagnostic:
    from .fixit import MERGE_CODES, merge_fixes

    if d.severity == "warning" or d.code not in MERGE_CODES:
        return d
    fixes = merge_fixes(net, prop, d, lambda n, a: run_check(n, {**(assign or {}), **a}))
    if not fixes:
        return d
    hint = "; or ".join(fixes) + (f"; or {d.hint}" if d.hint else "")
    return Diagnostic(d.severity, d.code, d.message, layer=d.layer, hint=hint, location=d.location)


def _diag_order(order: Mapping[str, int]) -> Any:
    rank = {"error": 0, "warning": 1, "note": 2}

    def key(d: Diagnostic) -> tuple[int, int]:
        return (order.get(d.layer or "", -1), rank.get(d.severity, 3))

    return key


__all__ = ["Case", "LayerInfo", "Report", "run_check", "shape_text"]

"""Fix-its for merges whose branches never agree: the one-argument change that makes them.

When ``add``/``cat``/``stack`` reads branches whose sizes differ at every input size, the
useful hint is a concrete edit: ``set conv_b padding=1`` or ``set pool_a ceil_mode=false``.
Candidates are the layers on the branches (not shared by all of them), nearest first; each
candidate edit is checked with a full analysis, and kept when it removes every error of the
merge without adding another.  The search is small and bounded (a few checks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import networkx as nx

from ..core.errors import Diagnostic
from ..core.ir import Network
from ..ops import REGISTRY
from .propagate import Propagation

MERGE_CODES = frozenset({"cat-mismatch", "broadcast", "stack-mismatch"})
MAX_TRIES = 10


def _edits(spec_name: str, args: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Small edits of one layer's arguments that change its output size."""
    spec = REGISTRY[spec_name]
    names = {p.name for p in spec.params}
    pad = args.get("padding")
    if "padding" in names and isinstance(pad, tuple) and all(isinstance(v, int) for v in pad):
        for delta in (1, -1, 2):
            new = tuple(v + delta for v in pad)
            if all(v >= 0 for v in new):
                yield "padding", list(new)
    elif "padding" in names and isinstance(pad, int) and not isinstance(pad, bool):
        for delta in (1, -1, 2):
            if pad + delta >= 0:
                yield "padding", pad + delta
    if "ceil_mode" in names and isinstance(args.get("ceil_mode"), bool):
        yield "ceil_mode", not args["ceil_mode"]
    op = args.get("output_padding")
    if "output_padding" in names and isinstance(op, tuple) and all(isinstance(v, int) for v in op):
        yield "output_padding", [1 - min(v, 1) for v in op]


def _candidates(net: Network, merge: str) -> list[str]:
    g = net.graph
    layer = net.by_name[merge]
    ancestors = [nx.ancestors(g, src) | {src} for src in dict.fromkeys(layer.inputs)]
    if len(ancestors) < 2:
        return []
    shared = set.intersection(*ancestors)
    branch = set.union(*ancestors) - shared
    dist = {n: d for src in layer.inputs for n, d in nx.single_source_shortest_path_length(g.reverse(copy=False), src).items()}
    return sorted((n for n in branch if n in net.by_name), key=lambda n: (dist.get(n, 1 << 30), n))


def merge_fixes(net: Network, prop: Propagation, diag: Diagnostic,
                check: Callable[[Network, dict[tuple[str, str], Any]], Any]) -> list[str]:
    """Edits that make the merge ``diag.layer`` valid (each checked with ``check``)."""
    if diag.layer is None or diag.layer not in net.by_name:
        return []
    found: list[str] = []
    tries = 0
    for name in _candidates(net, diag.layer):
        res = prop.results.get(name)
        if res is None:
            continue
        for param, value in _edits(res.spec.name, res.args):
            if tries >= MAX_TRIES:
                return found
            tries += 1
            try:
                rep = check(net, {(name, param): value})
            except Exception:  # noqa: BLE001 - an edit the rules refuse is simply not a fix
                continue
            if not rep.errors and not any(d.layer == diag.layer and d.code in MERGE_CODES for d in rep.diagnostics):
                shown: Any = str(value).lower() if isinstance(value, bool) else value
                if isinstance(value, list) and len(set(value)) == 1:
                    shown = value[0]
                found.append(f"set {name} {param}={shown} (then {diag.layer} is valid: {rep.domain})")
                if len(found) >= 2:
                    return found
    return found

"""One input size: every layer's concrete shape there, or why the size is not valid.

Why a size fails is read from the case it falls in (:meth:`Report.case_at`): the model's own
refusal there, else the first layer, in order, whose requirement fails at the size (a
requirement decided for every size, or one of the case's conditions evaluated at the size),
with the requirement's message and the values it takes (``576 = 16*6*6 at H=32, W=32``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from ..core.canon import factor_values
from ..core.conditions import Constraint, cond_text
from ..core.dims import Dim, Shape, evaluate, fmt, free_symbols
from ..core.errors import Diagnostic, Location, ShapeError, ShapeplanError
from ..core.ir import Network
from .domain.domain import Domain
from .propagate import Propagation

if TYPE_CHECKING:
    from .cases import Case
    from .domain.nearest import Nearest


class ReportLike(Protocol):
    """What this module reads of a :class:`~shapeplan.analysis.report.Report`."""

    network: Network
    domain: Domain
    propagation: Propagation
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool: ...

    def case_at(self, /, **sizes: int) -> Case | None: ...

    def shapes_at(self, /, **sizes: int) -> dict[str, Shape | None]: ...


def where_text(sizes: Mapping[str, int], names: frozenset[str] | set[str] | None = None) -> str:
    """``H=32, W=32`` (only ``names``, when given and any of them are in ``sizes``)."""
    keys = [k for k in sizes if names is None or k in names] or list(sizes)
    return ", ".join(f"{k}={sizes[k]}" for k in keys)


def value_text(d: Dim, env: Mapping[str, int]) -> str:
    """``576 = 16*6*6``: the value of ``d`` at ``env``, and its printed factors' values."""
    v = evaluate(d, env)
    parts = None if isinstance(d, int) else factor_values(d, env)
    return f"{v} = {parts}" if parts and parts != str(v) else str(v)


def known_symbols(rep: ReportLike) -> list[str]:
    """Every size ``rep`` depends on: the input's symbols, then those that layer arguments name."""
    names = list(rep.network.symbol_names())
    return names + [s for s in rep.domain.symbols if s not in names]


def _check_names(rep: ReportLike, sizes: Mapping[str, int]) -> None:
    known = known_symbols(rep)
    unknown = [k for k in sizes if k not in known]
    if unknown:
        raise ShapeplanError(f"the network does not have {', '.join(unknown)}", code="at",
                             hint=f"its sizes are {', '.join(known)}" if known else "its sizes are fixed")
    bad = [k for k, v in sizes.items() if isinstance(v, bool) or not isinstance(v, int) or v < 0]
    if bad:
        raise ShapeplanError(f"{bad[0]} must be a non-negative int, got {sizes[bad[0]]!r}", code="at")


def _constraint_failure(c: Constraint, env: Mapping[str, int]) -> Diagnostic:
    """What a requirement that fails at ``env`` says, with the values it takes there."""
    names = free_symbols(c.cond.lhs) | free_symbols(c.cond.rhs)
    if c.show is not None:
        names = names | free_symbols(c.show)
    where = where_text(env, set(names))
    if c.show is not None and not isinstance(c.show, int):
        detail = f" ({value_text(c.show, env)} at {where})"
    else:
        sides = [f"{fmt(s)} = {value_text(s, env)}" for s in (c.cond.lhs, c.cond.rhs) if not isinstance(s, int)]
        detail = f" (at {where}: {', '.join(sides)}; needs {cond_text(c.cond)})"
    return Diagnostic("error", c.code, c.message + detail, layer=c.layer, hint=c.hint, location=c.location)


def _bounds_failure(rep: ReportLike, env: Mapping[str, int]) -> Diagnostic | None:
    for s, info in rep.network.symbols.items():
        v = env.get(s)
        if v is None:
            continue
        if v < info.min or (info.max is not None and v > info.max):
            rng = f">= {info.min}" if info.max is None else f"in [{info.min}, {info.max}]"
            return Diagnostic("error", "bounds", f"{s}={v} is outside the sizes allowed for {s} ({s} {rng})",
                              location=Location(rep.network.source) if rep.network.source else None)
    return None


def failure_at(rep: ReportLike, sizes: Mapping[str, int]) -> Diagnostic | None:
    """Why the network does not run at ``sizes`` (None where it does, or where no reason is
    found among the conditions that the given sizes decide).  A size left out is not
    evaluated: requirements that need it are skipped."""
    env = dict(sizes)
    found = _bounds_failure(rep, env)
    if found is not None:
        return found
    case = rep.case_at(**env)
    if case is not None and case.refusal is not None:
        r = case.refusal
        return Diagnostic("error", "refused", f"forward refuses the input at {where_text(env)}: {r.message}",
                          location=r.location, hint="the model's own check")
    prop = case.propagation if case is not None and case.propagation is not None else rep.propagation
    order = {layer.name: i for i, layer in enumerate(prop.network.layers)}
    best: tuple[int, Diagnostic] | None = None
    for d in prop.diagnostics:
        if d.severity == "error":
            best = (order.get(d.layer or "", -1), d)
            break
    for c in prop.constraints:
        rank = order.get(c.layer, -1)
        if best is not None and rank >= best[0]:
            break
        if not (free_symbols(c.cond.lhs) | free_symbols(c.cond.rhs)) <= set(env):
            continue
        if not c.cond.holds_at(env):
            best = (rank, _constraint_failure(c, env))
            break
    return None if best is None else best[1]


def _explained(rep: ReportLike, sizes: Mapping[str, int]) -> ShapeplanError | None:
    """The error that says why ``sizes`` are not valid, with the nearest valid sizes."""
    in_domain = {k: v for k, v in sizes.items() if k in rep.domain.symbols}
    if rep.ok and rep.domain.contains(**in_domain):
        return None
    where = where_text(sizes)
    near: Nearest | None = rep.domain.nearest(**in_domain) if rep.ok else None
    reason = failure_at(rep, sizes)
    if reason is None:
        reason = next((d for d in rep.diagnostics if d.severity == "error"), None)
    hint = str(near) if near is not None else None
    if reason is None:
        return ShapeError(f"{where} is not a valid input size", code="at", hint=hint or f"valid inputs: {rep.domain}")
    if reason.hint:
        hint = f"{hint}; or change the network: {reason.hint}" if hint else reason.hint
    return ShapeError(f"{where} is not a valid input size: {reason.message}", code=reason.code, layer=reason.layer,
                      hint=hint, location=reason.location)


def unknown_sizes(rep: ReportLike, sizes: Mapping[str, int]) -> ShapeplanError | None:
    """The error for sizes the network does not have (or that are not sizes), else None."""
    try:
        _check_names(rep, sizes)
    except ShapeplanError as e:
        return e
    return None


def explain_at(rep: ReportLike, sizes: Mapping[str, int]) -> ShapeplanError | None:
    """None when ``sizes`` are valid (a size left out: some value), else the error to raise
    or print: the first layer that fails there, its values, and the nearest valid sizes.
    Unknown or negative sizes are errors too."""
    return unknown_sizes(rep, sizes) or _explained(rep, sizes)


def shapes_at(rep: ReportLike, sizes: Mapping[str, int]) -> dict[str, tuple[int, ...]]:
    """Every input's and layer's shape at ``sizes``, as ints (raises where they are not valid)."""
    _check_names(rep, sizes)
    missing = [s for s in known_symbols(rep) if s not in sizes]
    if missing:
        raise ShapeplanError(f"the shapes at one size need every size; {', '.join(missing)} missing", code="at",
                             hint=f"give {', '.join(f'{s}=...' for s in missing)}")
    err = _explained(rep, sizes)
    if err is not None:
        raise err
    out: dict[str, tuple[int, ...]] = {}
    for name, shape in rep.shapes_at(**sizes).items():
        if shape is not None:
            out[name] = tuple(evaluate(d, sizes) for d in shape)
    return out


__all__ = ["explain_at", "failure_at", "known_symbols", "shapes_at", "unknown_sizes", "value_text", "where_text"]

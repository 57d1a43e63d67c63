"""Deciding a propagation's conditions for every input size at once: the domain, and a
diagnostic for each condition that removes sizes (what it needs, and where it fails)."""

from __future__ import annotations

from collections.abc import Mapping

from ..core.conditions import Cond
from ..core.dims import fmt, free_symbols
from ..core.errors import Diagnostic, Location
from ..core.ir import Network
from ..core.sets import TooComplex, USet
from .domain.boxes import Box, apply_condition, base_box, box_key, closest_value, evaluate_show, find_violation
from .domain.domain import Domain
from .domain.quasi import NotAnalysable
from .propagate import Propagation
from .region import Region


def _at(env: Mapping[str, int], names: set[str] | frozenset[str]) -> str:
    keys = [k for k in env if k in names] or list(env)
    return ", ".join(f"{k}={env[k]}" for k in keys)


def _project(boxes: list[Box], names: list[str]) -> str:
    parts = []
    boxes = sorted(boxes, key=lambda b: box_key(b, names))
    for box in boxes[:4]:
        text = ", ".join(box[s].describe(s) for s in names)
        if text not in parts:
            parts.append(text)
    more = " (and other combinations)" if len(boxes) > 4 else ""
    return "; or ".join(parts) + more


def analyse(net: Network, prop: Propagation, region: Region | None = None) -> tuple[Domain, list[Diagnostic]]:
    """Decide the symbolic conditions: the domain, and a diagnostic per condition that
    can never hold (error) or that restricts the sizes through an equality (note).  With
    ``region``, only its sizes are considered (a case of the network)."""
    symbols = list(net.symbol_names())
    if region is not None:  # a size its case was decided on (a layer argument's symbol, too)
        symbols += [s for s in region.symbols if s not in symbols]
    for c in prop.constraints:
        for s in sorted(free_symbols(c.cond.lhs) | free_symbols(c.cond.rhs)):
            if s not in symbols:
                symbols.append(s)
    bounds = {s: USet.range(info.min, info.max) for s, info in net.symbols.items()}
    boxes: list[Box] = [base_box(symbols, bounds)]
    if region is not None:
        extra = {s: base_box([s], bounds)[s] for s in symbols if s not in region.symbols}
        boxes = [{**box, **extra} for box in region.boxes]
    if any(not b for box in boxes for b in box.values()):
        boxes = [box for box in boxes if all(box.values())]
    diags: list[Diagnostic] = []
    conditions: list[Cond] = list(region.conditions()) if region is not None else []
    residual: list[Cond] = list(conditions)
    failed = any(d.severity == "error" for d in prop.diagnostics)
    for c in prop.constraints:
        conditions.append(c.cond)
        if not boxes:
            continue
        try:
            new = apply_condition(boxes, c.cond)
        except (NotAnalysable, TooComplex):
            if c.cond not in residual:
                residual.append(c.cond)
            continue
        names = sorted(free_symbols(c.cond.lhs) | free_symbols(c.cond.rhs), key=symbols.index)
        if not new:
            msg = c.message
            if c.show is not None and not isinstance(c.show, int):
                target = c.cond.rhs if isinstance(c.cond.rhs, int) else None
                env, val = closest_value(boxes, c.show, target, symbols)
                if val is not None:
                    near = "" if target is None else f"; the closest to {target}"
                    msg += f" ({val} at {_at(env, free_symbols(c.show))}{near})"
            msg += "; no input size satisfies this"
            diags.append(Diagnostic("error", c.code, msg, layer=c.layer, hint=c.hint, location=c.location))
            failed = True
            continue  # keep analysing the rest with the sizes valid so far
        if c.cond.kind in ("eq", "dvd") and new != boxes:
            env_bad = find_violation(boxes, new, c.cond, symbols)
            msg = f"{c.message}: this holds only for {_project(new, names)}"
            if env_bad is not None and c.show is not None:
                val = evaluate_show(c.show, env_bad)
                if val is not None:
                    msg += f"; at {_at(env_bad, set(names))} it is {val}"
            diags.append(Diagnostic("note", c.code, msg, layer=c.layer, location=c.location,
                                    hint="the domain below lists every valid size"))
        boxes = new
    domain = Domain(tuple(symbols), [] if failed else boxes, conditions, residual, bounds)
    if not failed and boxes and residual and domain.smallest() is None:
        diags.append(Diagnostic("warning", "domain-search",
                                "no valid input size was found by a bounded search; the network may be invalid for "
                                "every size: " + "; ".join(f"{fmt(r.lhs)} vs {fmt(r.rhs)}" for r in residual)[:300],
                                location=Location(net.source) if net.source else None))
    return domain, diags

"""Unions of boxes (one exact set per symbol) and the conditions that tie several symbols.

Conditions that tie several symbols together through a product (a Linear after Flatten:
``16*f(H)*g(W) = 400``) are solved by enumerating the factorizations of the constant, each
factor's preimage being again an exact set (:mod:`.quasi`).  Also here: the search for the
sizes that messages show (a violation, the value closest to a target).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import sympy

from ...core.conditions import Cond
from ...core.dims import evaluate, free_symbols, norm, sym
from ...core.sets import USet
from .quasi import NotAnalysable, univariate

MAX_FACTORIZATIONS = 20_000
MAX_BOXES = 256

Box = dict[str, USet]


def box_key(box: Box, order: Sequence[str]) -> tuple[int, int, tuple[int, ...]]:
    mins = [box[s].min() or 0 for s in order]
    return (max(mins, default=0), sum(mins), tuple(mins))


# --------------------------------------------------------------------------- conditions on several symbols


def _product_form(cond: Cond) -> tuple[int | None, dict[str, Any]] | None:
    """``cond`` as ``prod_i phi_i(x_i) == K`` (one univariate factor per symbol), or None."""
    if cond.kind != "eq":
        return None
    lhs, rhs = norm(cond.lhs), norm(cond.rhs)
    if isinstance(lhs, int):
        lhs, rhs = rhs, lhs
    if not isinstance(rhs, int) or isinstance(lhs, int):
        return None
    coeff, factors = lhs.as_coeff_mul()
    if not coeff.is_Integer or int(coeff) == 0:
        return None
    if rhs % int(coeff):
        return None, {}  # no integer solution at all
    groups: dict[str, Any] = {}
    for f in factors:
        syms = free_symbols(f)
        if len(syms) != 1:
            return None
        (s,) = syms
        groups[s] = norm(groups.get(s, 1) * f)
    return rhs // int(coeff), groups


def _divisor_tuples(m: int, k: int) -> list[tuple[int, ...]]:
    divs = sorted({d for i in range(1, math.isqrt(m) + 1) if m % i == 0 for d in (i, m // i)})
    out: list[tuple[int, ...]] = []

    def rec(rem: int, left: int, acc: tuple[int, ...]) -> None:
        if len(out) > MAX_FACTORIZATIONS:
            raise NotAnalysable("too many factorizations")
        if left == 1:
            out.append((*acc, rem))
            return
        for d in divs:
            if d > rem:
                break
            if rem % d == 0:
                rec(rem // d, left - 1, (*acc, d))

    rec(m, k, ())
    return out


def subtract_box(a: Box, t: Box) -> list[Box]:
    """``a`` minus ``t``, as disjoint boxes (``t`` is any box over the same symbols)."""
    out: list[Box] = []
    prefix = dict(a)
    for s in a:
        rest = prefix[s] - t[s]
        if rest:
            out.append({**prefix, s: rest})
        prefix[s] = prefix[s] & t[s]
        if not prefix[s]:
            break
    return out


def subtract(boxes: Sequence[Box], remove: Sequence[Box]) -> list[Box]:
    """The union of ``boxes`` minus the union of ``remove``."""
    out = list(boxes)
    for t in remove:
        out = [piece for b in out for piece in subtract_box(b, t)]
        _check_box_count(out)
    return out


def apply_condition(boxes: list[Box], cond: Cond) -> list[Box]:
    """Intersect the union of boxes with ``cond``; raises NotAnalysable outside the fragment.
    A negated condition (``!=``, "not a multiple of") is the complement of its positive."""
    if cond.negative:
        return subtract(boxes, apply_condition(boxes, cond.positive))
    known = cond.concrete()
    if known is not None:
        return list(boxes) if known else []
    syms = sorted(free_symbols(cond.lhs) | free_symbols(cond.rhs))
    if len(syms) > 1 and any(_pinned(box, syms) for box in boxes):
        # a symbol with one value in a box is that value there (C == N where C = 1: N == 1)
        out: list[Box] = []
        rest = [box for box in boxes if not _pinned(box, syms)]
        for box in boxes:
            pins = _pinned(box, syms)
            if pins:
                subs = {sym(k): v for k, v in pins.items()}
                out += apply_condition([box], Cond(cond.kind, norm(sympy.sympify(cond.lhs).subs(subs)),
                                                   norm(sympy.sympify(cond.rhs).subs(subs))))
        return _check_box_count(out + (apply_condition(rest, cond) if rest else []))
    if len(syms) == 1:
        (s,) = syms
        out = []
        for box in boxes:
            lo = box[s].min()
            if lo is None:
                continue
            new = box[s] & univariate(cond, s, lo)
            if new:
                out.append({**box, s: new})
        return out
    if cond.kind == "ge":
        return _product_at_least(boxes, cond)
    pf = _product_form(cond)
    if pf is None:
        raise NotAnalysable("a relation between several symbols")
    target, groups = pf
    if target is None:
        return []
    names = sorted(groups)
    if not names:
        return [] if target != 0 else boxes
    if target == 0:
        # some factor is zero
        out = []
        for box in boxes:
            for s in names:
                zero = box[s] & univariate(Cond("eq", groups[s], 0), s, box[s].min() or 1)
                if zero:
                    out.append({**box, s: zero})
        return _check_box_count(out)
    tuples = _divisor_tuples(abs(target), len(names))
    signs = [sg for sg in itertools.product((1, -1), repeat=len(names))
             if math.prod(sg) == (1 if target > 0 else -1)]
    out = []
    for box in boxes:
        # a factor that cannot be negative on the box needs no negative values
        can_neg = {s: bool(box[s] & univariate(Cond("ge", -1, groups[s]), s, box[s].min() or 1)) for s in names}
        cache: dict[tuple[str, int], USet] = {}
        for values in tuples:
            for sg in signs:
                if any(v < 0 and not can_neg[s] for s, v in zip(names, (a * b for a, b in zip(values, sg)))):
                    continue
                cand: Box = dict(box)
                for s, v in zip(names, (a * b for a, b in zip(values, sg))):
                    key = (s, v)
                    if key not in cache:
                        cache[key] = box[s] & univariate(Cond("eq", groups[s], v), s, box[s].min() or 1)
                    cand[s] = cache[key]
                    if not cand[s]:
                        break
                else:
                    out.append(cand)
                    _check_box_count(out)
    return out


def _pinned(box: Box, names: Sequence[str]) -> dict[str, int]:
    """The symbols among ``names`` that ``box`` allows one value only."""
    out = {}
    for n in names:
        lo = box[n].min()
        if lo is not None and box[n].max() == lo:
            out[n] = lo
    return out


def _product_at_least(boxes: list[Box], cond: Cond) -> list[Box]:
    """``c * prod_i phi_i(x_i) + d >= 0`` with c > 0 and factors >= 0 on each box (the "more than
    one value per channel" checks of the norms: ``(H//2)*(W//2) >= 2``): the box minus the
    finitely many factor values whose product is too small."""
    expr = norm(cond.lhs - cond.rhs)
    if isinstance(expr, int):
        return boxes if expr >= 0 else []
    d, rest = expr.as_coeff_Add()
    coeff, factors = rest.as_coeff_mul()
    if not (d.is_Integer and coeff.is_Integer and int(coeff) > 0):
        raise NotAnalysable("a relation between several symbols")
    need = -(int(d) // int(coeff))  # prod >= ceil(-d / c)
    groups: dict[str, Any] = {}
    for f in factors:
        syms = free_symbols(f)
        if len(syms) != 1:
            raise NotAnalysable("a relation between several symbols")
        (name,) = syms
        groups[name] = norm(groups.get(name, 1) * f)
    names = sorted(groups)
    if need <= 0 or need > 64:
        if need <= 0 and all(_nonnegative(b, names, groups) for b in boxes):
            return boxes
        raise NotAnalysable("a relation between several symbols")
    out: list[Box] = []
    for box in boxes:
        if not _nonnegative(box, names, groups):
            raise NotAnalysable("a product of sizes that may be negative")
        small: list[Box] = []  # where the product is below `need`: a factor is 0, or all are small
        for name in names:
            small.append({**box, name: box[name] & univariate(Cond("eq", groups[name], 0), name, box[name].min() or 1)})
        for values in itertools.product(range(1, need), repeat=len(names)):
            if math.prod(values) < need:
                small.append({**box, **{n: box[n] & univariate(Cond("eq", groups[n], v), n, box[n].min() or 1)
                                        for n, v in zip(names, values)}})
        out += subtract([box], [b for b in small if all(b.values())])
        _check_box_count(out)
    return out


def _nonnegative(box: Box, names: Sequence[str], groups: Mapping[str, Any]) -> bool:
    return all(not (box[n] & univariate(Cond("ge", -1, groups[n]), n, box[n].min() or 1)) for n in names)


def _check_box_count(boxes: list[Box]) -> list[Box]:
    if len(boxes) > MAX_BOXES:
        raise NotAnalysable("too many boxes")
    return boxes


# --------------------------------------------------------------------------- sizes for messages


def base_box(symbols: Sequence[str], bounds: Mapping[str, USet]) -> Box:
    return {s: bounds.get(s, USet.range(1)) for s in symbols}


def point_env(box: Box, symbols: Sequence[str]) -> dict[str, int]:
    return {s: box[s].min() or 1 for s in symbols}


def find_violation(prior: list[Box], after: list[Box], cond: Cond, symbols: Sequence[str]) -> dict[str, int] | None:
    """A size inside ``prior`` where ``cond`` fails, near the valid ones (for messages)."""
    start = sorted(after or prior, key=lambda b: box_key(b, symbols))[0]
    base = point_env(start, symbols)
    for box in sorted(prior, key=lambda b: box_key(b, symbols)):
        for delta in range(0, 64):
            for s in symbols:
                v = box[s].first_at_or_after(base[s] + delta)
                if v is None:
                    continue
                env = {**{t: (base[t] if base[t] in box[t] else (box[t].min() or 1)) for t in symbols}, s: v}
                if all(env[t] in box[t] for t in symbols) and not cond.holds_at(env):
                    return env
    return None


def closest_value(boxes: list[Box], show: Any, target: int | None, symbols: Sequence[str],
                  budget: int = 20_000) -> tuple[dict[str, int], int | None]:
    """A size in ``boxes`` where ``show`` is closest to ``target`` (or smallest), for messages."""
    names = [s for s in symbols if s in free_symbols(show)]
    best: tuple[tuple[int, int], dict[str, int], int] | None = None
    per = max(2, int(budget ** (1 / max(len(names), 1))))
    for box in sorted(boxes, key=lambda b: box_key(b, symbols))[:8]:
        base = point_env(box, symbols)
        grids = [list(itertools.islice(box[s].values(), per)) for s in names]
        for combo in itertools.product(*grids):
            env = {**base, **dict(zip(names, combo))}
            val = evaluate_show(show, env)
            if val is None:
                continue
            score = (abs(val - target) if target is not None else 0, sum(combo))
            if best is None or score < best[0]:
                best = (score, env, val)
            if target is None:
                break
    if best is None:
        return {}, None
    return best[1], best[2]


def evaluate_show(show: Any, env: Mapping[str, int]) -> int | None:
    try:
        return evaluate(norm(show), env)
    except (KeyError, ZeroDivisionError, TypeError, ValueError):
        return None

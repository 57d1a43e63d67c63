"""Conditions on one input symbol, decided exactly.

Every size function of a CNN is *quasi-affine* in each input symbol: ``f(x + P) = f(x) + Q``
for all integers x, for a period P (the product of the strides, typically) and a step Q.
So a condition on one symbol is decided by one table of P values: thresholds, intervals
and congruences fall out exactly, with no search.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any

import sympy

from ...core.conditions import Cond
from ...core.dims import FloorDiv, compile_dim, norm
from ...core.scaled import ScaledSize, scale_split
from ...core.sets import Seg, USet

MAX_TABLE = 1 << 16  # longest period we tabulate


class NotAnalysable(Exception):
    """This condition is outside the exact fragment; it is kept as a residual relation."""


# --------------------------------------------------------------------------- quasi-affine functions


@dataclass(frozen=True)
class QA:
    """``f(x) = table[x mod P] + step * (x div P)`` for every integer x."""

    period: int
    step: int
    table: tuple[int, ...]

    def at(self, x: int) -> int:
        q, r = divmod(x, self.period)
        return self.table[r] + self.step * q


def _qa_shape(e: sympy.Expr, x: sympy.Symbol) -> tuple[int, Fraction]:
    """(period, rate) of a quasi-affine expression in x; raises NotAnalysable otherwise."""
    if e.is_Number:
        return 1, Fraction(0)
    if e.is_Symbol:
        if e == x:
            return 1, Fraction(1)
        raise NotAnalysable(f"depends on {e}")
    if isinstance(e, sympy.Add):
        p, rate = 1, Fraction(0)
        for a in e.args:
            pa, ra = _qa_shape(a, x)
            p, rate = p * pa // math.gcd(p, pa), rate + ra
        return p, rate
    if isinstance(e, sympy.Mul):
        coeff, rest = e.as_coeff_Mul()
        if rest.is_Mul and any(x not in a.free_symbols for a in rest.args):
            const = [a for a in rest.args if x not in a.free_symbols]
            if any(not a.is_Number for a in const):
                raise NotAnalysable("symbolic coefficient")
        if rest.is_Mul and sum(1 for a in rest.args if x in a.free_symbols) > 1:
            raise NotAnalysable("a product of sizes")
        if not coeff.is_Rational:
            raise NotAnalysable("non-rational coefficient")
        p, rate = _qa_shape(rest, x)
        return p, rate * Fraction(int(coeff.p), int(coeff.q))
    if isinstance(e, FloorDiv):
        base, d = e.args
        pb, rb = _qa_shape(base, x)
        qb = rb * pb
        if qb.denominator != 1:
            raise NotAnalysable("non-integer step")
        k = int(d) // math.gcd(int(qb.numerator), int(d))
        return pb * k, rb / int(d)
    if isinstance(e, sympy.Mod):
        base, m = e.args
        if not m.is_Integer:
            raise NotAnalysable("symbolic modulus")
        pb, rb = _qa_shape(base, x)
        qb = rb * pb
        if qb.denominator != 1:
            raise NotAnalysable("non-integer step")
        return pb * (int(m) // math.gcd(int(qb.numerator), int(m))), Fraction(0)
    if isinstance(e, (sympy.Min, sympy.Max)):
        shapes = [_qa_shape(a, x) for a in e.args]
        rates = {r for _, r in shapes}
        if len(rates) != 1:
            raise NotAnalysable("min/max of sizes growing at different rates")
        p = 1
        for pa, _ in shapes:
            p = p * pa // math.gcd(p, pa)
        return p, shapes[0][1]
    raise NotAnalysable(f"unsupported {type(e).__name__}")


@cache
def quasi_affine(e: sympy.Expr, name: str) -> QA:
    """Tabulate the quasi-affine expression ``e`` of the one symbol ``name``."""
    x = sympy.Symbol(name, integer=True, positive=True)
    p, rate = _qa_shape(e, x)
    if p > MAX_TABLE:
        raise NotAnalysable(f"period {p} too long")
    step = rate * p
    if step.denominator != 1:
        raise NotAnalysable("non-integer step")
    fn = compile_dim(e, (name,))
    table = tuple(int(fn(r)) for r in range(p))
    return QA(p, int(step), table)


def _qa_of(e: Any, name: str) -> QA:
    if isinstance(e, int):
        return QA(1, 0, (e,))
    return quasi_affine(e, name)


# --------------------------------------------------------------------------- univariate conditions


def solve_ge(f: QA, lo: int) -> USet:
    """{x : f(x) >= 0} as an exact set, restricted to x >= lo (f defined everywhere)."""
    p, q = f.period, f.step
    if q == 0:
        return USet.periodic(p, [r for r in range(p) if f.table[r] >= 0], lo)
    # Residue r is in for x = r + k*p exactly when k >= k_r (q > 0) or k <= k_r (q < 0).
    # Within one window [k*p, k*p + p - 1] the members are the residues whose bound admits
    # k, so the set is constant between consecutive distinct bounds: one segment per
    # distinct bound (a handful), not one per residue (p segments of up to p residues).
    segs: list[Seg] = []
    bound: dict[int, list[int]] = {}
    if q > 0:
        for r in range(p):
            bound.setdefault(-(f.table[r] // q), []).append(r)
        ks = sorted(bound)
        active: list[int] = []
        for i, k in enumerate(ks):
            active = active + bound[k]
            start = max(k * p, lo)
            hi = ks[i + 1] * p - 1 if i + 1 < len(ks) else None
            if hi is None or hi >= start:
                segs.append(Seg(start, hi, p, frozenset(active)))
    else:
        for r in range(p):
            bound.setdefault(f.table[r] // (-q), []).append(r)
        ks = sorted(bound, reverse=True)
        active = []
        for i, k in enumerate(ks):
            active = active + bound[k]
            start = max((ks[i + 1] + 1) * p if i + 1 < len(ks) else lo, lo)
            hi = k * p + p - 1
            if hi >= start:
                segs.append(Seg(start, hi, p, frozenset(active)))
    return USet(segs)


def solve_eq(f: QA, lo: int) -> USet:
    """{x >= lo : f(x) == 0}."""
    p, q = f.period, f.step
    if q == 0:
        return USet.periodic(p, [r for r in range(p) if f.table[r] == 0], lo)
    pts = []
    for r in range(p):
        t = f.table[r]
        if (-t) % q == 0:
            x = r + p * (-t // q)
            if x >= lo:
                pts.append(x)
    return USet.points(pts)


def solve_dvd(f: QA, m: int, lo: int) -> USet:
    """{x >= lo : f(x) % m == 0}."""
    k = m // math.gcd(f.step, m) if f.step else 1
    period = f.period * k
    if period > MAX_TABLE:
        raise NotAnalysable(f"period {period} too long")
    return USet.periodic(period, [r for r in range(period) if f.at(r) % m == 0], lo)


@cache
def univariate(cond: Cond, name: str, lo: int = 1) -> USet:
    """The exact set of values of ``name`` (>= lo) at which ``cond`` holds."""
    scaled = _innermost_scaled(cond)
    if scaled is not None:
        return _piecewise(cond, scaled, name, lo)
    if cond.kind == "dvd":
        m = norm(cond.rhs)
        if not isinstance(m, int) or m <= 0:
            raise NotAnalysable("symbolic divisor")
        return solve_dvd(_qa_of(cond.lhs, name), m, lo)
    g = norm(cond.lhs - cond.rhs)
    f = _qa_of(g, name)
    return solve_ge(f, lo) if cond.kind == "ge" else solve_eq(f, lo)


# --------------------------------------------------------------------------- torch's scaled sizes


def _innermost_scaled(cond: Cond) -> ScaledSize | None:
    """A ScaledSize of ``cond`` whose argument holds no other one."""
    found: list[ScaledSize] = []
    for side in (cond.lhs, cond.rhs):
        if not isinstance(side, int):
            found += [a for a in side.atoms(ScaledSize) if not a.args[0].has(ScaledSize)]
    return min(found, key=sympy.default_sort_key) if found else None


@cache
def _members(f: QA, seg: Seg, lo: int) -> USet:
    """{x >= lo : f(x) in seg}, for a segment of multiples of its period (scale_split's misses)."""
    above = solve_ge(QA(f.period, f.step, tuple(v - seg.lo for v in f.table)), lo)
    assert seg.hi is not None
    below = solve_ge(QA(f.period, -f.step, tuple(seg.hi - v for v in f.table)), lo)
    return above & below & solve_dvd(f, seg.period, lo)


@cache
def _preimage(f: QA, misses: USet, lo: int) -> USet:
    out = USet()
    for seg in misses.segs:
        out = out | _members(f, seg, lo)
    return out


def _piecewise(cond: Cond, a: ScaledSize, name: str, lo: int) -> USet:
    """``cond`` with torch's scaled size ``a = int(n*s)`` replaced, piece by piece, by the exact
    formula of each piece: ``n*p//q`` where n is not in the misses M, one less where it is
    (and the mirror image where n < 0), see :mod:`shapeplan.core.scaled`."""
    split = scale_split(a.scale)
    if split is None:
        raise NotAnalysable(f"scale {a.scale!r} has no exact rational form")
    r, misses = split
    n = a.args[0]
    f = _qa_of(norm(n), name)
    p, q = sympy.Integer(r.numerator), sympy.Integer(r.denominator)
    nonneg = solve_ge(f, lo)
    neg = USet.range(lo) - nonneg
    hit_pos = _preimage(f, misses, lo)
    minus = QA(f.period, -f.step, tuple(-v for v in f.table))
    hit_neg = _preimage(minus, misses, lo)
    base_pos = FloorDiv(p * n, q)
    base_neg = -FloorDiv(-p * n, q)
    pieces = [(nonneg - hit_pos, base_pos), (nonneg & hit_pos, base_pos - 1),
              (neg - hit_neg, base_neg), (neg & hit_neg, base_neg + 1)]
    out = USet()
    for where, value in pieces:
        if not where:
            continue
        sub = Cond(cond.kind, _replace(cond.lhs, a, value), _replace(cond.rhs, a, value))
        out = out | (where & univariate(sub, name, lo))
    return out


def _replace(side: Any, a: ScaledSize, value: sympy.Expr) -> Any:
    return side if isinstance(side, int) else norm(side.xreplace({a: value}))

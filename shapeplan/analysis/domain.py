"""The valid input domain: the exact set of input sizes at which the forward pass runs.

Every size function of a CNN is *quasi-affine* in each input symbol: ``f(x + P) = f(x) + Q``
for all integers x, for a period P (the product of the strides, typically) and a step Q.
So a condition on one symbol is decided by one table of P values: thresholds, intervals
and congruences fall out exactly, with no search.  Conditions that tie several symbols
together through a product (a Linear after Flatten: ``16*f(H)*g(W) = 400``) are solved by
enumerating the factorizations of the constant, each factor's preimage being again an
exact set.  The domain is a union of *boxes* (one exact set per symbol); anything else is
kept as a residual relation that ``contains`` evaluates exactly.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from typing import Any

import sympy

from ..core.conditions import Cond
from ..core.dims import FloorDiv, compile_dim, evaluate, fmt, free_symbols, norm
from ..core.sets import Seg, TooComplex, USet

MAX_TABLE = 1 << 16  # longest period we tabulate
MAX_FACTORIZATIONS = 20_000
MAX_BOXES = 256


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
    if cond.kind == "dvd":
        m = norm(cond.rhs)
        if not isinstance(m, int) or m <= 0:
            raise NotAnalysable("symbolic divisor")
        return solve_dvd(_qa_of(cond.lhs, name), m, lo)
    g = norm(cond.lhs - cond.rhs)
    f = _qa_of(g, name)
    return solve_ge(f, lo) if cond.kind == "ge" else solve_eq(f, lo)


# --------------------------------------------------------------------------- boxes and the domain

Box = dict[str, USet]


def box_key(box: Box, order: Sequence[str]) -> tuple[int, int, tuple[int, ...]]:
    mins = [box[s].min() or 0 for s in order]
    return (max(mins, default=0), sum(mins), tuple(mins))


@dataclass
class Domain:
    """The exact set of input sizes at which the network's forward pass runs.

    ``boxes``: a union of products of exact per-symbol sets; ``residual``: conditions
    outside the exact fragment (checked pointwise); ``conditions``: every condition, which
    ``contains`` evaluates directly when all sizes are given.
    """

    symbols: tuple[str, ...]
    boxes: list[Box]
    conditions: list[Cond] = field(default_factory=list)
    residual: list[Cond] = field(default_factory=list)
    bounds: Mapping[str, USet] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.boxes

    @property
    def exact(self) -> bool:
        """True when the description (boxes) is the whole truth, with no residual relation."""
        return not self.residual

    def _check_names(self, sizes: Mapping[str, int]) -> None:
        for k, v in sizes.items():
            if k not in self.symbols:
                raise ValueError(f"unknown symbol {k!r}; the network's symbols are {', '.join(self.symbols) or 'none'}")
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"{k} must be an int, got {v!r}")

    def contains(self, /, **sizes: int) -> bool:  # positional-only self: a symbol may be named self
        """Is the network valid at these sizes?  A symbol left out means "some allowed value"."""
        self._check_names(sizes)
        if all(s in sizes for s in self.symbols):
            if not self.residual:  # the boxes are exact: membership, no formula evaluated
                return any(all(sizes[k] in box[k] for k in self.symbols) for box in self.boxes)
            return self._holds(dict(sizes))
        for box in self.boxes:
            if all(v in box[k] for k, v in sizes.items()):
                if not self.residual:
                    return True
                if self._search(box, dict(sizes)) is not None:
                    return True
        return False

    def _holds(self, env: dict[str, int]) -> bool:
        for s in self.symbols:
            if env[s] not in self.bounds.get(s, USet.range(1)):
                return False
        return all(c.holds_at(env) for c in self.conditions)

    def _search(self, box: Box, fixed: dict[str, int], budget: int = 20_000) -> dict[str, int] | None:
        free = [s for s in self.symbols if s not in fixed]
        iters = [list(itertools.islice(box[s].values(), 64)) for s in free]
        for n, combo in enumerate(itertools.product(*iters)):
            if n > budget:
                return None
            env = {**fixed, **dict(zip(free, combo))}
            if all(c.holds_at(env) for c in self.residual):
                return env
        return None

    def smallest(self) -> dict[str, int] | None:
        """The smallest valid sizes (the box with the smallest largest size first), or None."""
        for box in sorted(self.boxes, key=lambda b: box_key(b, self.symbols)):
            mins = {s: box[s].min() for s in self.symbols}
            if not self.residual:
                return {k: v for k, v in mins.items() if v is not None}
            found = self._search(box, {})
            if found is not None:
                return found
        return None

    def examples(self, limit: int | None = None) -> Iterator[dict[str, int]]:
        """Valid sizes, small ones first (lazily; ``limit`` caps how many)."""
        seen: set[tuple[int, ...]] = set()
        count = 0
        t = 1
        boxes = sorted(self.boxes, key=lambda b: box_key(b, self.symbols))
        while boxes:
            progressed = False
            for box in boxes:
                lists = [_upto(box[s], t) for s in self.symbols]
                for combo in itertools.product(*lists):
                    if combo in seen:
                        continue
                    env = dict(zip(self.symbols, combo))
                    if self.residual and not all(c.holds_at(env) for c in self.residual):
                        continue
                    seen.add(combo)
                    yield env
                    count += 1
                    progressed = True
                    if limit is not None and count >= limit:
                        return
            if all(all(box[s].max() is not None and box[s].max() <= t for s in self.symbols) for box in boxes):  # type: ignore[operator]
                return
            t = t * 2 if progressed or t < 4 else t * 2
            if t > 1 << 40:
                return

    __iter__ = examples

    def describe(self) -> str:
        if not self.boxes:
            return "no input size is valid"
        parts = []
        for box in sorted(self.boxes, key=lambda b: box_key(b, self.symbols)):
            parts.append(", ".join(box[s].describe(s) for s in self.symbols))
        text = parts[0] if len(parts) == 1 else "; or ".join(parts)
        if self.residual:
            text += "; and " + ", ".join(_cond_text(c) for c in self.residual)
        return text

    def __str__(self) -> str:
        return self.describe()

    def __repr__(self) -> str:
        return f"Domain({self.describe()})"

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.describe(),
            "symbols": list(self.symbols),
            "empty": self.empty,
            "exact": self.exact,
            "smallest": self.smallest(),
            "boxes": [{s: box[s].to_json() for s in self.symbols} for box in self.boxes],
            "residual": [_cond_text(c) for c in self.residual],
        }


def _upto(u: USet, t: int) -> list[int]:
    out = []
    for v in u.values():
        if v > t:
            break
        out.append(v)
    return out


def _cond_text(c: Cond) -> str:
    op = {"ge": ">=", "eq": "=="}.get(c.kind)
    if op:
        return f"{fmt(c.lhs)} {op} {fmt(c.rhs)}"
    return f"{fmt(c.lhs)} is a multiple of {fmt(c.rhs)}"


# --------------------------------------------------------------------------- building the domain


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


def apply_condition(boxes: list[Box], cond: Cond) -> list[Box]:
    """Intersect the union of boxes with ``cond``; raises NotAnalysable outside the fragment."""
    syms = sorted(free_symbols(cond.lhs) | free_symbols(cond.rhs))
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


def _check_box_count(boxes: list[Box]) -> list[Box]:
    if len(boxes) > MAX_BOXES:
        raise NotAnalysable("too many boxes")
    return boxes


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


__all__ = ["Domain", "USet", "QA", "quasi_affine", "univariate", "apply_condition", "NotAnalysable", "TooComplex"]

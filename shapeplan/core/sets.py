"""Exact sets of integers of the kind CNN shape constraints produce.

A :class:`USet` is a finite union of *segments* ``{x in [lo, hi] : x mod P in R}`` (``hi``
may be unbounded).  Such "eventually periodic" sets are closed under intersection and
union, and they are what a univariate condition on a quasi-affine size function yields:
thresholds (``H >= 29``), intervals (``H in [32, 35]``), congruences (``H = 32k``), and
unions of these.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

MAX_PERIOD = 1 << 20


class TooComplex(Exception):
    """A period grew past MAX_PERIOD; the caller falls back to evaluating points."""


@dataclass(frozen=True, order=True)
class Seg:
    lo: int
    hi: int | None  # inclusive; None: unbounded
    period: int
    residues: frozenset[int]

    def contains(self, x: int) -> bool:
        return x >= self.lo and (self.hi is None or x <= self.hi) and (x % self.period) in self.residues

    @cached_property
    def _sorted(self) -> tuple[int, ...]:
        return tuple(sorted(self.residues))

    def values(self, start: int) -> Iterator[int]:
        """Members >= start, in increasing order."""
        v = self.first_at_or_after(start)
        if v is None:
            return
        rs, p = self._sorted, self.period
        base, i = v - v % p, bisect.bisect_left(self._sorted, v % p)
        while True:
            for r in rs[i:]:
                v = base + r
                if self.hi is not None and v > self.hi:
                    return
                yield v
            base, i = base + p, 0

    def first_at_or_after(self, x: int) -> int | None:
        """The smallest member >= x, or None."""
        rs = self._sorted
        if not rs:
            return None
        start = max(x, self.lo)
        base, r0 = start - start % self.period, start % self.period
        i = bisect.bisect_left(rs, r0)
        best = base + rs[i] if i < len(rs) else base + self.period + rs[0]
        if self.hi is not None and best > self.hi:
            return None
        return best

    def last_at_or_before(self, x: int | None) -> int | None:
        if x is None:
            x = self.hi
        if x is None:
            return None
        rs = self._sorted
        if not rs:
            return None
        end = x if self.hi is None else min(x, self.hi)
        base, r0 = end - end % self.period, end % self.period
        i = bisect.bisect_right(rs, r0)
        best = base + rs[i - 1] if i > 0 else base - self.period + rs[-1]
        if best < self.lo:
            return None
        return best


def _reduce_period(p: int, residues: frozenset[int]) -> tuple[int, frozenset[int]]:
    for d in sorted(_divisors(p)):
        if d == p:
            break
        if all(((r + d) % p) in residues for r in residues):
            return d, frozenset(r % d for r in residues)
    return p, residues


def _divisors(n: int) -> list[int]:
    out = []
    i = 1
    while i * i <= n:
        if n % i == 0:
            out.append(i)
            if i * i != n:
                out.append(n // i)
        i += 1
    return out


def _norm_seg(s: Seg) -> Seg | None:
    if not s.residues:
        return None
    p, res = _reduce_period(s.period, s.residues)
    s = Seg(s.lo, s.hi, p, res)
    first = s.first_at_or_after(s.lo)
    if first is None:
        return None
    last = s.last_at_or_before(s.hi) if s.hi is not None else None
    if last is not None and last < first:
        return None
    if last is not None and last == first:
        return Seg(first, first, 1, frozenset({0}))
    if p > 1 and last is not None and last - first < p and all((x % p) in res for x in range(first, last + 1)):
        return Seg(first, last, 1, frozenset({0}))  # no gap inside: a plain interval
    return Seg(first, last, p, res)


class USet:
    """An exact set of integers: a sorted union of disjoint segments."""

    __slots__ = ("segs",)

    def __init__(self, segs: Iterable[Seg] = ()) -> None:
        normed = [n for s in segs if (n := _norm_seg(s)) is not None]
        normed.sort(key=lambda s: s.lo)
        self.segs: tuple[Seg, ...] = tuple(_merge(normed))

    # -- constructors
    @staticmethod
    def range(lo: int, hi: int | None = None) -> USet:
        return USet([Seg(lo, hi, 1, frozenset({0}))])

    @staticmethod
    def points(values: Iterable[int]) -> USet:
        vals = sorted(set(values))
        segs: list[Seg] = []
        for v in vals:
            if segs and segs[-1].hi == v - 1:
                segs[-1] = Seg(segs[-1].lo, v, 1, frozenset({0}))
            else:
                segs.append(Seg(v, v, 1, frozenset({0})))
        return USet(segs)

    @staticmethod
    def periodic(period: int, residues: Iterable[int], lo: int, hi: int | None = None) -> USet:
        return USet([Seg(lo, hi, period, frozenset(r % period for r in residues))])

    # -- queries
    def __bool__(self) -> bool:
        return bool(self.segs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, USet) and self.segs == other.segs

    def __hash__(self) -> int:
        return hash(self.segs)

    def __contains__(self, x: int) -> bool:
        return any(s.contains(x) for s in self.segs)

    def min(self) -> int | None:
        return self.segs[0].lo if self.segs else None

    def max(self) -> int | None:
        if not self.segs:
            return None
        if any(s.hi is None for s in self.segs):
            return None
        return max(s.hi for s in self.segs if s.hi is not None)

    @property
    def bounded(self) -> bool:
        return all(s.hi is not None for s in self.segs)

    def first_at_or_after(self, x: int) -> int | None:
        cands = [v for s in self.segs if (v := s.first_at_or_after(x)) is not None]
        return min(cands) if cands else None

    def last_at_or_before(self, x: int) -> int | None:
        """The largest member <= x, or None."""
        cands = [v for s in self.segs if s.lo <= x and (v := s.last_at_or_before(x)) is not None]
        return max(cands) if cands else None

    def values(self, start: int | None = None) -> Iterator[int]:
        """Members in increasing order (possibly infinitely many): the segments' members merged."""
        x = self.min() if start is None else start
        if x is None:
            return
        last = None
        for v in heapq.merge(*(seg.values(x) for seg in self.segs)):
            if v != last:
                yield v
                last = v

    def count(self, lo: int, hi: int) -> int:
        n = 0
        for s in self.segs:
            a, b = max(lo, s.lo), hi if s.hi is None else min(hi, s.hi)
            if a > b:
                continue
            for r in s.residues:
                # members x in [a, b] with x % p == r
                first = a + ((r - a) % s.period)
                if first <= b:
                    n += (b - first) // s.period + 1
        return n

    # -- algebra
    def __and__(self, other: USet) -> USet:
        out = []
        for a in self.segs:
            for b in other.segs:
                lo = max(a.lo, b.lo)
                his = [h for h in (a.hi, b.hi) if h is not None]
                hi = min(his) if his else None
                if hi is not None and hi < lo:
                    continue
                p = a.period * b.period // math.gcd(a.period, b.period)
                if p > MAX_PERIOD:
                    raise TooComplex(f"period {p}")
                if a.period == p and b.period == 1:
                    res = a.residues
                elif b.period == p and a.period == 1:
                    res = b.residues
                else:
                    res = frozenset(r for r in range(p) if r % a.period in a.residues and r % b.period in b.residues)
                out.append(Seg(lo, hi, p, res))
        return USet(out)

    def __or__(self, other: USet) -> USet:
        # segments of a union may overlap: split into disjoint pieces
        if not self.segs:
            return other
        if not other.segs:
            return self
        cuts = sorted({s.lo for s in (*self.segs, *other.segs)}
                      | {s.hi + 1 for s in (*self.segs, *other.segs) if s.hi is not None})
        out = []
        bounds = [*cuts, None]
        for i in range(len(cuts)):
            lo, nxt = bounds[i], bounds[i + 1]
            assert lo is not None
            hi = None if nxt is None else nxt - 1
            parts = [s for s in (*self.segs, *other.segs)
                     if s.lo <= lo and (s.hi is None or (hi is not None and s.hi >= hi))]
            if not parts:
                continue
            p = 1
            for s in parts:
                p = p * s.period // math.gcd(p, s.period)
            if p > MAX_PERIOD:
                raise TooComplex(f"period {p}")
            res = frozenset(r for r in range(p) if any(r % s.period in s.residues for s in parts))
            out.append(Seg(lo, hi, p, res))
        return USet(out)

    def complement(self, lo: int) -> USet:
        """The integers ``>= lo`` that are not in this set."""
        out: list[Seg] = []
        start = lo
        for s in self.segs:
            if s.lo > start:
                out.append(Seg(start, s.lo - 1, 1, frozenset({0})))
            if s.period > 1:
                out.append(Seg(max(s.lo, lo), s.hi, s.period, frozenset(range(s.period)) - s.residues))
            if s.hi is None:
                return USet(out)
            start = max(start, s.hi + 1)
        out.append(Seg(start, None, 1, frozenset({0})))
        return USet(out)

    def __sub__(self, other: USet) -> USet:
        if not self.segs or not other.segs:
            return self
        lo = self.segs[0].lo
        return self & other.complement(lo)

    # -- text
    def describe(self, name: str, max_parts: int = 6) -> str:
        if not self.segs:
            return f"no {name}"
        parts = [_describe_seg(s, name) for s in self.segs]
        if len(parts) > max_parts:
            parts = parts[:max_parts] + [f"... ({len(self.segs) - max_parts} more)"]
        return " or ".join(parts)

    def __repr__(self) -> str:
        return f"USet({self.describe('x')})"

    def to_json(self) -> list[dict[str, object]]:
        return [{"min": s.lo, "max": s.hi, "period": s.period, "residues": sorted(s.residues)} for s in self.segs]


def _extends_back(a: Seg, b: Seg) -> bool:
    """Is ``a`` (bounded, before ``b``) exactly ``b``'s pattern continued down to ``a.lo``?"""
    if a.hi is None or b.lo - a.lo > 4096:
        return False
    return all(a.contains(x) == ((x % b.period) in b.residues) for x in range(a.lo, b.lo))


def _merge(segs: list[Seg]) -> Iterator[Seg]:
    cur: Seg | None = None
    for s in segs:
        if cur is not None and cur.hi is not None and cur.period == s.period and cur.residues == s.residues:
            nxt = Seg(cur.hi + 1, None, cur.period, cur.residues).first_at_or_after(cur.hi + 1)
            if nxt == s.lo:
                cur = Seg(cur.lo, s.hi, cur.period, cur.residues)
                continue
        if cur is not None and s.period > 1 and _extends_back(cur, s):
            cur = Seg(cur.first_at_or_after(cur.lo) or cur.lo, s.hi, s.period, s.residues)
            continue
        if cur is not None:
            yield cur
        cur = s
    if cur is not None:
        yield cur


def _describe_seg(s: Seg, name: str) -> str:
    if s.period == 1:
        if s.hi is None:
            return f"{name} >= {s.lo}"
        if s.hi == s.lo:
            return f"{name} = {s.lo}"
        return f"{name} in [{s.lo}, {s.hi}]"
    if len(s.residues) == 1:
        (r,) = s.residues
        k0 = (s.lo - r) // s.period
        form = f"{name} = {s.period}k" + (f" + {r}" if r else "")
        if s.hi is None:
            return f"{form}, k >= {k0}"
        k1 = (s.hi - r) // s.period
        return f"{form}, k in [{k0}, {k1}]"
    rng = f"{name} >= {s.lo}" if s.hi is None else f"{name} in [{s.lo}, {s.hi}]"
    missing = sorted(set(range(s.period)) - s.residues)
    if len(missing) < len(s.residues):  # fewer words for the residues left out
        if len(missing) == 1:
            return f"{name} mod {s.period} != {missing[0]}, {rng}"
        return f"{name} mod {s.period} not in {{{', '.join(str(r) for r in missing)}}}, {rng}"
    res = ", ".join(str(r) for r in sorted(s.residues))
    return f"{name} mod {s.period} in {{{res}}}, {rng}"

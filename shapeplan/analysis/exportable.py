"""The sizes one ``torch.export`` spec can name: pieces of a domain, and the sizes it must leave out.

A dynamic dim of ``torch.export`` is one range of integers, or a *derived* dim ``P*k + r`` over a
range of ``k``; a spec is one such set per input symbol (a product).  A domain is a union of
boxes whose per-symbol sets are unions of segments ``{x in [lo, hi] : x mod P in R}``: each
segment and residue gives one :class:`Axis`, and the products of axes are the :class:`Piece`
s that one spec each can hold.

torch.export specialises sizes 0 and 1: an intermediate size that is 1 at some input size makes
the exported program refuse that input.  :func:`small_dim_conditions` states "every symbolic
size of every layer is at least 2" as conditions that the domain machinery intersects exactly.
Nothing here imports torch.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..core.conditions import Cond, ge
from ..core.dims import Dim, Shape, evaluate, fmt_shape, free_symbols, norm
from ..core.sets import Seg, TooComplex, USet
from .domain.boxes import Box, apply_condition, box_key, subtract
from .domain.quasi import NotAnalysable

DENSITY = 1024  # sizes 1..DENSITY of every symbol count when ranking pieces


@dataclass(frozen=True)
class Axis:
    """The sizes of one symbol in a piece: ``period*k + residue`` for ``lo <= value <= hi``
    (``hi`` None: no bound); ``lo`` and ``hi`` are members."""

    lo: int
    hi: int | None
    period: int = 1
    residue: int = 0

    @property
    def static(self) -> bool:
        return self.hi == self.lo

    @property
    def kmin(self) -> int:
        return (self.lo - self.residue) // self.period

    @property
    def kmax(self) -> int | None:
        return None if self.hi is None else (self.hi - self.residue) // self.period

    def contains(self, v: int) -> bool:
        return v >= self.lo and (self.hi is None or v <= self.hi) and v % self.period == self.residue

    def uset(self) -> USet:
        return USet.periodic(self.period, [self.residue], self.lo, self.hi)

    def at_or_after(self, v: int) -> int | None:
        """The smallest member >= v."""
        v = max(v, self.lo)
        v += (self.residue - v) % self.period
        return None if self.hi is not None and v > self.hi else v

    def at_or_before(self, v: int) -> int | None:
        """The largest member <= v."""
        if self.hi is not None:
            v = min(v, self.hi)
        v -= (v - self.residue) % self.period
        return None if v < self.lo else v

    def middle(self, cap: int) -> int:
        """A member between the ends (near the middle; near ``cap`` when unbounded)."""
        top = self.hi if self.hi is not None else max(cap, self.lo)
        return self.at_or_before((self.lo + top) // 2) or self.lo

    def describe(self, name: str) -> str:
        """``H >= 33``, ``H in [32, 35]``, ``H = 32k, k >= 2``, ``H = 32k + 29, k in [0, 3]``."""
        if self.static:
            return f"{name} = {self.lo}"
        if self.period == 1:
            return f"{name} >= {self.lo}" if self.hi is None else f"{name} in [{self.lo}, {self.hi}]"
        form = f"{name} = {self.period}k" + (f" + {self.residue}" if self.residue else "")
        return f"{form}, k >= {self.kmin}" if self.hi is None else f"{form}, k in [{self.kmin}, {self.kmax}]"

    def to_json(self) -> dict[str, int | None]:
        return {"min": self.lo, "max": self.hi, "period": self.period, "residue": self.residue}


def axes_of(u: USet) -> list[Axis]:
    """``u`` as disjoint axes (one per segment and residue)."""
    out: list[Axis] = []
    for seg in u.segs:
        for r in sorted(seg.residues):
            first = Seg(seg.lo, seg.hi, seg.period, frozenset({r})).first_at_or_after(seg.lo)
            if first is None:
                continue
            last = Seg(seg.lo, seg.hi, seg.period, frozenset({r})).last_at_or_before(seg.hi) if seg.hi is not None else None
            if last is not None and last < first:
                continue
            period = 1 if last == first else seg.period
            out.append(Axis(first, last, period, r % period))
    return out


@dataclass(frozen=True)
class Piece:
    """A product of axes: the sizes one torch.export spec holds."""

    axes: tuple[tuple[str, Axis], ...]

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(s for s, _ in self.axes)

    def axis(self, name: str) -> Axis:
        return dict(self.axes)[name]

    def box(self) -> Box:
        return {s: a.uset() for s, a in self.axes}

    def contains(self, /, **sizes: int) -> bool:
        return all(a.contains(sizes[s]) for s, a in self.axes if s in sizes)

    def smallest(self) -> dict[str, int]:
        return {s: a.lo for s, a in self.axes}

    def density(self) -> int:
        n = 1
        for _, a in self.axes:
            n *= a.uset().count(1, DENSITY)
        return n

    def describe(self) -> str:
        return ", ".join(a.describe(s) for s, a in self.axes)


def split_pieces(boxes: Sequence[Box], symbols: Sequence[str]) -> list[Piece]:
    """The union of ``boxes`` as pieces (the most common sizes first)."""
    out: list[Piece] = []
    seen: set[Piece] = set()
    for box in sorted(boxes, key=lambda b: box_key(b, symbols)):
        for combo in itertools.product(*(axes_of(box[s]) for s in symbols)):
            p = Piece(tuple(zip(symbols, combo)))
            if p not in seen:
                seen.add(p)
                out.append(p)
    return sorted(out, key=lambda p: (-p.density(), box_key(p.box(), symbols)))


def symbolic_dims(shapes: Iterable[Shape | None]) -> list[Dim]:
    """Every distinct size with symbols in these shapes, in order."""
    seen: dict[Dim, None] = {}
    for shape in shapes:
        for d in shape or ():
            if not isinstance(d, int) and free_symbols(d):
                seen.setdefault(d, None)
    return list(seen)


def small_dim_conditions(shapes: Iterable[Shape | None], bare: bool = True) -> list[Cond]:
    """``d >= 2`` for every symbolic size ``d`` of these shapes (``bare``: also for sizes that
    are an input symbol itself, ``N``; torch.export assumes those are at least 2 when it traces)."""
    out = []
    for d in symbolic_dims(shapes):
        if not bare and getattr(d, "is_Symbol", False):
            continue
        c = ge(d, 2)
        if c.concrete() is None:
            out.append(c)
    return out


def restrict(boxes: Sequence[Box], conds: Iterable[Cond]) -> tuple[list[Box], list[Cond]]:
    """The boxes where every condition holds, exactly; the conditions outside the exact fragment
    are returned (not applied)."""
    out = list(boxes)
    left: list[Cond] = []
    for c in conds:
        if not out:
            break
        try:
            out = apply_condition(out, c)
        except (NotAnalysable, TooComplex):
            left.append(c)
    return out, left


def minus(boxes: Sequence[Box], remove: Sequence[Box]) -> list[Box]:
    """``boxes`` without ``remove`` (exact)."""
    return subtract(list(boxes), list(remove)) if remove else list(boxes)


def pick_example(boxes: Sequence[Box], symbols: Sequence[str], conds: Sequence[Cond] = (), skip: int = 0,
                 tries: int = 4096) -> dict[str, int] | None:
    """Sizes inside ``boxes`` where every condition in ``conds`` holds, small ones first (past the
    ``skip`` smallest values of each symbol), the symbols' values different from each other
    (torch shares a size between equal dims)."""
    for box in sorted(boxes, key=lambda b: box_key(b, symbols)):
        lists = [_values_from(box[s], skip) for s in symbols]
        for n, combo in enumerate(itertools.product(*lists)):
            if n > tries:
                break
            if len(set(combo)) < len(combo):
                continue
            env = dict(zip(symbols, combo))
            if all(c.holds_at(env) for c in conds):
                return env
    return None


def _values_from(u: USet, skip: int) -> list[int]:
    """Up to 24 members of ``u``, past its ``skip`` smallest (fewer skipped when ``u`` is small)."""
    values = list(itertools.islice(u.values(), skip + 24))
    return values[min(skip, max(len(values) - 1, 0)):]


def first_small_dim(names_shapes: Iterable[tuple[str, Shape | None]], env: Mapping[str, int]) -> str | None:
    """``encoder.layer4 gives (N, 512, 1, 1)``: the first layer with a symbolic size below 2 at ``env``."""
    for name, shape in names_shapes:
        if not shape:
            continue
        try:
            values = [evaluate(norm(d), env) for d in shape]
        except (KeyError, ValueError, TypeError, ZeroDivisionError):
            continue
        if any(v < 2 and not isinstance(d, int) and free_symbols(d) and not d.is_Symbol for d, v in zip(shape, values)):
            return f"{name} gives {fmt_shape(values)}"
    return None


def same_on(box: Box, a: Dim, b: Dim) -> bool:
    """Is ``a == b`` at every size of ``box``?  (``4*((H + 1)//4)`` is ``H`` where H is a multiple of 4.)"""
    return holds_on(box, Cond("eq", norm(a), norm(b)))


def holds_on(box: Box, c: Cond) -> bool:
    """Does ``c`` hold at every size of ``box``?  (False where shapeplan cannot decide it.)"""
    try:
        return not minus([box], apply_condition([box], c))
    except (NotAnalysable, TooComplex):
        return False


def simplify_on(box: Box, e: Dim) -> Dim:
    """``e`` with every max/min whose winner is the same at every size of ``box`` replaced by that
    argument (``max(1, (H + 1)//2 - 3)`` is ``(H + 1)//2 - 3`` where H >= 9), so that the domain
    machinery can decide it."""
    import sympy

    if isinstance(e, int) or not isinstance(e, sympy.Expr) or e.is_Atom:
        return e
    args = [simplify_on(box, a) for a in e.args]
    if isinstance(e, (sympy.Max, sympy.Min)):
        for a in args:
            if all(b is a or holds_on(box, ge(a, b) if isinstance(e, sympy.Max) else ge(b, a)) for b in args):
                return norm(a)
        return norm(type(e)(*args))
    return norm(e.func(*args)) if any(x is not y for x, y in zip(args, e.args)) else e


def describe_boxes(boxes: Sequence[Box], symbols: Sequence[str], limit: int = 4) -> str:
    """Boxes in words (the symbols that vary), at most ``limit`` of them."""
    parts: list[str] = []
    for box in sorted(boxes, key=lambda b: box_key(b, symbols)):
        text = ", ".join(box[s].describe(s) for s in symbols if box[s] != USet.range(1))
        text = text or "every size"
        if text not in parts:
            parts.append(text)
    more = f" (and {len(parts) - limit} more)" if len(parts) > limit else ""
    return "; or ".join(parts[:limit]) + more

"""The valid input domain: the exact set of input sizes at which the forward pass runs.

The domain is a union of *boxes* (one exact set per symbol, :mod:`.boxes`); anything else is
kept as a residual relation that ``contains`` evaluates exactly.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...core.conditions import Cond, cond_text
from ...core.dims import free_symbols
from ...core.sets import USet
from .boxes import Box, box_key
from .nearest import Nearest, nearest


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
    # a union of domains with residual relations of their own (cases of the network): each is
    # asked in turn; ``boxes`` then holds all their boxes
    pieces: tuple[Domain, ...] = ()
    _smallest: tuple[tuple[int, int, int], dict[str, int] | None] | None = field(default=None, repr=False,
                                                                                  compare=False)

    @staticmethod
    def union(symbols: tuple[str, ...], parts: list[Domain], bounds: Mapping[str, USet] | None = None) -> Domain:
        """The union of disjoint domains (the cases of a network); a symbol that a part does
        not name is any size there."""
        parts = [p for p in parts if not p.empty]
        symbols = tuple(dict.fromkeys([*symbols, *(s for p in parts for s in p.symbols)]))
        parts = [p.widened(symbols) for p in parts]
        if len(parts) == 1:
            return parts[0]
        if all(p.exact for p in parts):
            return Domain(symbols, merge_boxes([b for p in parts for b in p.boxes], symbols), [], [], bounds or {})
        return Domain(symbols, [b for p in parts for b in p.boxes], [], [], bounds or {}, tuple(parts))

    def widened(self, symbols: tuple[str, ...]) -> Domain:
        """The same sizes over more symbols (the new ones take any size)."""
        extra = {s: self.bounds.get(s, USet.range(1)) for s in symbols if s not in self.symbols}
        if not extra:
            return self
        return Domain(symbols, [{**b, **extra} for b in self.boxes], self.conditions, self.residual, self.bounds,
                      tuple(p.widened(symbols) for p in self.pieces))

    @property
    def empty(self) -> bool:
        return not self.boxes

    @property
    def exact(self) -> bool:
        """True when the description (boxes) is the whole truth, with no residual relation."""
        return not self.residual and all(p.exact for p in self.pieces)

    def _check_names(self, sizes: Mapping[str, int]) -> None:
        for k, v in sizes.items():
            if k not in self.symbols:
                raise ValueError(f"unknown symbol {k!r}; the network's symbols are {', '.join(self.symbols) or 'none'}")
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"{k} must be an int, got {v!r}")

    def contains(self, /, **sizes: int) -> bool:  # positional-only self: a symbol may be named self
        """Is the network valid at these sizes?  A symbol left out means "some allowed value"."""
        self._check_names(sizes)
        if self.pieces:
            return any(p.contains(**sizes) for p in self.pieces)
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
        # every condition but the residual ones is applied exactly to the boxes
        if not any(all(env[k] in box[k] for k in self.symbols) for box in self.boxes):
            return False
        return all(c.holds_at(env) for c in self.residual)

    def _search(self, box: Box, fixed: dict[str, int], budget: int = 20_000) -> dict[str, int] | None:
        """Sizes of ``box`` (with ``fixed``) where every residual relation holds, small ones first;
        a symbol no relation names takes its smallest value."""
        named = set().union(*(free_symbols(c.lhs) | free_symbols(c.rhs) for c in self.residual))
        free = [s for s in self.symbols if s not in fixed and s in named]
        lows = {s: box[s].min() for s in self.symbols if s not in fixed and s not in named}
        base = {s: v for s, v in lows.items() if v is not None}
        if len(base) != len(lows):
            return None
        iters = [list(itertools.islice(box[s].values(), 64)) for s in free]
        for n, combo in enumerate(itertools.product(*iters)):
            if n > budget:
                return None
            env = {**fixed, **base, **dict(zip(free, combo))}
            if all(c.holds_at(env) for c in self.residual):
                return env
        return None

    def nearest(self, /, **sizes: int) -> Nearest:
        """The valid sizes closest to ``sizes``: at or below every one, at or above every one,
        and in any direction (a :class:`~shapeplan.analysis.domain.nearest.Nearest`; read from
        the boxes, exact on unions, periodic sets and cases).  A symbol left out takes some
        valid value."""
        self._check_names(sizes)
        return nearest(self, sizes)

    def smallest(self) -> dict[str, int] | None:
        """The smallest valid sizes (the box with the smallest largest size first), or None."""
        key = (len(self.boxes), len(self.residual), len(self.pieces))
        if self._smallest is None or self._smallest[0] != key:  # (remembered: a search may be long)
            self._smallest = (key, self._find_smallest())
        found = self._smallest[1]
        return None if found is None else dict(found)

    def _find_smallest(self) -> dict[str, int] | None:
        if self.pieces:
            smallest = [f for p in self.pieces if (f := p.smallest()) is not None]
            return min(smallest, key=lambda e: (max(e.values(), default=0), sum(e.values()),
                                                [e.get(k, 0) for k in self.symbols]), default=None)
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
        if self.pieces:
            yield from itertools.islice(_interleave([p.examples() for p in self.pieces]), limit)
            return
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
        if self.pieces:
            return "; or ".join(p.describe() for p in self.pieces)
        parts = []
        for box in sorted(self.boxes, key=lambda b: box_key(b, self.symbols)):
            parts.append(", ".join(box[s].describe(s) for s in self.symbols))
        text = parts[0] if len(parts) == 1 else "; or ".join(parts)
        if self.residual:
            text += "; and " + ", ".join(cond_text(c) for c in self.residual)
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
            "residual": [cond_text(c) for c in self.residual] + [cond_text(c) for p in self.pieces for c in p.residual],
        }


def merge_boxes(boxes: list[Box], symbols: tuple[str, ...]) -> list[Box]:
    """Fewer boxes for the same union: boxes that differ in one symbol only become one (boxes
    grouped by their other symbols' sets, so a pass is linear in the number of boxes)."""
    boxes = list(boxes)
    changed = True
    while changed and len(boxes) > 1:
        changed = False
        for s in symbols:
            groups: dict[tuple[Any, ...], Box] = {}
            for b in boxes:
                key = tuple(b[t] for t in symbols if t != s)
                if key in groups:
                    groups[key] = {**groups[key], s: groups[key][s] | b[s]}
                    changed = True
                else:
                    groups[key] = b
            boxes = list(groups.values())
    return boxes


def _interleave(gens: list[Iterator[dict[str, int]]]) -> Iterator[dict[str, int]]:
    seen: set[tuple[tuple[str, int], ...]] = set()
    live = list(gens)
    while live:
        for g in list(live):
            item = next(g, None)
            if item is None:
                live.remove(g)
                continue
            key = tuple(sorted(item.items()))
            if key not in seen:
                seen.add(key)
                yield item


def _upto(u: USet, t: int) -> list[int]:
    out = []
    for v in u.values():
        if v > t:
            break
        out.append(v)
    return out



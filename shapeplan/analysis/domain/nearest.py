"""The valid input sizes closest to a requested one, read from the domain's boxes.

A box is a product of exact sets, one per symbol, so in one box the closest valid size at or
below the request is, symbol by symbol, the largest member at or below it (it is at least as
close as any other valid size below, by any measure); the same holds above, and in any
direction for the sum of the distances.  Over a union of boxes (and the pieces of a domain
made of cases) the closest of the boxes' answers wins.  No size is tried one by one, except
where the domain keeps relations outside its boxes (``Domain.residual``): there a bounded
search near each box's answer checks them, and the answer says it is not exact.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ...core.conditions import Cond
from ...core.sets import USet

SEARCH_VALUES = 12  # values per symbol tried near a box's answer when relations remain
SEARCH_BUDGET = 4096  # sizes tried per box then

Sizes = dict[str, int]


class Domain(Protocol):
    """What this module reads of a :class:`~shapeplan.analysis.domain.domain.Domain`."""

    @property
    def symbols(self) -> tuple[str, ...]: ...

    @property
    def boxes(self) -> Sequence[Mapping[str, USet]]: ...

    @property
    def residual(self) -> Sequence[Cond]: ...

    @property
    def pieces(self) -> Sequence[Domain]: ...

    @property
    def exact(self) -> bool: ...

    def contains(self, /, **sizes: int) -> bool: ...


@dataclass(frozen=True)
class Nearest:
    """The valid input sizes closest to ``sizes`` (what :meth:`Domain.nearest` returns).

    Every answer gives the symbols that were asked about; the others take some valid value
    (as in :meth:`Domain.contains`).  ``below``: valid sizes with every asked size at most the
    one asked, the closest such (smallest sum of the differences); ``above``: the same with
    every size at least the one asked; ``closest``: the valid sizes with the smallest sum of
    differences in any direction.  Each is None when there is none.  When ``sizes`` are
    valid, all three are ``sizes``.  ``exact`` is False when the domain keeps relations that
    its boxes do not describe and a bounded search found (or missed) these answers.
    """

    sizes: Sizes
    valid: bool
    below: Sizes | None
    above: Sizes | None
    closest: Sizes | None
    exact: bool = True

    def __str__(self) -> str:
        asked = _text(self.sizes) or "(no size)"
        if self.valid:
            return f"{asked} is valid"
        parts = [f"below: {_text(self.below) if self.below is not None else 'none'}",
                 f"above: {_text(self.above) if self.above is not None else 'none'}"]
        if self.closest is not None and self.closest not in (self.below, self.above):
            parts.append(f"closest: {_text(self.closest)}")
        return "nearest valid sizes: " + "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"sizes": self.sizes, "valid": self.valid, "below": self.below, "above": self.above,
                "closest": self.closest, "exact": self.exact}


def _text(sizes: Mapping[str, int] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (sizes or {}).items())


def _distance(sizes: Mapping[str, int], found: Mapping[str, int]) -> tuple[int, int, tuple[int, ...]]:
    diffs = [abs(found[k] - v) for k, v in sizes.items()]
    return (sum(diffs), max(diffs, default=0), tuple(found[k] for k in sizes))


def _below(u: USet, x: int) -> int | None:
    return u.last_at_or_before(x)


def _above(u: USet, x: int) -> int | None:
    return u.first_at_or_after(x)


def _either(u: USet, x: int) -> int | None:
    lo, hi = u.last_at_or_before(x), u.first_at_or_after(x)
    if lo is None or hi is None:
        return hi if lo is None else lo
    return lo if x - lo <= hi - x else hi


Pick = Callable[[USet, int], "int | None"]


def _in_box(box: Mapping[str, USet], sizes: Mapping[str, int], pick: Pick) -> Sizes | None:
    out: Sizes = {}
    for k, x in sizes.items():
        v = pick(box[k], x)
        if v is None:
            return None
        out[k] = v
    return out


def _walk(u: USet, start: int, pick: Pick) -> Iterator[int]:
    """Members of ``u`` from ``start`` outwards in the direction of ``pick``."""
    if pick is _below:
        v = u.last_at_or_before(start)
        while v is not None:
            yield v
            v = u.last_at_or_before(v - 1)
    elif pick is _above:
        yield from u.values(start)
    else:
        for lo, hi in itertools.zip_longest(_walk(u, start, _below), _walk(u, start + 1, _above)):
            if lo is not None:
                yield lo
            if hi is not None:
                yield hi


def _searched(dom: Domain, box: Mapping[str, USet], sizes: Mapping[str, int], pick: Pick) -> Sizes | None:
    """The closest sizes in ``box`` (from ``pick``'s side) that also satisfy the domain's
    remaining relations, among a bounded number near the box's answer."""
    lists = [list(itertools.islice(_walk(box[k], x, pick), SEARCH_VALUES)) for k, x in sizes.items()]
    combos = sorted(itertools.islice(itertools.product(*lists), SEARCH_BUDGET),
                    key=lambda c: _distance(sizes, dict(zip(sizes, c))))
    for combo in combos:
        env = dict(zip(sizes, combo))
        if dom.contains(**env):
            return env
    return None


def _best(dom: Domain, sizes: Mapping[str, int], pick: Pick) -> tuple[Sizes | None, bool]:
    """The closest valid sizes from ``pick``'s side, and whether the answer is exact."""
    if dom.pieces:
        found = [_best(p, sizes, pick) for p in dom.pieces]
        cands = [f for f, _ in found if f is not None]
        exact = all(e for _, e in found)
        return (min(cands, key=lambda f: _distance(sizes, f)) if cands else None), exact
    cands = []
    for box in dom.boxes:
        got = _in_box(box, sizes, pick)
        if got is not None and dom.residual:
            got = _searched(dom, box, sizes, pick)
        if got is not None:
            cands.append(got)
    return (min(cands, key=lambda f: _distance(sizes, f)) if cands else None), not dom.residual


def nearest(dom: Domain, sizes: Mapping[str, int]) -> Nearest:
    """The valid sizes closest to ``sizes`` in ``dom`` (see :class:`Nearest`)."""
    asked = {k: sizes[k] for k in (*dom.symbols, *sizes) if k in sizes}
    if dom.contains(**asked):
        return Nearest(asked, True, dict(asked), dict(asked), dict(asked), dom.exact)
    below, e1 = _best(dom, asked, _below)
    above, e2 = _best(dom, asked, _above)
    closest, e3 = _best(dom, asked, _either)
    return Nearest(asked, False, below, above, closest, e1 and e2 and e3)

"""Regions of input sizes, and the decisions of a program whose behaviour depends on sizes.

A :class:`Region` is an exact set of input sizes: a union of boxes (one exact integer set per
symbol), as the domain uses.  Splitting a region by a condition gives the sizes where it holds
and the sizes where it does not, both exact (conditions outside the exact fragment are kept
as they are, and both sides are kept).

A :class:`Decider` answers the size questions of one run of a program (a traced ``forward``
that asks ``if h % 32:``, a broadcast that asks whether a size is 1): a question whose answer
is the same for every size of the run's region is answered; one whose answer depends on the
size is a *decision point*.  The run takes one side, and :func:`explore` runs the program
again for the other side, until every path has been followed.  Each path ends with its region
(the sizes that take it) and the conditions that define it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Generic, TypeVar

from ..core.conditions import Cond, cond_symbols, negate
from ..core.sets import TooComplex, USet
from .domain.boxes import Box, apply_condition, base_box, subtract
from .domain.quasi import NotAnalysable

MAX_PATHS = 256  # a program that branches on sizes in more ways than this is not explored further
DENSITY_LIMIT = 1024  # sizes 1..this count when choosing the more common side of a decision


BoxesKey = tuple[tuple[tuple[str, USet], ...], ...]


def _key(boxes: Sequence[Box]) -> BoxesKey:
    return tuple(tuple(b.items()) for b in boxes)


@lru_cache(maxsize=1 << 16)
def _apply(key: BoxesKey, cond: Cond) -> BoxesKey:
    """apply_condition on boxes given as a hashable key (paths of a program share most of their
    regions and questions, so most answers are remembered)."""
    return _key(apply_condition([dict(b) for b in key], cond))


@lru_cache(maxsize=1 << 16)
def _subtract(key: BoxesKey, remove: BoxesKey) -> BoxesKey:
    return _key(subtract([dict(b) for b in key], [dict(b) for b in remove]))


@dataclass(frozen=True)
class Region:
    """An exact set of input sizes: a union of boxes, and conditions kept as they are
    (``residual``: (condition, truth) pairs outside the exact fragment)."""

    symbols: tuple[str, ...]
    boxes: tuple[Box, ...]
    residual: tuple[tuple[Cond, bool], ...] = ()

    @staticmethod
    def everything(symbols: Sequence[str], bounds: Mapping[str, USet] | None = None) -> Region:
        box = base_box(symbols, bounds or {})
        return Region(tuple(symbols), (box,) if all(box.values()) else ())

    @property
    def empty(self) -> bool:
        return not self.boxes

    def split(self, cond: Cond) -> tuple[Region, Region]:
        """(the sizes where ``cond`` holds, the sizes where it does not)."""
        region = self.with_symbols(cond_symbols(cond))
        same = {cond, Cond(cond.kind, cond.rhs, cond.lhs)} if cond.kind in ("eq", "ne") else {cond}
        for c, truth in region.residual:  # asked before, outside the exact fragment
            if c in same:
                empty = Region(region.symbols, (), region.residual)
                return (region, empty) if truth else (empty, region)
        try:
            key = _key(region.boxes)
            yes = _apply(key, cond)
            no = _subtract(key, yes)
        except (NotAnalysable, TooComplex):
            return (Region(region.symbols, region.boxes, (*region.residual, (cond, True))),
                    Region(region.symbols, region.boxes, (*region.residual, (cond, False))))
        return (Region(region.symbols, tuple(dict(b) for b in yes), region.residual),
                Region(region.symbols, tuple(dict(b) for b in no), region.residual))

    def with_symbols(self, names: Sequence[str]) -> Region:
        """The same sizes, over more symbols (a size a layer argument names: every positive
        value, as for an input symbol)."""
        extra = [s for s in names if s not in self.symbols] if names else []
        if not extra:
            return self
        more = base_box(extra, {})
        return Region((*self.symbols, *extra), tuple({**b, **more} for b in self.boxes), self.residual)

    def contains(self, env: Mapping[str, int]) -> bool:
        """Are these sizes in the region?  (A symbol not given is not constrained.)"""
        if not any(all(env[s] in box[s] for s in self.symbols if s in env) for box in self.boxes):
            return False
        try:
            return all(c.holds_at(env) == truth for c, truth in self.residual)
        except KeyError:
            return True

    def density(self) -> int:
        """How many sizes with every symbol in 1..DENSITY_LIMIT the region holds (a measure of
        which side of a decision is the common case)."""
        total = 0
        for box in self.boxes:
            n = 1
            for s in self.symbols:
                n *= box[s].count(1, DENSITY_LIMIT)
            total += n
        return total

    def conditions(self) -> list[Cond]:
        return [c if truth else negate(c) for c, truth in self.residual]


@dataclass
class Decider:
    """The size questions of one run: answered, or decided by the run's script.

    ``region``: the sizes of this run's path (its decisions); ``alive``: those of them where
    the program has not failed yet (:meth:`assume`), which is where a question is asked."""

    region: Region
    script: tuple[bool, ...] = ()
    taken: list[bool] = field(default_factory=list)
    path: list[tuple[Cond, bool]] = field(default_factory=list)
    pending: list[tuple[bool, ...]] = field(default_factory=list)
    alive: Region | None = None

    def decide(self, cond: Cond, prefer: bool | None = None) -> bool:
        """The truth of ``cond`` on this run.  ``prefer``: the side to follow first when
        both are possible (default: the side that holds more sizes)."""
        decided = cond.concrete()
        if decided is not None:
            return decided
        alive = self.alive if self.alive is not None else self.region
        yes, no = alive.split(cond)
        if no.empty or yes.empty:  # the same answer wherever the program still runs
            self.alive = yes if no.empty else no
            return no.empty
        k = len(self.taken)
        if k < len(self.script):
            answer = self.script[k]
        else:
            answer = prefer if prefer is not None else yes.density() >= no.density()
            self.pending.append((*self.taken, not answer))
        self.taken.append(answer)
        self.path.append((cond, answer))
        self.alive = yes if answer else no
        path_yes, path_no = self.region.split(cond)
        self.region = path_yes if answer else path_no
        return answer

    def fork(self, script: tuple[bool, ...]) -> Decider:
        """A copy that answers from ``script`` from here on, hypothetically: its decisions are
        its own (a rule tries whether its result depends on them, :func:`~shapeplan.ops.ask.settle`)."""
        return Decider(self.region, script, alive=self.alive)

    def assume(self, cond: Cond) -> None:
        """Keep only the sizes where ``cond`` holds (a layer's requirement: sizes where the
        program already failed take no later branch).  Never a decision point; a condition
        outside the exact fragment is not used."""
        if cond.concrete() is not None:
            return
        alive = (self.alive if self.alive is not None else self.region).with_symbols(cond_symbols(cond))
        try:
            yes = _apply(_key(alive.boxes), cond)
        except (NotAnalysable, TooComplex):
            return
        self.alive = Region(alive.symbols, tuple(dict(b) for b in yes), alive.residual)

    def guard(self) -> tuple[Cond, ...]:
        """The conditions that define this run's path, as conditions that hold on it."""
        return tuple(c if truth else negate(c) for c, truth in self.path)


T = TypeVar("T")


@dataclass(frozen=True)
class Path(Generic[T]):
    """One way through the program: the sizes that take it, and what the run gave there."""

    region: Region
    guard: tuple[Cond, ...]
    result: T | None
    error: BaseException | None = None


class TooManyPaths(Exception):
    """The program branches on sizes in more than MAX_PATHS ways."""


def explore(run: Callable[[Decider], T], region: Region, max_paths: int | None = None,
            catch: tuple[type[BaseException], ...] = ()) -> list[Path[T]]:
    """Run ``run`` once per path through its size decisions, the common side first.  An
    exception of a type in ``catch`` ends its path (kept, with the path's region)."""
    max_paths = MAX_PATHS if max_paths is None else max_paths
    paths: list[Path[T]] = []
    todo: list[tuple[bool, ...]] = [()]
    while todo:
        if len(paths) >= max_paths:
            raise TooManyPaths(f"more than {max_paths} paths")
        script = todo.pop(0)
        d = Decider(region, script)
        try:
            result = run(d)
        except catch as e:
            paths.append(Path(d.region, d.guard(), None, e))
        else:
            paths.append(Path(d.region, d.guard(), result))
        todo.extend(d.pending)
    return paths

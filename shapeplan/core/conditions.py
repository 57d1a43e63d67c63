"""Conditions: what must hold of the sizes for torch to accept an input.

A condition is data (:class:`Cond`): ``lhs >= rhs``, ``lhs == rhs`` or ``lhs % rhs == 0`` over
sizes (:mod:`.dims`), or the negation of the last two (``!=``, "not a multiple of"), which the
cases of a network (a size that may be 1, a branch of forward) need.  An op rule states them (:class:`Requirement`, with what to say when one
fails); propagation ties them to a layer (:class:`Constraint`); the domain analysis decides them
for every input size at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple

import sympy

from .dims import Dim, norm
from .errors import Location

CondKind = Literal["ge", "eq", "dvd", "ne", "ndvd"]
_NEGATED: dict[str, CondKind] = {"ne": "eq", "ndvd": "dvd"}


class Cond(NamedTuple):
    """``lhs >= rhs`` (ge), ``lhs == rhs`` (eq), ``lhs % rhs == 0`` (dvd, rhs > 0), or the
    negations ``lhs != rhs`` (ne) and ``lhs % rhs != 0`` (ndvd)."""

    kind: CondKind
    lhs: Dim
    rhs: Dim

    @property
    def positive(self) -> Cond:
        """The condition without its negation (ne -> eq, ndvd -> dvd; others unchanged)."""
        kind = _NEGATED.get(self.kind)
        return self if kind is None else Cond(kind, self.lhs, self.rhs)

    @property
    def negative(self) -> bool:
        return self.kind in _NEGATED

    def concrete(self) -> bool | None:
        """True/False when decidable from the values alone (no symbols), else None."""
        if self.negative:
            v = self.positive.concrete()
            return None if v is None else not v
        lhs, rhs = norm(self.lhs), norm(self.rhs)
        if self.kind != "dvd" and not (isinstance(lhs, int) and isinstance(rhs, int)):
            diff = norm(sympy.expand(lhs - rhs)) if not (isinstance(lhs, int) and isinstance(rhs, int)) else lhs - rhs
            if isinstance(diff, int):
                return diff >= 0 if self.kind == "ge" else diff == 0
            return None
        if isinstance(lhs, int) and isinstance(rhs, int):
            if self.kind == "ge":
                return lhs >= rhs
            if self.kind == "eq":
                return lhs == rhs
            return rhs != 0 and lhs % rhs == 0
        if self.kind == "dvd" and isinstance(rhs, int) and rhs > 0:
            m = sympy.Mod(lhs, rhs)
            if m.is_Integer:
                return int(m) == 0
        if self.kind == "dvd" and not isinstance(rhs, int):
            q = sympy.cancel(sympy.sympify(lhs) / rhs)
            if q.is_integer:
                return True
        return None

    def holds_at(self, env: Mapping[str, int]) -> bool:
        from ..core.dims import evaluate

        if self.negative:
            return not self.positive.holds_at(env)
        lhs, rhs = evaluate(self.lhs, env), evaluate(self.rhs, env)
        if self.kind == "ge":
            return lhs >= rhs
        if self.kind == "eq":
            return lhs == rhs
        return rhs != 0 and lhs % rhs == 0


def ge(a: Dim, b: Dim) -> Cond:
    return Cond("ge", norm(a), norm(b))


def eq(a: Dim, b: Dim) -> Cond:
    return Cond("eq", norm(a), norm(b))


def dvd(a: Dim, m: Dim) -> Cond:
    """``a`` is a multiple of ``m``."""
    return Cond("dvd", norm(a), norm(m))


def negate(c: Cond) -> Cond:
    """The condition that holds exactly where ``c`` does not."""
    if c.kind == "ge":
        return Cond("ge", c.rhs, norm(c.lhs + 1))
    flipped: dict[str, CondKind] = {"eq": "ne", "ne": "eq", "dvd": "ndvd", "ndvd": "dvd"}
    return Cond(flipped[c.kind], c.lhs, c.rhs)


def cond_text(c: Cond) -> str:
    """``H//2 >= 3``, ``H != 1``, ``H - 1 is a multiple of 32`` (for messages)."""
    from .dims import fmt

    op = {"ge": ">=", "eq": "==", "ne": "!="}.get(c.kind)
    if op:
        return f"{fmt(c.lhs)} {op} {fmt(c.rhs)}"
    verb = "is" if c.kind == "dvd" else "is not"
    return f"{fmt(c.lhs)} {verb} a multiple of {fmt(c.rhs)}"


@dataclass(frozen=True)
class Requirement:
    """A condition PyTorch checks, with what to say when it fails."""

    cond: Cond
    code: str
    message: str
    hint: str | None = None
    show: Dim | None = None  # an expression whose value at example sizes helps the reader
    param: str | None = None  # the argument to point at in the source


@dataclass(frozen=True)
class Constraint:
    """A condition of one layer that holds only for some input sizes (or none)."""

    cond: Cond
    layer: str
    op: str
    code: str
    message: str
    hint: str | None
    show: Dim | None
    location: Location | None

"""What a rule may do besides computing its output shape: state requirements (conditions
with their messages), ask a question whose answer changes the output (is this size 1?), read
its inputs' memory layouts (``view``), or fail outright.  Also the two exceptions of the rule world: :class:`RuleError` (no output
shape) and :class:`ArgError` (a bad argument value, exit code 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NoReturn, Protocol

from ..core.bounds import surely_nonnegative
from ..core.conditions import Cond, Requirement
from ..core.dims import Dim, Shape, fmt
from .layout import Layout
from .platform import torch_threads


class RuleError(Exception):
    """Raised inside a rule for a failure that leaves no output shape (wrong rank...)."""

    def __init__(self, code: str, message: str, hint: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.hint, self.param = code, message, hint, param


class ArgError(Exception):
    """A bad argument value (exit code 2): wrong type, out of range, unknown name."""

    def __init__(self, message: str, param: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.param, self.hint = message, param, hint


class Oracle(Protocol):
    """Answers a question about sizes for the case being analysed (see
    :class:`shapeplan.analysis.region.Decider`): where the answer depends on the size, the
    analysis follows each answer as a case of its own."""

    def decide(self, cond: Cond, prefer: bool | None = None) -> bool: ...

    def assume(self, cond: Cond) -> None: ...


@dataclass
class RuleCtx:
    """What a rule may do besides computing: state requirements, ask, or fail outright."""

    requirements: list[Requirement] = field(default_factory=list)
    oracle: Oracle | None = None
    # the inputs' memory layouts (:mod:`.layout`); None: every input is a new contiguous tensor
    layouts: Sequence[Layout] | None = None
    # the output's layout, when the rule works it out itself (view); else see layouts.output_layout
    out_layout: Layout | None = None

    def layout(self, i: int, shape: Shape) -> Layout:
        """Input ``i``'s layout (of shape ``shape``): the one given, else contiguous."""
        if self.layouts is not None and i < len(self.layouts):
            return self.layouts[i]
        return Layout.contiguous(shape)

    def torch_threads(self) -> int:
        """The number of torch CPU threads the rule answers for (:mod:`.platform`): a few of
        torch's kernel choices depend on it."""
        return torch_threads()

    def decide(self, cond: Cond, prefer: bool | None = None) -> bool:
        """Does ``cond`` hold?  For a rule whose output changes with the answer (a size that
        may be 1 broadcasts; ``squeeze`` drops it).  ``prefer``: the side to follow first.
        Without an oracle (a shape computed outside an analysis) the answer is False: no
        special case is taken, and the rule states what it then requires."""
        known = cond.concrete()
        if known is not None:
            return known
        if self.oracle is None:
            return False
        return self.oracle.decide(cond, prefer)

    def empty(self, dims: Sequence[Dim]) -> bool:
        """Is one of ``dims`` 0 here?  A literal 0 is; a symbolic size that may be 0 at some sizes
        (``H - 1`` at H = 1) is a question (:meth:`decide`, the non-empty side first)."""
        for d in dims:
            if isinstance(d, int):
                if d == 0:
                    return True
            elif not surely_nonnegative(d - 1) and self.decide(Cond("ge", 0, d), prefer=False):
                return True
        return False

    def require(
        self,
        cond: Cond,
        code: str,
        message: str,
        hint: str | None = None,
        show: Dim | None = None,
        param: str | None = None,
    ) -> None:
        if cond.concrete() is True:
            return
        self.requirements.append(Requirement(cond, code, message, hint, show, param))

    def fail(self, code: str, message: str, hint: str | None = None, param: str | None = None) -> NoReturn:
        raise RuleError(code, message, hint, param)

    def rank(self, x: Shape, allowed: Sequence[int], what: str) -> None:
        if len(x) not in allowed:
            want = " or ".join(f"{r}D" for r in allowed)
            self.fail("rank", f"expects a {want} input ({what}), got {len(x)}D {_fs(x)}")


def _fs(x: Shape) -> str:
    return "(" + ", ".join(fmt(d) for d in x) + ")"

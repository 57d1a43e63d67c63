"""Applying a rule, with its results remembered.

A rule is a pure function of its input shapes and arguments, except for the questions it asks
(:meth:`~shapeplan.ops.ctx.RuleCtx.decide`) and the inputs' layouts it reads
(:meth:`~shapeplan.ops.ctx.RuleCtx.layout`).  A result that did neither is the same every time,
so it is remembered: the cases and paths of a network, fix-its and ``solve`` apply the same rule
to the same shapes many times.  Nor is a result that read torch's thread count
(:meth:`~shapeplan.ops.ctx.RuleCtx.torch_threads`), which may change between runs.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from ..core.conditions import Cond, Requirement
from ..core.dims import Shape, norm
from .ctx import Oracle, RuleCtx
from .layout import Layout
from .registry import OpSpec

_CACHE: OrderedDict[Any, tuple[Shape, tuple[Requirement, ...], Layout | None]] = OrderedDict()
_MAX = 1 << 17


class _Asked:
    """An oracle that notes whether it was asked (and passes the questions on)."""

    def __init__(self, inner: Oracle | None) -> None:
        self.inner, self.asked = inner, False

    def decide(self, cond: Cond, prefer: bool | None = None) -> bool:
        self.asked = True
        return RuleCtx(oracle=self.inner).decide(cond, prefer)

    def assume(self, cond: Cond) -> None:
        if self.inner is not None:
            self.inner.assume(cond)


class _Tracked(RuleCtx):
    """A RuleCtx that notes whether the rule read an input's layout or torch's thread count."""

    read_layout = False
    read_threads = False

    def layout(self, i: int, shape: Shape) -> Layout:
        self.read_layout = True
        return super().layout(i, shape)

    def torch_threads(self) -> int:
        self.read_threads = True
        return super().torch_threads()


def _frozen(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return tuple(_frozen(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _frozen(x)) for k, x in v.items()))
    if isinstance(v, slice):
        return ("slice", v.start, v.stop, v.step)
    return v


def apply_rule(spec: OpSpec, ins: Sequence[Shape], args: dict[str, Any], oracle: Oracle | None = None,
               layouts: Sequence[Layout] | None = None) -> tuple[Shape, list[Requirement], RuleCtx]:
    """(output shape, requirements, the rule's context: its inputs' layouts and the output
    layout it set) of ``spec``'s rule; raises what the rule raises."""
    try:
        key: Any = (spec.name, tuple(tuple(x) for x in ins), _frozen(args))
        hit = _CACHE.get(key)
    except TypeError:  # an unhashable argument: not remembered
        key, hit = None, None
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit[0], list(hit[1]), RuleCtx(requirements=list(hit[1]), oracle=oracle, layouts=layouts,
                                             out_layout=hit[2])
    asked = _Asked(oracle)
    ctx = _Tracked(oracle=asked, layouts=layouts)
    out = tuple(norm(d) for d in spec.rule(ctx, list(ins), args))
    if key is not None and not asked.asked and not ctx.read_layout and not ctx.read_threads:
        _CACHE[key] = (out, tuple(ctx.requirements), ctx.out_layout)
        if len(_CACHE) > _MAX:
            _CACHE.popitem(last=False)
    ctx.oracle = oracle
    return out, ctx.requirements, ctx

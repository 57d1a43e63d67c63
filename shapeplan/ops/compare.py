"""More elementwise ops: comparisons (gt, lt, ge, le, eq, ne and their long names), logic
(logical_and/or/xor/not), bitwise ops, integer division (floor_divide, remainder, fmod),
where, masked_fill, lerp / addcmul / addcdiv, and shape-keeping math (sin, cos, isnan, ...).

Shapes follow broadcasting (merge.py's rule: a symbolic size that may be 1 is a case of its
own).  A second operand may be a tensor (``from: [x, y]``) or, where torch takes
one, a number ``other`` (``x > 0``, ``x & 1``, ``x // 2``); logical_and/or/xor, atan2 and
hypot take only tensors.  Dtypes are not shapes: torch's dtype checks (bitwise ops on
floats, a non-bool ``where`` condition or ``masked_fill`` mask) are not modelled.

- where(condition, input, other): the broadcast of the three; ``input`` and ``other`` may be
  numbers (``torch.where(c, x, 0.0)``, ``torch.where(c, 1.0, 0.0)``).  The one-argument
  ``torch.where(c)`` (the indices of the true elements) has a data-dependent shape.
- masked_fill(input, mask, value): ``value`` is a number or a 0-d tensor.  torch 2.14's
  out-of-place masked_fill broadcasts input and mask together (``expand_outplace``), so a mask
  with more dims than the input grows the output; the in-place ``masked_fill_`` expands the
  mask to the input's shape (it may not grow it) and returns the input's shape.
- lerp(input, end, weight), addcmul / addcdiv(input, tensor1, tensor2, value=1): the
  broadcast of every tensor.
"""

from __future__ import annotations

from typing import Any

from ..core.conditions import eq
from ..core.dims import Shape, fmt, fmt_shape, norm
from .ctx import RuleCtx
from .merge import binary, broadcast_shapes, same
from .params import float_t, opt_t, scalar_t
from .registry import Param, op

_OTHER = Param("other", opt_t(scalar_t), None)

# --------------------------------------------------------------------------- binary


def _broadcast(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.logical_and(input, other): the broadcast shape of the inputs."""
    return broadcast_shapes(ctx, xs)


BINARY_SCALAR = ("gt", "lt", "ge", "le", "eq", "ne", "greater", "less", "greater_equal", "less_equal", "not_equal",
                 "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift",
                 "floor_divide", "remainder", "fmod")
BINARY_TENSOR = ("logical_and", "logical_or", "logical_xor", "atan2", "hypot")
for _name in BINARY_SCALAR:
    op(_name, _OTHER, n_inputs=(1, 2))(binary)
for _name in BINARY_TENSOR:
    op(_name, n_inputs=(2, 2))(_broadcast)


def _same_shape(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(*) -> (*)"""
    return xs[0]


UNARY = ("logical_not", "bitwise_not", "isnan", "isinf", "isfinite", "isneginf", "isposinf", "signbit", "sin", "cos",
         "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "log2", "log10", "log1p", "expm1",
         "exp2", "trunc", "frac", "sgn", "erfc", "erfinv", "lgamma", "digamma", "i0", "sinc",
         "positive", "deg2rad", "rad2deg")
for _name in UNARY:
    op(_name)(_same_shape)
_NUMBER = opt_t(float_t())
op("nan_to_num", Param("nan", _NUMBER, 0.0), Param("posinf", _NUMBER, None), Param("neginf", _NUMBER, None))(_same_shape)
op("logit", Param("eps", _NUMBER, None))(_same_shape)
op("bernoulli", Param("p", _NUMBER, None))(_same_shape)

# --------------------------------------------------------------------------- where


@op("where", Param("input", opt_t(scalar_t), None), _OTHER, n_inputs=(1, 3), call_style="positional")
def where(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.where(condition, input, other): the broadcast of the three (input, other: tensors or numbers)."""
    scalars = [k for k in ("input", "other") if a[k] is not None]
    if len(xs) == 1 and not scalars:
        ctx.fail("data-dependent", "torch.where(condition) returns the indices of the true elements, whose count "
                                   "depends on the data", hint="give input and other")
    want = {3: [], 2: ["other"], 1: ["input", "other"]}[len(xs)]
    if scalars != want:
        tensors = ", ".join(["condition", *(["input", "other"][:len(xs) - 1])])
        ctx.fail("arity", f"reads {len(xs)} tensor(s) ({tensors}) and needs {' and '.join(want) or 'no number'} as "
                          f"a number, got {' and '.join(scalars) or 'none'}",
                 hint="torch.where(condition, input, other): list the tensors in `from` in that order",
                 param=(scalars or want)[0])
    return broadcast_shapes(ctx, xs)


# --------------------------------------------------------------------------- masked_fill


def _value(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> None:
    if len(xs) == 3:
        if a["value"] is not None:
            ctx.fail("arity", "got a value tensor in `from` and a number `value`; give one of them", param="value")
        if xs[2]:
            ctx.fail("value", f"masked_fill only supports a 0-dimensional value tensor, got {len(xs[2])}-D "
                              f"{fmt_shape(xs[2])}", hint="use a number, or a 0-d tensor")
    elif a["value"] is None:
        ctx.fail("arity", "needs a value: a number `value`, or a 0-d tensor third in `from`", param="value")


def expand_to(ctx: RuleCtx, small: Shape, target: Shape, what: str) -> Shape:
    """``small`` expanded to ``target`` (torch's ``expand_inplace``): ``target`` never grows."""
    if len(small) > len(target):
        ctx.fail("broadcast", f"cannot expand {what} {fmt_shape(small)} to {fmt_shape(target)}: it has more dims")
    lead = len(target) - len(small)
    for i, s in enumerate(small):
        t = target[lead + i]
        if same(s, t) or ctx.decide(eq(s, t), prefer=True) or ctx.decide(eq(s, 1), prefer=False):
            continue
        ctx.require(eq(s, t), "broadcast",
                    f"cannot expand {what} {fmt_shape(small)} to {fmt_shape(target)}: size {fmt(s)} at dim {i} must "
                    f"be {fmt(t)} or 1", hint=f"{what} must broadcast to the tensor it fills, without growing it",
                    show=norm(s - t))
    return target


@op("masked_fill", Param("value", opt_t(scalar_t), None), n_inputs=(2, 3), torch_name="Tensor.masked_fill",
    call_style="method", input_names=("input", "mask", "value"))
def masked_fill(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """x.masked_fill(mask, value): the broadcast of x and mask (value: a number or a 0-d tensor)."""
    _value(ctx, xs, a)
    return broadcast_shapes(ctx, xs[:2])


@op("masked_fill_", Param("value", opt_t(scalar_t), None), n_inputs=(2, 3), torch_name="Tensor.masked_fill_",
    call_style="method", input_names=("input", "mask", "value"))
def masked_fill_(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """x.masked_fill_(mask, value), in place: mask expands to x's shape, which is the output's."""
    _value(ctx, xs, a)
    return expand_to(ctx, xs[1], xs[0], "the mask")


# --------------------------------------------------------------------------- three tensors


@op("lerp", Param("weight", opt_t(float_t()), None), n_inputs=(2, 3))
def lerp(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.lerp(input, end, weight): the broadcast of input, end and (a tensor) weight."""
    if (len(xs) == 3) == (a["weight"] is not None):
        ctx.fail("arity", "needs one weight: a number `weight`, or a tensor third in `from`", param="weight")
    return broadcast_shapes(ctx, xs)


def _addc(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.addcmul(input, tensor1, tensor2, value=1): the broadcast of the three."""
    return broadcast_shapes(ctx, xs)


for _name in ("addcmul", "addcdiv"):
    op(_name, Param("value", scalar_t, 1), n_inputs=(3, 3))(_addc)

ELEMENTWISE: tuple[str, ...] = (*BINARY_SCALAR, *BINARY_TENSOR, *UNARY, "nan_to_num", "logit", "bernoulli", "where",
                                "masked_fill", "masked_fill_", "lerp", "addcmul", "addcdiv")

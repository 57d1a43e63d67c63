"""The functional convolutions, whose weights are tensor inputs: F.conv1d/2d/3d and
F.conv_transpose1d/2d/3d (timm's Conv2dSame, StdConv2d, MixedConv2d, CondConv2d and
torchvision's video models call them).

``from: [x, weight]`` or ``[x, weight, bias]``.  The weight gives what the module's arguments
give: conv ``(out_channels, in_channels/groups, *kernel)``, transposed conv
``(in_channels, out_channels/groups, *kernel)``; then the rule is the module's (conv.py),
plus torch's checks on the tensors: the weight has n + 2 dims, none of them 0 but a conv's
dim 1 (its kernel sizes must be numbers), its dim 0 divisible by groups, and the bias is 1-D
of out_channels.  A conv weight with no input channel (dim 1 is 0, so is the input's channel
count) gives torch's zero-channel output, (N, 0, *spatial).
"""

from __future__ import annotations

from typing import Any

from ..core.conditions import eq
from ..core.dims import Shape, fmt, fmt_shape, norm
from .conv import _conv_rule, _convt_rule
from .ctx import RuleCtx
from .merge import same
from .params import choice_t, int_t, ints_t, union_t
from .registry import Param, op
from .tensor import need


def _weight(ctx: RuleCtx, w: Shape, n: int, transposed: bool) -> tuple[int, ...]:
    if len(w) != n + 2:
        ctx.fail("rank", f"expects a {n + 2}-D weight (out, in/groups, *kernel), got {len(w)}-D {fmt_shape(w)}")
    for i, d in enumerate(w):
        if i == 1 and not transposed and isinstance(d, int):
            continue  # 0 input channels per group: torch's zero-channel path (see _conv_fn)
        if isinstance(d, int) and d == 0:
            ctx.fail("weight-shape", f"weight {fmt_shape(w)} has an empty dim {i}")
        need(ctx, d, 1, "weight-shape", f"weight {fmt_shape(w)} must not have an empty dim {i}", show=d)
    kernel = w[2:]
    if not all(isinstance(k, int) for k in kernel):
        ctx.fail("not-modelled", f"weight {fmt_shape(w)} has a symbolic kernel size, which shapeplan does not model",
                 hint="give the weight a fixed kernel size (a module's weight has one)")
    return tuple(int(k) for k in kernel)  # type: ignore[arg-type]


def _bias(ctx: RuleCtx, xs: list[Shape], c_out: Any) -> None:
    if len(xs) < 3:
        return
    b = xs[2]
    msg = f"expects a 1-D bias of {fmt(c_out)} elements (out_channels), got {fmt_shape(b)}"
    if len(b) != 1:
        ctx.fail("weight-shape", msg)
    if not same(b[0], c_out):
        ctx.require(eq(b[0], c_out), "weight-shape", msg, show=norm(b[0] - c_out))


def _conv_fn(n: int) -> Any:
    module_rule = _conv_rule(n)

    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        w = xs[1]
        kernel = _weight(ctx, w, n, transposed=False)
        g = a["groups"]
        args = {**a, "in_channels": norm(w[1] * g), "out_channels": w[0], "kernel_size": kernel,
                "padding_mode": "zeros"}
        out: Shape = module_rule(ctx, xs[:1], args)
        _bias(ctx, xs, w[0])
        if isinstance(w[1], int) and w[1] == 0:  # no input channel: torch returns (N, 0, *spatial)
            c = len(out) - n - 1
            out = (*out[:c], 0, *out[c + 1:])
        return out

    rule.__doc__ = f"F.conv{n}d(input, weight, bias=None): as Conv{n}d with the weight's sizes"
    return rule


def _convt_fn(n: int) -> Any:
    module_rule = _convt_rule(n)

    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        w = xs[1]
        kernel = _weight(ctx, w, n, transposed=True)
        g = a["groups"]
        c_out = norm(w[1] * g)
        args = {**a, "in_channels": w[0], "out_channels": c_out, "kernel_size": kernel, "padding_mode": "zeros"}
        out: Shape = module_rule(ctx, xs[:1], args)
        _bias(ctx, xs, c_out)
        return out

    rule.__doc__ = f"F.conv_transpose{n}d(input, weight, bias=None): as ConvTranspose{n}d with the weight's sizes"
    return rule


_INPUTS = ("input", "weight", "bias")
for _n in (1, 2, 3):
    op(f"conv{_n}d", Param("stride", ints_t(_n, 1), 1),
       Param("padding", union_t(choice_t("same", "valid"), ints_t(_n, 0)), 0), Param("dilation", ints_t(_n, 1), 1),
       Param("groups", int_t(1), 1), n_inputs=(2, 3), torch_name=f"F.conv{_n}d", input_names=_INPUTS)(_conv_fn(_n))
    op(f"conv_transpose{_n}d", Param("stride", ints_t(_n, 1), 1), Param("padding", ints_t(_n, 0), 0),
       Param("output_padding", ints_t(_n, 0), 0), Param("groups", int_t(1), 1), Param("dilation", ints_t(_n, 1), 1),
       n_inputs=(2, 3), torch_name=f"F.conv_transpose{_n}d", input_names=_INPUTS)(_convt_fn(_n))

FUNCTIONAL_CONV_OPS = tuple(f"{k}{n}d" for k in ("conv", "conv_transpose") for n in (1, 2, 3))

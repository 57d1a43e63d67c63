"""The functional convolutions, ``F.conv1d/2d/3d`` and ``F.conv_transpose1d/2d/3d``: the weight
(and bias) are tensor inputs, and the module's rule applies with the channels and kernel read
from the weight's shape (timm's Conv2dSame, torchvision's video models call them).

conv weight: (out_channels, in_channels / groups, *kernel); conv_transpose weight:
(in_channels, out_channels / groups, *kernel); bias: (out_channels,).
"""

from __future__ import annotations

from typing import Any

from ..core.dims import Shape, fmt_shape
from .conv import _conv_rule, _convt_rule
from .ctx import RuleCtx
from .params import choice_t, int_t, ints_t, union_t
from .registry import Param, op


def _weight(ctx: RuleCtx, w: Shape, n: int, what: str) -> tuple[int, ...]:
    if len(w) != n + 2 or not all(isinstance(d, int) for d in w):
        ctx.fail("weight-shape", f"expects a {n + 2}-D weight of fixed sizes ({what}), got {fmt_shape(w)}")
    return tuple(int(d) for d in w)


def _bias(ctx: RuleCtx, xs: list[Shape], out: int) -> bool:
    if len(xs) < 3:
        return False
    if tuple(xs[2]) != (out,):
        ctx.fail("weight-shape", f"expects a bias of shape ({out},), got {fmt_shape(xs[2])}")
    return True


def _functional_conv(n: int) -> Any:
    module_rule = _conv_rule(n)

    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        w = _weight(ctx, xs[1], n, "out_channels, in_channels/groups, *kernel")
        args = {**a, "in_channels": w[1] * a["groups"], "out_channels": w[0], "kernel_size": w[2:],
                "bias": _bias(ctx, xs, w[0]), "padding_mode": "zeros"}
        return module_rule(ctx, xs[:1], args)

    rule.__doc__ = f"F.conv{n}d(input, weight, bias=None, stride, padding, dilation, groups)"
    return rule


def _functional_convt(n: int) -> Any:
    module_rule = _convt_rule(n)

    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        w = _weight(ctx, xs[1], n, "in_channels, out_channels/groups, *kernel")
        out = w[1] * a["groups"]
        args = {**a, "in_channels": w[0], "out_channels": out, "kernel_size": w[2:],
                "bias": _bias(ctx, xs, out), "padding_mode": "zeros"}
        return module_rule(ctx, xs[:1], args)

    rule.__doc__ = f"F.conv_transpose{n}d(input, weight, bias=None, stride, padding, output_padding, groups, dilation)"
    return rule


for _n in (1, 2, 3):
    op(f"conv{_n}d", Param("stride", ints_t(_n, 1), 1), Param("padding", union_t(choice_t("same", "valid"), ints_t(_n, 0)), 0),
       Param("dilation", ints_t(_n, 1), 1), Param("groups", int_t(1), 1),
       n_inputs=(2, 3), torch_name=f"F.conv{_n}d", input_names=("input", "weight", "bias"))(_functional_conv(_n))
    op(f"conv_transpose{_n}d", Param("stride", ints_t(_n, 1), 1), Param("padding", ints_t(_n, 0), 0),
       Param("output_padding", ints_t(_n, 0), 0), Param("groups", int_t(1), 1), Param("dilation", ints_t(_n, 1), 1),
       n_inputs=(2, 3), torch_name=f"F.conv_transpose{_n}d",
       input_names=("input", "weight", "bias"))(_functional_convt(_n))

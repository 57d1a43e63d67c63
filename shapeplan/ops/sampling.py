"""Sampling grids: F.grid_sample and F.affine_grid (spatial transformers, deformable attention).

- grid_sample(input, grid, mode='bilinear', padding_mode='zeros', align_corners=None): input
  (N, C, H, W) with grid (N, Ho, Wo, 2), or (N, C, D, H, W) with grid (N, Do, Ho, Wo, 3);
  the same batch; the input's spatial dims non-empty; bicubic only in 2-D.  Output
  (N, C, *grid's middle dims).
- affine_grid(theta, size, align_corners=None): ``size`` (N, C, H, W) with theta (N, 2, 3),
  or (N, C, D, H, W) with theta (N, 3, 4); every size positive.  Output (N, H, W, 2) or
  (N, D, H, W, 3).  The sizes may be size expressions (``size: [N, C, H, W]``).
"""

from __future__ import annotations

from typing import Any

from ..core.conditions import eq
from ..core.dims import Dim, Shape, fmt, fmt_shape, norm
from .ctx import RuleCtx
from .merge import same
from .params import bool_t, choice_t, dims_t, opt_t
from .registry import Param, op
from .tensor import need

_ALIGN = Param("align_corners", opt_t(bool_t), None)


def _equal(ctx: RuleCtx, got: Dim, want: Dim, code: str, message: str) -> None:
    if not same(got, want):
        ctx.require(eq(got, want), code, message, show=norm(got - want))


@op("grid_sample", Param("mode", choice_t("bilinear", "nearest", "bicubic"), "bilinear"),
    Param("padding_mode", choice_t("zeros", "border", "reflection"), "zeros"), _ALIGN, n_inputs=(2, 2),
    torch_name="F.grid_sample")
def grid_sample(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """F.grid_sample(input, grid): (N, C, H, W) and (N, Ho, Wo, 2) -> (N, C, Ho, Wo) (or 3-D)"""
    x, g = xs
    if len(x) not in (4, 5) or len(g) != len(x):
        ctx.fail("rank", f"expects a 4-D or 5-D input and a grid of the same rank, got {fmt_shape(x)} and "
                         f"{fmt_shape(g)}")
    n = len(x) - 2
    _equal(ctx, g[0], x[0], "batch", f"grid {fmt_shape(g)} and input {fmt_shape(x)} must have the same batch size")
    _equal(ctx, g[-1], n, "grid", f"grid {fmt_shape(g)} must have size {n} in its last dim")
    for i, s in enumerate(x[2:]):
        if isinstance(s, int) and s == 0:
            ctx.fail("empty-input", f"expects an input with non-empty spatial dims, got {fmt_shape(x)}")
        need(ctx, s, 1, "empty-input", f"input spatial dim {i} ({fmt(s)}) must not be empty", show=s)
    if a["mode"] == "bicubic" and n != 2:
        ctx.fail("args", "bicubic interpolation only supports 4-D input", param="mode")
    return (x[0], x[1], *g[1:-1])


@op("affine_grid", Param("size", dims_t(scalar=False)), _ALIGN, torch_name="F.affine_grid")
def affine_grid(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """F.affine_grid(theta, size): theta (N, 2, 3) and size (N, C, H, W) -> (N, H, W, 2) (or 3-D)"""
    theta, size = xs[0], tuple(a["size"])
    if len(size) not in (4, 5):
        ctx.fail("args", f"supports 4-D and 5-D sizes only, got {fmt_shape(size)}", param="size")
    n = len(size) - 2
    want = (size[0], n, n + 1)
    if len(theta) != 3:
        ctx.fail("rank", f"expects theta of shape {fmt_shape(want)}, got {fmt_shape(theta)}")
    _equal(ctx, theta[1], n, "theta", f"expects theta of shape {fmt_shape(want)}, got {fmt_shape(theta)}")
    _equal(ctx, theta[2], n + 1, "theta", f"expects theta of shape {fmt_shape(want)}, got {fmt_shape(theta)}")
    for i, s in enumerate(size):
        if isinstance(s, int) and s <= 0:
            ctx.fail("args", f"expects a positive output size, got {fmt_shape(size)}", param="size")
        need(ctx, s, 1, "args", f"size {fmt(s)} at index {i} must be positive", show=s, param="size")
    _equal(ctx, theta[0], size[0], "batch", f"theta {fmt_shape(theta)} must have the batch size {fmt(size[0])}")
    return (size[0], *size[2:], n)


SAMPLING_OPS = ("grid_sample", "affine_grid")

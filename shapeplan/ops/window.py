"""Sliding blocks: F.unfold / nn.Unfold (im2col), F.fold / nn.Fold (col2im) and Tensor.unfold.

torch's ``im2col_shape_check`` / ``col2im_shape_check`` (CPU), per spatial dim, with the
effective kernel ``e = d*(k - 1) + 1``: ``blocks = (n + 2p - e) // s + 1`` (floor division).

- unfold(input, kernel_size, dilation=1, padding=0, stride=1): kernel, dilation, stride > 0,
  padding >= 0; input (N, C, H, W) with C, H, W non-zero (N may be 0), or unbatched (C, H, W)
  all non-zero; ``blocks >= 1`` in both dims; output (N, C*kh*kw, bh*bw).
- fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1): the same argument
  checks; input (N, C*kh*kw, L) with its last two dims non-zero, or unbatched (C*kh*kw, L);
  its dim C*kh*kw divisible by kh*kw; output_size positive; ``blocks >= 1`` in both dims
  (from output_size) and ``L == bh*bw``; output (N, C, *output_size).
- x.unfold(dimension, size, step): ``step > 0``, ``0 <= size <= x.size(dimension)`` (1 for a 0-d
  x); the dim becomes ``(n - size) // step + 1`` and a last dim of ``size`` is added.

The registry's name for F.unfold is ``im2col`` (its module is ``Unfold``): ``unfold`` is the
tensor method, as both are called ``unfold`` in torch.
"""

from __future__ import annotations

from typing import Any

from ..core.conditions import dvd, eq, ge
from ..core.dims import Dim, Shape, floordiv, fmt, fmt_shape, norm, prod
from .ctx import RuleCtx
from .params import dims_t, int_t, ints_t, signed_size
from .registry import Param, norm_dim, op
from .tensor import need

_PAIR = ints_t(2, None)  # torch checks the values at run time, with its own messages


def _window_params(*first: Param) -> tuple[Param, ...]:
    return (*first, Param("kernel_size", _PAIR), Param("dilation", _PAIR, 1), Param("padding", _PAIR, 0),
            Param("stride", _PAIR, 1))


def _check_args(ctx: RuleCtx, a: dict[str, Any]) -> None:
    for name, least in (("kernel_size", 1), ("dilation", 1), ("stride", 1), ("padding", 0)):
        if any(v < least for v in a[name]):
            ctx.fail("args", f"{name}={a[name]} must be {'>= 0' if least == 0 else '> 0'}", param=name)


def _nonzero(ctx: RuleCtx, x: Shape, dims: range, what: str) -> None:
    for i in dims:
        s = x[i]
        if isinstance(s, int) and s == 0:
            ctx.fail("empty-input", f"expects non-zero dims but for the batch, got {fmt_shape(x)} ({what})")
        if not isinstance(s, int) and not s.is_positive:
            ctx.require(ge(s, 1), "empty-input", f"dim {i} ({fmt(s)}) of {fmt_shape(x)} must not be empty", show=s)


def blocks(ctx: RuleCtx, sizes: tuple[Dim, Dim], a: dict[str, Any], what: str) -> tuple[Dim, Dim]:
    """The number of sliding blocks along each of the two spatial dims; each must be >= 1."""
    out = []
    for i, n in enumerate(sizes):
        k, d, p, s = a["kernel_size"][i], a["dilation"][i], a["padding"][i], a["stride"][i]
        e = d * (k - 1) + 1
        b = norm(floordiv(norm(n + 2 * p - e), s) + 1)
        msg = (f"gives {fmt(b)} sliding blocks along {what} dim {i} of size {fmt(n)} (kernel_size={k}, "
               f"dilation={d}, padding={p}, stride={s}): there must be at least one")
        if isinstance(b, int) and b < 1:
            ctx.fail("kernel-too-large", msg, hint="use a larger input, a smaller kernel or more padding")
        need(ctx, norm(n + 2 * p), e, "kernel-too-large", msg,
             hint="use a larger input, a smaller kernel or more padding", show=norm(n + 2 * p))
        out.append(b)
    return out[0], out[1]


# --------------------------------------------------------------------------- unfold / fold


def _im2col(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """F.unfold: (N, C, H, W) -> (N, C*kh*kw, L), L the number of blocks."""
    x = xs[0]
    ctx.rank(x, (3, 4), "(C, H, W) or (N, C, H, W)")
    _check_args(ctx, a)
    batched = len(x) == 4
    _nonzero(ctx, x, range(1 if batched else 0, len(x)), "the input")
    bh, bw = blocks(ctx, (x[-2], x[-1]), a, "the input's spatial")
    c = norm(x[-3] * prod(a["kernel_size"]))
    return (x[0], c, norm(bh * bw)) if batched else (c, norm(bh * bw))


op("im2col", *_window_params(), torch_name="F.unfold")(_im2col)
op("Unfold", *_window_params())(_im2col)


def _col2im(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """F.fold: (N, C*kh*kw, L) -> (N, C, *output_size)."""
    x = xs[0]
    ctx.rank(x, (2, 3), "(C*kh*kw, L) or (N, C*kh*kw, L)")
    _check_args(ctx, a)
    batched = len(x) == 3
    _nonzero(ctx, x, range(1 if batched else 0, len(x)), "the input")
    kk = prod(a["kernel_size"])
    planes, length = x[-2], x[-1]
    ctx.require(dvd(planes, kk), "fold", f"input dim {fmt(planes)} is not divisible by the kernel's "
                                         f"{kk} elements (kernel_size={a['kernel_size']})",
                hint="the input holds C*kh*kw values per block", show=planes)
    oh, ow = a["output_size"]
    for i, o in enumerate((oh, ow)):
        if isinstance(o, int) and o < 1:
            ctx.fail("fold", f"expects a positive output size, got output_size={fmt_shape((oh, ow))}",
                     param="output_size")
        need(ctx, o, 1, "fold", f"output size {fmt(o)} at dim {i} must be positive", show=o, param="output_size")
    bh, bw = blocks(ctx, (oh, ow), a, "output_size's")
    n_blocks = norm(bh * bw)
    if not (isinstance(n_blocks, int) and isinstance(length, int) and n_blocks == length):
        ctx.require(eq(length, n_blocks), "fold",
                    f"the input has {fmt(length)} blocks but output_size={fmt_shape((oh, ow))} makes {fmt(n_blocks)}",
                    hint="the last input dim must be the number of sliding blocks of output_size", show=length)
    c = floordiv(planes, kk)
    return (x[0], c, oh, ow) if batched else (c, oh, ow)


op("fold", *_window_params(Param("output_size", dims_t(2))), torch_name="F.fold")(_col2im)
op("Fold", *_window_params(Param("output_size", dims_t(2))))(_col2im)


# --------------------------------------------------------------------------- Tensor.unfold


@op("unfold", Param("dimension", int_t(None)), Param("size", signed_size), Param("step", int_t(None)),
    torch_name="Tensor.unfold", call_style="method")
def unfold(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """x.unfold(dimension, size, step): windows of `size` every `step` along dimension, in a new last dim."""
    x, size, step = xs[0], a["size"], a["step"]
    d = norm_dim(a["dimension"], len(x), ctx, "dimension")
    if step <= 0:
        ctx.fail("args", f"step is {step} but must be > 0", param="step")
    if isinstance(size, int) and size < 0:
        ctx.fail("args", f"size is {size} but must be >= 0", param="size")
    need(ctx, size, 0, "unfold", f"size {fmt(size)} must be >= 0", show=size, param="size")
    n: Dim = x[d] if x else 1
    need(ctx, n, size, "unfold", f"size {fmt(size)} is larger than dim {d} of {fmt_shape(x)} ({fmt(n)})",
         hint="use smaller windows", show=norm(n - size), param="size")
    if not x:
        return (size,)
    return (*x[:d], norm(floordiv(norm(n - size), step) + 1), *x[d + 1:], size)


WINDOW_OPS = ("im2col", "Unfold", "fold", "Fold", "unfold")

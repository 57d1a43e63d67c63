"""Output layouts of the convolutions, nn.Conv*d / nn.ConvTranspose*d and F.conv*d /
F.conv_transpose*d (torch 2.14, CPU, float32, no grad).

torch picks a kernel, then a memory format for it: channels-last where the input or the
weight suggests it (``mkldnn_conv_use_channels_last`` / ``thnn_conv_use_channels_last``; a
module's weight is contiguous); the kernel then decides again on the input and the weight
made contiguous in that format (measured: a weight of shape (O, 1, 1, 1) that suggests
channels-last gives a contiguous output next to a contiguous input).  1-D convolutions are 2-D ones of
``contiguous(x).unsqueeze(2)`` and ``weight.unsqueeze(2)``; an unbatched input gets its batch
dim first.  In 3-D only oneDNN (mkldnn) has a channels-last-3d kernel; the slow kernels
write contiguous outputs.  torch's ``use_mkldnn`` takes oneDNN where

    (strided or dilated or N >= 16 or the kernel's last two sizes are not 1 or threads > 1)
    and (groups > 1 or both those sizes > 3 or N > 1 or N*C*D*H > 20480)

where "threads" is the number of torch threads the rules answer for
(:meth:`RuleCtx.torch_threads <shapeplan.ops.ctx.RuleCtx.torch_threads>`: torch's own, where it is imported).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core.dims import Shape, floordiv, prod
from .ctx import RuleCtx
from .formats import batched
from .layout import Ask, Format, Layout, is_format_contiguous, suggest_format
from .layouts import LayoutFn, contiguous_of, layout_of, squeeze, unsqueeze


def _mkldnn(ctx: RuleCtx, ask: Ask, x: Shape, kernel: Sequence[Any], a: dict[str, Any]) -> bool:
    """torch's ``ConvParams::use_mkldnn`` for a 5-D float32 input."""
    n = x[0]
    kh, kw = kernel[-2], kernel[-1]
    strided = any(s != 1 for s in a["stride"])
    dilated = any(d != 1 for d in a["dilation"])
    big = (a["groups"] > 1 or (kh > 3 and kw > 3) or not ask.one(n) or ask.lt(20480, prod(x[:4])))
    if not big:
        return False
    return strided or dilated or kh != 1 or kw != 1 or ctx.torch_threads() > 1 or not ask.lt(n, 16)


def _suggested(ask: Ask, x: Layout, w: Layout) -> Format:
    fmt = suggest_format(ask, x)
    return fmt if fmt != "contiguous" else suggest_format(ask, w)


def _in_format(ask: Ask, t: Layout, fmt: Format) -> Layout:
    """``t.contiguous(memory_format=fmt)``."""
    return t.resolve(ask) if is_format_contiguous(ask, t, fmt) else Layout.fresh(t.shape, fmt)


def _weight_shape(x: Shape, kernel: Sequence[Any], a: dict[str, Any]) -> Shape:
    """A module's weight: (out, in / groups, *kernel), transposed (in, out / groups, *kernel)."""
    g = a["groups"]
    if "output_padding" in a:
        return (x[1], floordiv(a["out_channels"], g), *kernel)
    return (a["out_channels"], floordiv(x[1], g), *kernel)


def conv_output(ctx: RuleCtx, x: Layout, w: Layout | None, out: Shape, n: int, kernel: Sequence[Any],
                a: dict[str, Any]) -> Layout:
    """The output of a batched convolution of ``x`` (n + 2 dims) with weight ``w`` (None: a
    module's contiguous weight)."""
    if n == 1:
        flat = unsqueeze(contiguous_of(ctx, [x], a, x.shape), 2)  # "avoid going through NHWC for permuted 3d input"
        y = conv_output(ctx, flat, None if w is None else unsqueeze(w, 2), (*out[:2], 1, *out[2:]), 2, kernel, a)
        return squeeze(y, {2})
    if x.kind == "contiguous" and (w is None or w.kind == "contiguous"):
        return Layout.contiguous(out)

    weight = Layout.contiguous(_weight_shape(x.shape, kernel, a)) if w is None else w

    def make(ask: Ask) -> Layout:
        fmt = _suggested(ask, x, weight)
        if fmt != "contiguous" and n == 3 and not _mkldnn(ctx, ask, x.shape, kernel, a):
            fmt = "contiguous"
        if fmt != "contiguous":  # the kernel decides again on input and weight made contiguous in that format
            fmt = _suggested(ask, _in_format(ask, x, fmt), _in_format(ask, weight, fmt))
        return Layout.fresh(out, fmt)

    return Layout.lazy(out, make, overlap=False)


def _conv(n: int, module: bool) -> LayoutFn:
    def fn(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
        w = None if module else ins[1]
        kernel = a["kernel_size"] if module else ins[1].shape[2:]

        def inner(c: RuleCtx, xs: list[Layout], a: dict[str, Any], o: Shape) -> Layout:
            return conv_output(c, xs[0], w, o, n, kernel, a)

        return batched(ins[0], out, n + 2, inner, ctx, a)

    return fn


for _n in (1, 2, 3):
    layout_of(f"Conv{_n}d", f"ConvTranspose{_n}d")(_conv(_n, module=True))
    layout_of(f"conv{_n}d", f"conv_transpose{_n}d")(_conv(_n, module=False))

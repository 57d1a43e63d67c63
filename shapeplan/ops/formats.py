"""Output layouts of the ops that allocate a new tensor in a memory format, and of the
composites torch writes with several kernels (CPU, eval mode, no grad; measured against
torch 2.14).

- Convolutions: :mod:`.conv_layouts`.
- The input's suggested format (channels-last when its strides look channels-last, 4-D and
  5-D): BatchNorm, GroupNorm, max pools, 2-D avg / adaptive
  pools, interpolate (but ``area`` in 3-D), pads (but circular), pixel / channel shuffles.
  An unbatched input gets its batch dim first (``unsqueeze(0)``); 1-D avg / adaptive pools
  are 2-D pools of ``x.unsqueeze(-2)``.
- Fresh tensors: ``empty(..., memory_format=)``, ``*_like`` (``preserve_format`` by default:
  a copy's layout).
- Contiguous: 3-D avg and adaptive pools (but the global average), circular pads, InstanceNorm,
  max_pool1d, LayerNorm, reductions, softmax, matmul/linear/embedding, stack.
- cat: the format every input suggests (an empty input suggests contiguous), else contiguous.
- RMSNorm, lp pools, local_response_norm: their composites (elementwise ops, TensorIterator).
"""

from __future__ import annotations

import math
from typing import Any

from ..core.dims import Shape, norm, prod
from .ask import settle
from .ctx import RuleCtx
from .iterator import iterate, scalar
from .layout import (
    Ask,
    Format,
    Layout,
    is_contiguous,
    is_format_contiguous,
    suggest_format,
    view_strides,
    viewed,
)
from .layouts import LayoutFn, contiguous_of, copied, in_format, layout_of, squeeze, unsqueeze

_FORMATS: dict[str | None, Format] = {None: "contiguous", "torch.contiguous_format": "contiguous",
                                      "torch.channels_last": "channels_last",
                                      "torch.channels_last_3d": "channels_last_3d"}


@layout_of("empty")
def _empty(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return Layout.fresh(out, _FORMATS[a.get("memory_format")])


def _like(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    """``empty_like(input, memory_format=...)``: ``preserve_format`` (the default) is a copy's layout."""
    fmt = a.get("memory_format")
    return copied(ins[0]) if fmt in (None, "torch.preserve_format") else Layout.fresh(out, _FORMATS[fmt])


for _name in ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like", "full_like"):
    layout_of(_name)(_like)


def _suggested(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return in_format(ins[0], out)


for _name in ("GroupNorm", "group_norm", "MaxPool2d", "max_pool2d",
              "MaxPool3d", "max_pool3d", "AvgPool2d", "avg_pool2d", "AdaptiveAvgPool2d", "adaptive_avg_pool2d",
              "AdaptiveMaxPool2d", "adaptive_max_pool2d", "PixelShuffle", "pixel_shuffle", "PixelUnshuffle",
              "pixel_unshuffle", "ChannelShuffle", "channel_shuffle", "UpsamplingNearest2d", "UpsamplingBilinear2d",
              "upsample_nearest", "upsample_bilinear", "max_pool2d_with_indices", "max_pool3d_with_indices",
              "adaptive_max_pool2d_with_indices"):
    layout_of(_name)(_suggested)
for _n in (2, 3):
    for _kind in ("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad"):
        layout_of(f"{_kind}{_n}d")(_suggested)


@layout_of("BatchNorm2d", "BatchNorm3d", "batch_norm")
def _batch_norm(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    """torch's batch_norm_cpu: contiguous for a contiguous input, channels-last for a 4-D
    channels-last contiguous one, else the suggested format."""
    x = ins[0]
    if x.kind == "contiguous" or len(out) not in (4, 5):
        return Layout.contiguous(out)

    def make(ask: Ask) -> Layout:
        if is_contiguous(ask, x):
            return Layout.contiguous(out)
        if is_format_contiguous(ask, x, "channels_last"):  # 4-D only
            return Layout.fresh(out, "channels_last")
        return Layout.fresh(out, suggest_format(ask, x))

    return Layout.lazy(out, make, overlap=False)


def batched(x: Layout, out: Shape, rank: int, make: LayoutFn, ctx: RuleCtx, a: dict[str, Any]) -> Layout:
    """An op of ``rank``-D batched inputs applied to an unbatched one: unsqueeze(0), op, squeeze(0)."""
    if len(x.shape) == rank:
        return make(ctx, [x], a, out)
    y = make(ctx, [unsqueeze(x, 0)], a, (1, *out))
    return squeeze(y, {0})


def pool1d(x: Layout, out: Shape) -> Layout:
    """A 2-D pool of ``x.unsqueeze(-2)``, squeezed back (torch's avg and adaptive 1-D pools)."""
    d = len(x.shape) - 1
    y = unsqueeze(x, d)
    return squeeze(in_format(y, (*out[:-1], 1, out[-1])), {d})


@layout_of("AvgPool1d", "avg_pool1d", "AdaptiveAvgPool1d", "adaptive_avg_pool1d", "AdaptiveMaxPool1d",
           "adaptive_max_pool1d", "adaptive_max_pool1d_with_indices", "max_pool1d_with_indices")
def _pool1d(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return pool1d(ins[0], out)


@layout_of("MaxPool1d", "max_pool1d")
def _max_pool1d(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    """A new contiguous tensor; with ``return_indices`` torch takes the kernel with indices, a
    2-D pool of ``x.unsqueeze(-2)``."""
    return pool1d(ins[0], out) if a.get("return_indices") else Layout.contiguous(out, ins[0].dtype)


@layout_of("AdaptiveAvgPool3d", "adaptive_avg_pool3d")
def _adaptive_avg3d(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    size = a["output_size"]
    ones = all(s == 1 for s in (size if isinstance(size, (tuple, list)) else (size,)))
    return in_format(ins[0], out) if ones else Layout.contiguous(out)  # the global average is a mean


def _lp_tail(pooled: Layout, out: Shape) -> Layout:
    """``(sign(out) * relu(abs(out))).mul(k).pow(1 / p)``"""
    s = iterate(out, [pooled])
    r = iterate(out, [iterate(out, [pooled])])
    return iterate(out, [iterate(out, [iterate(out, [s, r]), scalar()])])


def _lp(n: int) -> LayoutFn:
    def fn(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
        x, p = ins[0], a["norm_type"]
        if math.isinf(p):  # max_pool(x.abs()), negated for -inf
            pooled = Layout.contiguous(out) if n != 2 else in_format(iterate(x.shape, [x]), out)
            return pooled if p > 0 else iterate(out, [pooled])
        powered = iterate(x.shape, [x])
        pooled = pool1d(powered, out) if n == 1 else in_format(powered, out) if n == 2 else Layout.contiguous(out)
        return _lp_tail(pooled, out)

    return fn


for _n in (1, 2, 3):
    layout_of(f"LPPool{_n}d", f"lp_pool{_n}d")(_lp(_n))


_RESIZED = ("Upsample", "interpolate", "upsample")


def _resize(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    x = ins[0]
    if a.get("mode") == "area":  # adaptive_avg_pool{1,2,3}d to the output size
        if len(out) == 3:
            return pool1d(x, out)
        if len(out) == 5 and any(s != 1 for s in out[2:]):
            return Layout.contiguous(out)
    return in_format(x, out)


for _name in _RESIZED:
    layout_of(_name)(_resize)


@layout_of("pad")
def _pad(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return Layout.contiguous(out) if a["mode"] == "circular" else in_format(ins[0], out)


@layout_of("cat", "concat", "concatenate")
def _cat(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return cat_layout(ins, out)


def cat_layout(ins: list[Layout], out: Shape) -> Layout:
    """torch's ``cat_compute_output_memory_format``: the format every input suggests, else
    contiguous (an empty input suggests contiguous)."""
    if all(x.kind == "contiguous" for x in ins) or len(out) not in (4, 5):
        return Layout.contiguous(out)

    def make(ask: Ask) -> Layout:
        fmt: Format | None = None
        for x in ins:
            f = "contiguous" if ask.empty(x.shape) else suggest_format(ask, x)
            if f == "contiguous" or fmt is not None and f != fmt:
                return Layout.contiguous(out)
            fmt = f
        assert fmt is not None
        return Layout.fresh(out, fmt)

    return Layout.lazy(out, make, overlap=False)


# --------------------------------------------------------------------------- composites of the norms


@layout_of("RMSNorm", "rms_norm")
def _rms_norm(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    """``x * rsqrt(mean(x ** 2, dims, keepdim) + eps)`` (times the weight: the module's own, or
    F.rms_norm's second input), made contiguous unless ``x`` suggests channels-last (torch's
    ``_fused_rms_norm``)."""
    x = ins[0]
    k = len(a["normalized_shape"])
    kept = (*x.shape[:len(x.shape) - k], *(1 for _ in range(k)))
    y = iterate(out, [x, Layout.contiguous(kept)])
    if len(ins) > 1:
        y = iterate(out, [y, ins[1]])
    elif a.get("elementwise_affine"):
        y = iterate(out, [y, Layout.contiguous(tuple(a["normalized_shape"]))])
    if x.kind == "contiguous":
        return contiguous_of(ctx, [y], a, out)

    def make(ask: Ask) -> Layout:
        return y.resolve(ask) if suggest_format(ask, x) != "contiguous" else contiguous_of(ctx, [y], a, out).resolve(ask)

    return Layout.lazy(out, make)


@layout_of("LocalResponseNorm")
def _local_response_norm(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    """F.local_response_norm: ``input / div``, where ``div`` pools ``input * input`` over the
    channels (3-D: a 2-D pool of ``.unsqueeze(1)``; else a 3-D pool of a *view* as
    ``(N, 1, C, D, -1)``, which fails where that view does: a non-contiguous input of 5 or
    more dims); an empty input is returned as it is."""
    x = ins[0]
    shape = x.shape
    sq = iterate(shape, [x, x])
    if len(shape) == 3:  # pad(x.unsqueeze(1)) on the channels, then avg_pool2d
        size = a["size"]
        padded = in_format(unsqueeze(sq, 1), (shape[0], 1, norm(shape[1] + size - 1), shape[2]))
        div = squeeze(in_format(padded, (shape[0], 1, shape[1], shape[2])), {1})
    else:
        merged = (shape[0], 1, shape[1], shape[2], prod(shape[3:]))
        if len(shape) > 4 and not settle(ctx, lambda ask: ask.empty(shape) or view_strides(ask, sq, merged)
                                         is not None):
            ctx.fail("view", f"local_response_norm views the input's square as {merged}, which its memory does "
                             "not allow (a non-contiguous input of 5 or more dims)",
                     hint="call .contiguous() on the input first")
        pooled = squeeze(Layout.contiguous(merged), {1})  # pad + avg_pool3d (5-D: contiguous)
        div = viewed(pooled, shape)
    scaled = iterate(shape, [iterate(shape, [iterate(shape, [div, scalar()]), scalar()])])
    result = iterate(shape, [x, scaled])
    if x.kind == "contiguous":
        return result
    return Layout.lazy(shape, lambda ask: x.resolve(ask) if ask.empty(shape) else result.resolve(ask))

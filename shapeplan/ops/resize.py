"""Resizing: Upsample, UpsamplingNearest2d/Bilinear2d, F.interpolate (and the deprecated
F.upsample / upsample_nearest / upsample_bilinear), PixelShuffle and PixelUnshuffle.

interpolate: exactly one of ``size`` / ``scale_factor``.  With a scale, torch's output size is
``int(double(n) * s)`` (truncation of a double product; the same with and without
``recompute_scale_factor``: aten's ``compute_output_size`` or Python's ``int(n * s)``).  For a
concrete ``n`` the rule computes exactly that.  For a symbolic ``n``: ``n*p // q`` where that
equals torch's product at every size up to ``MAX_INT`` (:func:`exact_ratio` proves it: 0.5,
2.0, 1.5, k/8, 1/3, 0.3, 1.3, 0.1, ...); otherwise torch's product itself, ``int(H*0.7)``
(:mod:`shapeplan.core.scaled`): for 0.7 it is ``(7*H)//10`` except at about 40 runs of
multiples of 10 (H = 90, 170, 180, ...) where the double product falls just below the integer
and torch gives one less (``int(90 * 0.7) == 62``); the domain analysis knows every such size
up to 2**40.

torch then needs, for every mode but ``area``: spatial dims >= 1, output sizes >= 1, and
channels >= 1 (the batch may be empty).  ``area`` is ``adaptive_avg_pool{1,2,3}d`` on the output
size (whose rule, in pool.py, this one applies).  Mode/rank: linear 3D, bilinear/bicubic/lanczos
4D, trilinear 5D, the rest 3D-5D.  ``align_corners`` only with the interpolating modes;
``antialias`` only with bilinear/bicubic/lanczos on 4D; lanczos needs antialias and no
align_corners.

pixel_shuffle: (*, C, H, W) -> (*, C/r², H*r, W*r), C divisible by r².  pixel_unshuffle:
(*, C, H, W) -> (*, C*r², H/r, W/r), H and W divisible by r; on CPU an empty input is returned
unchanged (a clone), shape included: where a size may be 0, a case of its own.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from typing import Any

from ..core.conditions import dvd, ge
from ..core.dims import Dim, Shape, floordiv, fmt, norm
from ..core.scaled import scaled_size as torch_scaled
from .ctx import ArgError, RuleCtx
from .params import MAX_INT, bool_t, choice_t, dim_t, dims_t, float_t, int_t, opt_t, union_t, with_schema
from .registry import Param, bind, op, resolve_auto

MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact", "lanczos")
_MODE_RANK = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5, "lanczos": 4}
_NO_ALIGN = ("nearest", "area", "nearest-exact")
_AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
_INT64_MAX = 2**63 - 1


# --------------------------------------------------------------------------- converters


def _float_list(v: Any) -> tuple[float, ...]:
    if not isinstance(v, (list, tuple)):
        raise ArgError(f"expected a number or a list of numbers, got {v!r}"[:80])
    if len(v) > 64:
        raise ArgError(f"too many scale factors ({len(v)})")
    one = float_t()
    return tuple(one(x) for x in v)


_float_list.__name__ = "list of numbers"
with_schema(_float_list, {"type": "array", "items": {"type": "number"}, "maxItems": 64})

SIZE_T = union_t(dim_t(), dims_t(scalar=False))  # a scalar stays a scalar: size=5 is not size=[5]
SCALE_T = union_t(float_t(), _float_list)


# --------------------------------------------------------------------------- exact scaling


@cache
def exact_ratio(s: float) -> Fraction | None:
    """``p/q`` with ``int(float(n) * s) == n*p // q`` for every ``0 <= n <= MAX_INT``, or None.

    ``s > 0`` is a double, ``D`` its exact value, ``u = 2**-53`` the unit roundoff.  With
    ``x = n*D`` (exact) and ``fl(x)`` the rounded product torch truncates:

    - ``D`` itself, when ``n*p < 2**53`` for all n (the product is exact: 0.5, 1.5, 3/8, ...);
    - else ``r = p/q`` near ``D`` and ``e = D - r``.  Where ``n*r`` is not an integer it is at
      least ``1/q`` from one, and ``|fl(x) - n*r| <= n*|e| + u*n*D < 1/q`` keeps the floor.  Where
      ``n*r = k`` is an integer (``k < 2**52``): if ``e >= 0``, ``k <= fl(x) < k + 1``; if ``e < 0``,
      ``fl(x) == k`` iff ``n*|e|`` is at most half the gap below ``k`` (ties go to the even ``k``),
      and that gap is at least ``k * 2**-53``: so ``|e|/r <= 2**-54`` suffices.  When it fails
      (0.7, 2.3, 0.35, ...) torch really does return ``k - 1`` at some multiples of ``q``.
    """
    D = Fraction(s)
    if D <= 0:
        return None
    if MAX_INT * D.numerator < 2**53:
        return D
    if MAX_INT * D >= 2**52:
        return None
    r = D.limit_denominator(4096)
    if r == 0 or MAX_INT * r >= 2**52:
        return None
    e = D - r
    if MAX_INT * (abs(e) + D / 2**53) >= Fraction(1, r.denominator):
        return None
    if e < 0 and abs(e) * 2**54 > r:
        return None
    return r


def scaled_size(ctx: RuleCtx, n: Dim, s: float, axis: str) -> Dim:
    """torch's output size for input size ``n`` and scale ``s``: ``int(double(n) * s)``.

    With a symbolic ``n``: ``n*p // q`` where that is exact at every size (:func:`exact_ratio`),
    else torch's product itself (``int(H*0.7)``, :class:`~shapeplan.core.scaled.ScaledSize`),
    which the domain analysis decides exactly (:func:`~shapeplan.core.scaled.scale_split`)."""
    n = norm(n)
    if isinstance(n, int):
        prod_ = float(n) * s
        if not abs(prod_) <= _INT64_MAX:  # (also inf)
            ctx.fail("output-too-large", f"scale_factor={s!r} makes output {axis} = {prod_:.4g}, too large for int64",
                     param="scale_factor")
        return int(prod_)
    if s == 0:
        return 0
    r = exact_ratio(abs(s))
    v = floordiv(norm(n * r.numerator), r.denominator) if r is not None else norm(torch_scaled(n, abs(s)))
    return v if s > 0 else norm(-v)


# --------------------------------------------------------------------------- interpolate


def interpolate_shape(
    ctx: RuleCtx,
    x: Shape,
    size: Any,
    scale: Any,
    mode: str,
    align_corners: bool | None,
    recompute: bool | None = None,
    antialias: bool = False,
) -> Shape:
    """F.interpolate's output shape and requirements (``x`` is (N, C, *spatial))."""
    if mode in _NO_ALIGN and align_corners is not None:
        ctx.fail("align-corners", f"align_corners can only be set with the interpolating modes "
                 f"(linear, bilinear, bicubic, trilinear), not mode={mode!r}",
                 hint="remove align_corners", param="align_corners")
    if size is not None and scale is not None:
        ctx.fail("size-and-scale", "takes only one of size and scale_factor, got both",
                 hint="remove size or scale_factor", param="scale_factor")
    if size is None and scale is None:
        ctx.fail("no-size", "needs size or scale_factor, got neither",
                 hint="add size: [...] or scale_factor: 2", param="size")
    if recompute and size is not None:
        ctx.fail("recompute-scale", "recompute_scale_factor=True is not meaningful with an explicit size",
                 hint="remove recompute_scale_factor", param="recompute_scale_factor")
    ctx.rank(x, (3, 4, 5), "(N, C, L), (N, C, H, W) or (N, C, D, H, W)")
    if mode in _MODE_RANK and len(x) != _MODE_RANK[mode]:
        ctx.fail("rank", f"mode={mode!r} needs a {_MODE_RANK[mode]}D input, got {len(x)}D "
                 f"({', '.join(fmt(d) for d in x)})", param="mode")
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and len(x) == 4):
        ctx.fail("antialias", f"antialias=True needs mode bilinear, bicubic or lanczos on a 4D input "
                 f"(got mode={mode!r}, {len(x)}D)", hint="remove antialias", param="antialias")
    if mode == "lanczos":
        if align_corners:
            ctx.fail("align-corners", "mode='lanczos' does not support align_corners=True", param="align_corners")
        if not antialias:
            ctx.fail("antialias", "mode='lanczos' requires antialias=True", hint="add antialias: true",
                     param="antialias")
    n = len(x) - 2
    axes = _AXES[n]
    spatial = x[2:]
    if size is not None:
        if isinstance(size, tuple):
            if len(size) != n:
                ctx.fail("size-length", f"size has {len(size)} values but the input has {n} spatial dims "
                         f"({', '.join(fmt(d) for d in spatial)})", param="size")
            out = [norm(o) for o in size]
        else:
            out = [norm(size)] * n
    else:
        if isinstance(scale, tuple):
            if len(scale) != n:
                ctx.fail("scale-length", f"scale_factor has {len(scale)} values but the input has {n} spatial "
                         f"dims ({', '.join(fmt(d) for d in spatial)})", param="scale_factor")
            scales = list(scale)
        else:
            scales = [scale] * n
        out = [scaled_size(ctx, d, s, ax) for d, s, ax in zip(spatial, scales, axes, strict=True)]
    if mode == "area":
        return _area(ctx, x, tuple(out), axes)
    if not _positive(x[1]):
        ctx.require(ge(x[1], 1), "empty", f"needs a non-empty channel dim, but it is {fmt(x[1])}",
                    hint="torch's upsampling kernels reject empty channels (the batch may be empty)", show=x[1])
    for d, o, ax in zip(spatial, out, axes, strict=True):
        if not _positive(d):
            ctx.require(ge(d, 1), "empty", f"needs input {ax} >= 1, but it is {fmt(d)}",
                        hint="torch's upsampling rejects empty inputs", show=d)
        ctx.require(ge(o, 1), "output-size", f"output {ax} = {fmt(o)} must be >= 1",
                    hint="use a larger scale_factor or size" if scale is not None else "use a size >= 1",
                    show=o, param="scale_factor" if scale is not None else "size")
    return (x[0], x[1], *out)


def _positive(d: Dim) -> bool:
    d = norm(d)
    return d > 0 if isinstance(d, int) else bool(d.is_positive)


def _area(ctx: RuleCtx, x: Shape, out: tuple[Dim, ...], axes: tuple[str, ...]) -> Shape:
    """mode='area' is adaptive_avg_pool{n}d(x, out): its rule (pool.py) decides."""
    from . import REGISTRY

    for o, ax in zip(out, axes, strict=True):
        if isinstance(o, int) and o < 0:
            ctx.fail("output-size", f"output {ax} = {o} is negative (mode='area' is an adaptive average pool)",
                     hint="use a positive scale_factor or size")
    spec = REGISTRY[f"adaptive_avg_pool{len(out)}d"]
    try:
        a = resolve_auto(spec, bind(spec, [], {"output_size": out}), [x])
    except ArgError as e:  # pragma: no cover - sizes here are already valid Dims
        ctx.fail("output-size", e.message)
    return spec.rule(ctx, [x], a)


# --------------------------------------------------------------------------- registration


def _size_params() -> tuple[Param, Param]:
    return (Param("size", opt_t(SIZE_T), None), Param("scale_factor", opt_t(SCALE_T), None))


def _module_scale(scale: Any) -> Any:
    """nn.Upsample keeps ``float(scale_factor) if scale_factor else None``: a scalar 0 is None."""
    return None if not isinstance(scale, tuple) and not scale else scale


@op("Upsample", *_size_params(), Param("mode", choice_t(*MODES), "nearest"),
    Param("align_corners", opt_t(bool_t), None), Param("recompute_scale_factor", opt_t(bool_t), None))
def upsample_module(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(N, C, *spatial) -> (N, C, *size) or (N, C, int(spatial * scale_factor))"""
    return interpolate_shape(ctx, xs[0], a["size"], _module_scale(a["scale_factor"]), a["mode"],
                             a["align_corners"], a["recompute_scale_factor"])


@op("UpsamplingNearest2d", *_size_params())
def upsampling_nearest2d(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """Upsample(mode='nearest')"""
    return interpolate_shape(ctx, xs[0], a["size"], _module_scale(a["scale_factor"]), "nearest", None)


@op("UpsamplingBilinear2d", *_size_params())
def upsampling_bilinear2d(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """Upsample(mode='bilinear', align_corners=True): 4D only"""
    return interpolate_shape(ctx, xs[0], a["size"], _module_scale(a["scale_factor"]), "bilinear", True)


@op("interpolate", *_size_params(), Param("mode", choice_t(*MODES), "nearest"),
    Param("align_corners", opt_t(bool_t), None), Param("recompute_scale_factor", opt_t(bool_t), None),
    Param("antialias", bool_t, False), torch_name="F.interpolate")
def interpolate(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(N, C, *spatial) -> (N, C, *size) or (N, C, int(spatial * scale_factor))"""
    return interpolate_shape(ctx, xs[0], a["size"], a["scale_factor"], a["mode"], a["align_corners"],
                             a["recompute_scale_factor"], a["antialias"])


@op("upsample", *_size_params(), Param("mode", choice_t(*MODES), "nearest"),
    Param("align_corners", opt_t(bool_t), None), torch_name="F.upsample")
def upsample_fn(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """Deprecated F.upsample: F.interpolate(input, size, scale_factor, mode, align_corners)"""
    return interpolate_shape(ctx, xs[0], a["size"], a["scale_factor"], a["mode"], a["align_corners"])


@op("upsample_nearest", *_size_params(), torch_name="F.upsample_nearest")
def upsample_nearest(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """Deprecated: F.interpolate(..., mode='nearest')"""
    return interpolate_shape(ctx, xs[0], a["size"], a["scale_factor"], "nearest", None)


@op("upsample_bilinear", *_size_params(), torch_name="F.upsample_bilinear")
def upsample_bilinear(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """Deprecated: F.interpolate(..., mode='bilinear', align_corners=True)"""
    return interpolate_shape(ctx, xs[0], a["size"], a["scale_factor"], "bilinear", True)


# --------------------------------------------------------------------------- pixel shuffle


def _factor(ctx: RuleCtx, x: Shape, r: int, fn: str, param: str) -> tuple[Dim, Dim, Dim]:
    if len(x) < 3:
        ctx.fail("rank", f"expects an input with at least 3 dims (*, C, H, W), got {len(x)}D "
                 f"({', '.join(fmt(d) for d in x)})")
    if r <= 0:
        ctx.fail("factor", f"{fn} expects a positive {param}, got {r}", hint=f"use {param} >= 1", param=param)
    c, h, w = x[-3:]
    return c, h, w


@op("PixelShuffle", Param("upscale_factor", int_t(None)))
def pixel_shuffle_module(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r)"""
    return _shuffle(ctx, xs[0], a["upscale_factor"])


@op("pixel_shuffle", Param("upscale_factor", int_t(None)), torch_name="F.pixel_shuffle")
def pixel_shuffle(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r)"""
    return _shuffle(ctx, xs[0], a["upscale_factor"])


def _shuffle(ctx: RuleCtx, x: Shape, r: int) -> Shape:
    c, h, w = _factor(ctx, x, r, "pixel_shuffle", "upscale_factor")
    r2 = r * r
    ctx.require(dvd(c, r2), "channels-divisible",
                f"needs channels divisible by upscale_factor**2 = {r2}, but its input has {fmt(c)} channels",
                hint=f"give it a multiple of {r2} channels", show=c, param="upscale_factor")
    return (*x[:-3], floordiv(c, r2), norm(h * r), norm(w * r))


@op("PixelUnshuffle", Param("downscale_factor", int_t(None)))
def pixel_unshuffle_module(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W)"""
    return _unshuffle(ctx, xs[0], a["downscale_factor"])


@op("pixel_unshuffle", Param("downscale_factor", int_t(None)), torch_name="F.pixel_unshuffle")
def pixel_unshuffle(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W)"""
    return _unshuffle(ctx, xs[0], a["downscale_factor"])


def _unshuffle(ctx: RuleCtx, x: Shape, r: int) -> Shape:
    c, h, w = _factor(ctx, x, r, "pixel_unshuffle", "downscale_factor")
    for d, ax in ((h, "H"), (w, "W")):
        ctx.require(dvd(d, r), "size-divisible", f"needs input {ax} divisible by downscale_factor={r}, "
                    f"but it is {fmt(d)}", hint=f"make {ax} a multiple of {r}", show=d, param="downscale_factor")
    if r != 1 and ctx.empty(x):
        # torch's CPU kernel returns an empty input as is (a clone), shape unchanged (the meta
        # kernel computes the reshaped shape instead); a size that is 0 only at some input sizes
        # (4*H - 4 at H = 1) makes that a case of its own
        return tuple(norm(d) for d in x)
    return (*x[:-3], norm(c * r * r), floordiv(h, r), floordiv(w, r))


__all__ = ["MODES", "exact_ratio", "interpolate_shape", "scaled_size"]

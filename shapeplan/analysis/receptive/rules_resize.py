"""Receptive-field rules of the ops that resize: interpolation and pixel shuffles.

Upsampling (Upsample, interpolate, ...): ``jump *= 1/scale`` (``in/out`` when a size is given
or the scale is recomputed, ``(in - 1)/(out - 1)`` with ``align_corners``); ``rf`` grows by
``taps - 1`` input steps (1 tap for nearest, 2 for (bi/tri)linear, 4 for bicubic); ``start`` is
the centre of output 0's taps.  With ``antialias`` (and for lanczos) the taps depend on the
scale: unknown.  ``mode='area'`` is an adaptive average pool.  PixelShuffle is a nearest
upsampling by the factor, PixelUnshuffle a window of the factor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from fractions import Fraction
from typing import Any

import sympy

from ...core.dims import Dim, Shape, norm
from .axis import Axis, Num, Rule, State, halve, last_dims, num, per_dim, slide
from .rules_window import adaptive_fn

_TAPS = {"nearest": 1, "nearest-exact": 1, "linear": 2, "bilinear": 2, "trilinear": 2, "bicubic": 4}


def _ratio(n: Dim, o: Dim, scale: float | None, align: bool | None) -> Num:
    """torch's source-index scale (area_pixel_compute_scale / compute_scales_value)."""
    if align:
        return num(sympy.Rational(0)) if (isinstance(o, int) and o <= 1) else num(sympy.sympify(n - 1) / (o - 1))
    if scale is not None and scale > 0:
        return num(1 / sympy.Rational(Fraction(scale)))
    return num(sympy.sympify(n) / o)


def resize(mode: str, size: Any, scale: Any, align: bool | None, recompute: bool | None,
           antialias: bool) -> Rule:
    """The rule of F.interpolate with these arguments (mode 'area' is an adaptive avg pool)."""

    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        x = xs[0]
        nsp = len(x) - 2
        if mode == "area":
            return per_dim(states[0], x, last_dims(x, nsp), adaptive_fn(out[2:]), with_full=True)
        if antialias or mode not in _TAPS:
            return None
        scales = (scale if isinstance(scale, tuple) else (scale,) * nsp) if scale is not None and not recompute \
            else (None,) * nsp
        taps = _TAPS[mode]

        def fn(ax: Axis, i: int, m: Dim) -> Axis:
            assert ax.jump is not None
            r = _ratio(m, out[2 + i], scales[i], align)
            if mode == "nearest":
                first: Num = 0
            elif mode == "nearest-exact":
                first = num(sympy.floor(halve(r)))
            elif align:
                first = 0
            elif mode == "bicubic":
                first = num(sympy.floor(halve(r) - sympy.Rational(1, 2))) - 1
            elif _at_most_one(r, m, out[2 + i]):
                first = 0  # upsampling: output 0 reads input 0 (the source index is clamped at 0)
            else:
                first = num(sympy.floor(sympy.Max(halve(r) - sympy.Rational(1, 2), 0)))
            centre = num(first + halve(taps - 1))
            return replace(ax, rf=num(ax.rf + (taps - 1) * ax.jump), start=num(ax.start + centre * ax.jump),
                           jump=num(ax.jump * r))

        return per_dim(states[0], x, last_dims(x, nsp), fn)

    return rule


def _at_most_one(r: Num, n: Dim, o: Dim) -> bool:
    """Is the source-index scale surely <= 1 (an upsampling)?"""
    from ...core.bounds import surely_nonnegative

    if isinstance(r, (int, sympy.Rational)):
        return bool(r <= 1)
    return r == num(sympy.sympify(n) / o) and surely_nonnegative(norm(o - n))


def _module_scale(scale: Any) -> Any:
    return None if not isinstance(scale, tuple) and not scale else scale


def _interp(fixed_mode: str | None = None, fixed_align: bool | None = None, module: bool = False) -> Rule:
    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        mode = fixed_mode or a["mode"]
        align = fixed_align if fixed_mode else a.get("align_corners")
        scale = _module_scale(a["scale_factor"]) if module else a["scale_factor"]
        inner = resize(mode, a["size"], scale, align, a.get("recompute_scale_factor"), a.get("antialias", False))
        return inner(states, xs, out, a)

    return rule


def _shuffle(key: str, up: bool) -> Rule:
    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        r = a[key]

        def fn(ax: Axis, i: int, size: Dim) -> Axis:
            assert ax.jump is not None
            if up:
                return replace(ax, jump=num(ax.jump * sympy.Rational(1, r)))
            return slide(ax, r, r, 0)

        return per_dim(states[0], xs[0], last_dims(xs[0], 2), fn)

    return rule


RESIZE_RULES: dict[str, Rule] = {
    "Upsample": _interp(module=True),
    "UpsamplingNearest2d": _interp("nearest", None, module=True),
    "UpsamplingBilinear2d": _interp("bilinear", True, module=True),
    "interpolate": _interp(),
    "upsample": _interp(),
    "upsample_nearest": _interp("nearest", None),
    "upsample_bilinear": _interp("bilinear", True),
    "PixelShuffle": _shuffle("upscale_factor", up=True),
    "pixel_shuffle": _shuffle("upscale_factor", up=True),
    "PixelUnshuffle": _shuffle("downscale_factor", up=False),
    "pixel_unshuffle": _shuffle("downscale_factor", up=False),
}

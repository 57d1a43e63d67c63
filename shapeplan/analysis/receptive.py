"""Receptive fields: for every layer, the window of the input that one output element sees.

Per spatial axis of the network's input (the dims after ``(N, C)`` of an input of rank >= 3,
named by their symbol, ``H`` and ``W``; ``dim2`` for a number; ``x.H`` when there are several
inputs), three exact numbers, as in Dumoulin & Visin's convolution arithmetic:

- ``rf``: the size of the window, in input positions;
- ``jump``: how far the window moves when the output index grows by one (the effective
  stride, or output stride; a fraction after upsampling, as a sympy ``Rational``);
- ``start``: the centre of output element 0's window, in input coordinates (input element 0
  is at 0; a window reaching into the padding has a negative left end).

Output element ``i``'s window is ``[start + i*jump - (rf - 1)/2, start + i*jump + (rf - 1)/2]``.
This is exact while the jump is an integer (chains of convs, pools and pads: every element's
window, tested against torch's gradients).  Once it is a fraction (after upsampling or a
strided ConvTranspose, where neighbouring outputs read the same input) the windows of
successive elements move unevenly: the numbers are then the arithmetic's (``rf`` of a layer
that reads ``k`` neighbours is ``rf + (k - 1)*jump`` even where ``jump < 1``), an average,
while the first layer with the fractional jump still has its exact widest window.

The windows are geometric: padding counts as positions (whatever the padding mode), and a
dilated kernel's window includes the holes between its taps.  The rules, per op family:

- sliding windows (Conv, MaxPool, AvgPool, LPPool; effective kernel ``e = d*(k - 1) + 1``,
  stride ``s``, left padding ``p``): ``rf += (e - 1)*jump``, ``start += ((e - 1)/2 - p)*jump``,
  ``jump *= s``;
- ConvTranspose: output ``o`` reads the inputs ``(o + p - j*d)/s`` (taps ``j`` where that is an
  integer); ``jump /= s``, ``rf`` grows by the widest such set of inputs, ``start`` is the
  centre of output 0's set;
- padding (the Pad modules, ``F.pad``, negative pads crop): ``start -= left*jump``;
- upsampling (Upsample, interpolate, ...): ``jump *= 1/scale`` (``in/out`` when a size is given
  or the scale is recomputed, ``(in - 1)/(out - 1)`` with ``align_corners``); ``rf`` grows by
  ``taps - 1`` input steps (1 tap for nearest, 2 for (bi/tri)linear, 4 for bicubic);
  ``start`` is the centre of output 0's taps.  With ``antialias`` (and for lanczos) the taps
  depend on the scale: unknown.  PixelShuffle is a nearest upsampling by the factor,
  PixelUnshuffle a window of the factor;
- adaptive pools (and ``mode='area'``): the widest window, ``ceil(n/o)`` or one more
  (exactly: ``n//o``, plus 1 when ``o`` does not divide ``n``, plus 1 more when ``n % o`` does
  not divide ``o``), ``jump *= n/o``, ``start`` the centre of ``[0, ceil(n/o))``; output size 1
  is the union of all positions; a symbolic output size: unknown;
- ops that mix a whole dim (Linear on its last dim, LayerNorm/RMSNorm's normalized dims,
  GroupNorm, InstanceNorm without running stats, BatchNorm without running stats, softmax
  over a spatial dim, reductions): along that dim the window becomes the union of all
  positions, ``rf += (n - 1)*jump``, and the jump becomes 0 (every output position has
  that same window; an adaptive pool to size 1 too);
- merges (add, mul, cat, stack, matmul, Bilinear...): the smallest window that contains every
  input's window of output element 0 (for inputs with equal jumps, as in a residual block or
  a U-Net, that is the window of every output element: the max of the receptive fields when
  the windows are centred alike);
- identity-like ops (activations, BatchNorm with running stats, dropout, Identity, channel
  shuffles, ...): unchanged.  Reshapes keep the axes of the leading and trailing dims they
  leave alone (row-major order); an axis folded into another dim (Flatten) keeps its window,
  loses its jump (shown as ``-``), and becomes the union of all its positions at the next op
  that mixes or slides over that dim (the Linear after a Flatten sees the whole input).

A state is ``None`` where the receptive field is unknown (antialiased resizing, an op without
a rule); it stays unknown downstream.  A layer whose input has no spatial axis has ``{}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Union

import sympy

from ..core.dims import Dim, Shape, floordiv, norm
from ..core.ir import Network

Num = Union[int, sympy.Expr]


@dataclass(frozen=True)
class Window:
    """The receptive field of one spatial axis: size, jump (None once folded), start."""

    rf: Num
    jump: Num | None
    start: Num


@dataclass(frozen=True)
class Axis:
    """Where an input axis runs in a tensor, and the window of that tensor's element 0.

    ``pos``: the tensor dim along which the axis runs (or into which it was folded), None once
    no single dim holds it.  ``jump`` is None for a folded axis, whose window over all its
    positions (``full_rf``, ``full_start``) was frozen when it was folded.  A positional axis
    may carry that window too (``full_rf`` set) where the arithmetic would not give it (after
    an adaptive pool, whose windows are not evenly spaced); the next op that moves windows
    drops it.
    """

    pos: int | None
    rf: Num
    jump: Num | None
    start: Num
    full_rf: Num | None = None
    full_start: Num | None = None

    @property
    def folded(self) -> bool:
        return self.jump is None

    def window(self) -> Window:
        return Window(self.rf, self.jump, self.start)


State = Union[dict[str, Axis], None]


class Unknown(Exception):
    """Raised by a rule whose windows have no exact form here: the state becomes unknown."""

Rule = Callable[[list[dict[str, Axis]], list[Shape], Shape, Mapping[str, Any]], State]


def _n(x: object) -> Num:
    """Normalise: sympy integers become ``int``; fractions become sympy Rationals."""
    if isinstance(x, Fraction):
        x = sympy.Rational(x.numerator, x.denominator)
    if isinstance(x, float):
        x = sympy.Rational(Fraction(x))
    return norm(x)


def _half(x: Num) -> Num:
    return _n(sympy.Rational(1, 2) * x)


# --------------------------------------------------------------------------- axis transforms


def full(ax: Axis, size: Dim) -> tuple[Num, Num]:
    """The window of every position of ``ax`` together (the dim has ``size`` positions)."""
    if ax.full_rf is not None:
        assert ax.full_start is not None
        return ax.full_rf, ax.full_start
    assert ax.jump is not None
    return _n(ax.rf + (size - 1) * ax.jump), _n(ax.start + _half((size - 1) * ax.jump))


def _globalise(ax: Axis) -> Axis:
    """A folded axis whose dim is mixed or slid over: the window of all its positions."""
    return replace(ax, rf=ax.full_rf, start=ax.full_start)


def _fold(ax: Axis, size: Dim, pos: int | None) -> Axis:
    """``ax`` folded into dim ``pos`` (None: no single dim); its element-0 window is kept."""
    if ax.folded:
        return replace(ax, pos=pos)
    frf, fstart = full(ax, size)
    return Axis(pos, ax.rf, None, ax.start, frf, fstart)


def slide(ax: Axis, eff: Num, stride: Num, left: Num) -> Axis:
    """A sliding window of ``eff`` positions, ``stride``, ``left`` positions of padding."""
    assert ax.jump is not None
    j = ax.jump
    return replace(ax, rf=_n(ax.rf + (eff - 1) * j), start=_n(ax.start + (_half(eff - 1) - left) * j),
                   jump=_n(j * stride))


def _mix_in_place(ax: Axis, size: Dim) -> Axis:
    """Every output position along the dim sees every input position (same size kept): every
    window is the same, so the jump is 0."""
    if ax.folded:
        return _globalise(ax)
    rf, start = full(ax, size)
    return replace(ax, rf=rf, start=start, jump=0, full_rf=rf, full_start=start)


def _mix_fold(ax: Axis, size: Dim, pos: int | None) -> Axis:
    """The dim is mixed and its positions lost (Linear's features): a folded, global axis."""
    rf, start = full(ax, size)
    return Axis(pos, rf, None, start, rf, start)


def _per_dim(state: dict[str, Axis], x: Shape, dims: Sequence[int],
             fn: Callable[[Axis, int, Dim], Axis], with_full: bool = False) -> dict[str, Axis]:
    """Apply ``fn(axis, i, size)`` to axes running along ``dims[i]``; folded axes in those dims
    (or in no known dim) become global, others are unchanged.  ``fn`` sees the axis without
    its all-positions window (``full_rf``), except ``with_full``."""
    if not dims:
        return state
    out = {}
    where = {d: i for i, d in enumerate(dims)}
    for key, ax in state.items():
        if ax.folded:
            out[key] = _globalise(ax) if (ax.pos is None or ax.pos in where) else ax
        elif ax.pos is not None and ax.pos in where:
            out[key] = fn(ax if with_full else replace(ax, full_rf=None, full_start=None), where[ax.pos], x[ax.pos])
        else:
            out[key] = ax
    return out


def _last(x: Shape, n: int) -> list[int]:
    return list(range(len(x) - n, len(x)))


def _shift(state: dict[str, Axis], by: int) -> dict[str, Axis]:
    return {k: (replace(a, pos=a.pos + by) if a.pos is not None else a) for k, a in state.items()}


# --------------------------------------------------------------------------- merges


def hull(axes: Sequence[Axis]) -> Axis:
    """The smallest window containing each of ``axes``' element-0 windows."""
    if len(axes) == 1:
        return axes[0]
    lefts = [_n(a.start - _half(a.rf - 1)) for a in axes]
    rights = [_n(a.start + _half(a.rf - 1)) for a in axes]
    left, right = _n(sympy.Min(*lefts)), _n(sympy.Max(*rights))
    rf, start = _n(right - left + 1), _half(left + right)
    lead = next((a for a in axes if not a.folded and a.jump != 0), None) or next(
        (a for a in axes if not a.folded), None)
    if lead is not None:
        return Axis(lead.pos, rf, lead.jump, start)
    fulls = [(a.full_rf, a.full_start) for a in axes]
    fl = _n(sympy.Min(*[s - _half(r - 1) for r, s in fulls]))  # type: ignore[operator]
    fr = _n(sympy.Max(*[s + _half(r - 1) for r, s in fulls]))  # type: ignore[operator]
    return Axis(axes[0].pos, rf, None, start, _n(fr - fl + 1), _half(fl + fr))


def merge(states: Sequence[dict[str, Axis]]) -> dict[str, Axis]:
    """Combine the windows of several inputs whose positions are already aligned to the output."""
    keys: dict[str, None] = {}
    for s in states:
        keys.update(dict.fromkeys(s))
    return {k: hull([s[k] for s in states if k in s]) for k in keys}


def _broadcast(states: list[dict[str, Axis]], xs: list[Shape], out: Shape) -> dict[str, Axis]:
    return merge([_shift(s, len(out) - len(x)) for s, x in zip(states, xs)])


# --------------------------------------------------------------------------- rules


def _identity(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    return states[0] if len(states) == 1 else _broadcast(states, xs, out)


def _conv(n: int) -> Rule:
    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        k, s, d, pad = a["kernel_size"], a["stride"], a["dilation"], a["padding"]

        def fn(ax: Axis, i: int, size: Dim) -> Axis:
            eff = d[i] * (k[i] - 1) + 1
            left = (eff - 1) // 2 if pad == "same" else (0 if pad == "valid" else pad[i])
            return slide(ax, eff, s[i], left)

        return _per_dim(states[0], xs[0], _last(xs[0], n), fn)

    return rule


def transposed_taps(k: int, s: int, p: int, d: int) -> tuple[int, Fraction]:
    """ConvTranspose along one dim: (the widest span of inputs one output reads, in input
    steps, minus one; the centre of output 0's inputs, in input index units)."""
    widest = 0
    for c in range(s):
        taps = [j for j in range(k) if (c - j * d) % s == 0]
        if taps:
            widest = max(widest, (max(taps) - min(taps)) * d // s)
    taps0 = [j for j in range(k) if (p - j * d) % s == 0]
    if not taps0:  # output 0 reads nothing (it is the bias): centre it where it would be
        return widest, Fraction(p, s)
    hi, lo = Fraction(p - min(taps0) * d, s), Fraction(p - max(taps0) * d, s)
    return widest, (hi + lo) / 2


def _conv_transpose(n: int) -> Rule:
    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        k, s, d, p = a["kernel_size"], a["stride"], a["dilation"], a["padding"]

        def fn(ax: Axis, i: int, size: Dim) -> Axis:
            assert ax.jump is not None
            widest, centre = transposed_taps(k[i], s[i], p[i], d[i])
            j = ax.jump
            return replace(ax, rf=_n(ax.rf + widest * j), start=_n(ax.start + _n(centre) * j),
                           jump=_n(j * sympy.Rational(1, s[i])))

        return _per_dim(states[0], xs[0], _last(xs[0], n), fn)

    return rule


def _pool(n: int, kind: str) -> Rule:
    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        k = a["kernel_size"]
        k = (k,) * n if isinstance(k, int) else k
        s = a["stride"] if a.get("stride") is not None else k
        p = a.get("padding", (0,) * n) if kind != "lp" else (0,) * n
        d = a.get("dilation", (1,) * n) if kind == "max" else (1,) * n

        def fn(ax: Axis, i: int, size: Dim) -> Axis:
            return slide(ax, d[i] * (k[i] - 1) + 1, s[i], p[i])

        return _per_dim(states[0], xs[0], _last(xs[0], n), fn)

    return rule


def adaptive_window(m: Dim, o: int) -> Num:
    """The widest window of an adaptive pool from ``m`` to ``o`` positions (exact, ``o >= 1``).

    Windows are ``[floor(i*m/o), ceil((i+1)*m/o))``.  With ``m = q*o + r``: ``q`` when ``r == 0``,
    ``q + 1`` when ``r`` divides ``o``, else ``q + 2``.
    """
    if o == 1:
        return m
    if isinstance(m, int):
        q, r = divmod(m, o)
        return q if r == 0 else (q + 1 if o % r == 0 else q + 2)
    # indicator of m % o == r: (m - r)//o - (m - r - 1)//o
    extra: Dim = floordiv(m + o - 1, o) - floordiv(m, o)
    for r in range(2, o):
        if o % r:
            extra = extra + floordiv(m - r, o) - floordiv(m - r - 1, o)
    return _n(floordiv(m, o) + extra)


def _adaptive_fn(o_sizes: Sequence[Dim | None]) -> Callable[[Axis, int, Dim], Axis]:
    def fn(ax: Axis, i: int, size: Dim) -> Axis:
        o = o_sizes[i]
        if o is None:
            return ax
        if not isinstance(o, int):
            raise Unknown("an adaptive pool to a symbolic size has windows of no closed form")
        assert ax.jump is not None
        rf, start = full(ax, size)  # every output window together covers every input position
        if o == 1:
            return replace(ax, rf=rf, start=start, jump=0, full_rf=rf, full_start=start)
        win = adaptive_window(size, o)
        first = floordiv(size + o - 1, o)  # output 0's window: [0, ceil(m/o))
        return replace(ax, rf=_n(ax.rf + (win - 1) * ax.jump), start=_n(ax.start + _half(first - 1) * ax.jump),
                       jump=_n(ax.jump * size / o), full_rf=rf, full_start=start)

    return fn


def _adaptive(n: int) -> Rule:
    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        return _per_dim(states[0], xs[0], _last(xs[0], n), _adaptive_fn(a["output_size"]), with_full=True)

    return rule


def _pads(x: Shape, pad: Sequence[int]) -> dict[int, int]:
    """{dim: left pad} from a torch pad list (pairs from the last dim)."""
    return {len(x) - 1 - i: pad[2 * i] for i in range(len(pad) // 2)}


def _pad_rule(key: str) -> Rule:
    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        lefts = _pads(xs[0], a[key])

        def fn(ax: Axis, i: int, size: Dim) -> Axis:
            assert ax.jump is not None and ax.pos is not None
            return replace(ax, start=_n(ax.start - lefts[ax.pos] * ax.jump))

        return _per_dim(states[0], xs[0], sorted(lefts), fn)

    return rule


_TAPS = {"nearest": 1, "nearest-exact": 1, "linear": 2, "bilinear": 2, "trilinear": 2, "bicubic": 4}


def _ratio(n: Dim, o: Dim, scale: float | None, align: bool | None) -> Num:
    """torch's source-index scale (area_pixel_compute_scale / compute_scales_value)."""
    if align:
        return _n(sympy.Rational(0)) if (isinstance(o, int) and o <= 1) else _n(sympy.sympify(n - 1) / (o - 1))
    if scale is not None and scale > 0:
        return _n(1 / sympy.Rational(Fraction(scale)))
    return _n(sympy.sympify(n) / o)


def resize(mode: str, size: Any, scale: Any, align: bool | None, recompute: bool | None,
           antialias: bool) -> Rule:
    """The rule of F.interpolate with these arguments (mode 'area' is an adaptive avg pool)."""

    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        x = xs[0]
        nsp = len(x) - 2
        if mode == "area":
            return _per_dim(states[0], x, _last(x, nsp), _adaptive_fn(out[2:]), with_full=True)
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
                first = _n(sympy.floor(_half(r)))
            elif align:
                first = 0
            elif mode == "bicubic":
                first = _n(sympy.floor(_half(r) - sympy.Rational(1, 2))) - 1
            elif _at_most_one(r, m, out[2 + i]):
                first = 0  # upsampling: output 0 reads input 0 (the source index is clamped at 0)
            else:
                first = _n(sympy.floor(sympy.Max(_half(r) - sympy.Rational(1, 2), 0)))
            centre = _n(first + _half(taps - 1))
            return replace(ax, rf=_n(ax.rf + (taps - 1) * ax.jump), start=_n(ax.start + centre * ax.jump),
                           jump=_n(ax.jump * r))

        return _per_dim(states[0], x, _last(x, nsp), fn)

    return rule


def _at_most_one(r: Num, n: Dim, o: Dim) -> bool:
    """Is the source-index scale surely <= 1 (an upsampling)?"""
    from ..core.bounds import surely_nonnegative

    if isinstance(r, (int, sympy.Rational)):
        return bool(r <= 1)
    return r == _n(sympy.sympify(n) / o) and surely_nonnegative(norm(o - n))


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
                return replace(ax, jump=_n(ax.jump * sympy.Rational(1, r)))
            return slide(ax, r, r, 0)

        return _per_dim(states[0], xs[0], _last(xs[0], 2), fn)

    return rule


# --------------------------------------------------------------------------- mixing ops


def mix(state: dict[str, Axis], x: Shape, dims: Sequence[int], keep: bool) -> dict[str, Axis]:
    """The ``dims`` of ``x`` are mixed: in place (``keep``: their positions survive) or folded."""
    if keep:
        return _per_dim(state, x, dims, lambda ax, i, size: _mix_in_place(ax, size), with_full=True)
    return _per_dim(state, x, dims, lambda ax, i, size: _mix_fold(ax, size, ax.pos), with_full=True)


def _linear(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    x = xs[0]
    return mix(states[0], x, [len(x) - 1], keep=False)


def _bilinear(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    return merge([mix(s, x, [len(x) - 1], keep=False) for s, x in zip(states, xs)])


def _trailing(count: Callable[[Mapping[str, Any]], int]) -> Rule:
    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        return mix(states[0], xs[0], _last(xs[0], count(a)), keep=True)

    return rule


def _norm_stats(n: int | None, batch: bool) -> Rule:
    """Norms whose statistics are taken over the spatial dims (n of them; None: dims 2..)."""

    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        x = xs[0]
        if "track_running_stats" in a and a["track_running_stats"]:
            return states[0]
        dims = _last(x, n) if n is not None else list(range(2, len(x)))
        return mix(states[0], x, dims, keep=True)

    return rule


def _softmax(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    from ..ops.activation import legacy_softmax_dim

    x = xs[0]
    if not x:
        return states[0]
    d = a["dim"] if a["dim"] is not None else legacy_softmax_dim(len(x))
    return mix(states[0], x, [d % len(x)], keep=True)


def _glu(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    x = xs[0]
    d = a["dim"] % len(x)

    def fn(ax: Axis, i: int, size: Dim) -> Axis:
        assert ax.jump is not None
        half = floordiv(size, 2)
        return replace(ax, rf=_n(ax.rf + half * ax.jump), start=_n(ax.start + _half(half * ax.jump)))

    return _per_dim(states[0], x, [d], fn)


def _drop_dims(state: dict[str, Axis], x: Shape, dims: Sequence[int]) -> dict[str, Axis]:
    """Mix ``dims`` (already mixed positions become folded) and remove them from ``x``."""
    mixed = mix(state, x, dims, keep=False)
    out = {}
    for key, ax in mixed.items():
        if ax.pos is None:
            out[key] = ax
        elif ax.pos in dims:
            out[key] = replace(ax, pos=None)
        else:
            out[key] = replace(ax, pos=ax.pos - sum(1 for d in dims if d < ax.pos))
    return out


def _reduce(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    from ..ops.ctx import RuleCtx
    from ..ops.reduce import reduced

    x = xs[0]
    if len(xs) == 2:  # torch.max(x, y): elementwise
        return _broadcast(states, xs, out)
    dims = reduced(RuleCtx(), x, a.get("dim"))
    if a.get("keepdim"):
        return mix(states[0], x, dims, keep=True)
    return _drop_dims(states[0], x, dims)


def _matmul(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    (s1, s2), (x1, x2) = states, xs
    r1, r2, big = len(x1), len(x2), len(out)
    batch = big - (r1 >= 2) - (r2 >= 2)

    def place(state: dict[str, Axis], x: Shape, contracted: int, kept: int | None, kept_to: int) -> dict[str, Axis]:
        res = {}
        for key, ax in mix(state, x, [contracted], keep=False).items():
            if ax.pos is None or ax.pos == contracted:
                res[key] = replace(ax, pos=None)
            elif ax.pos == kept:
                res[key] = replace(ax, pos=kept_to)
            else:  # a batch dim, aligned to the right of the output's batch dims
                res[key] = replace(ax, pos=batch - (len(x) - 2) + ax.pos)
        return res

    left = place(s1, x1, r1 - 1, r1 - 2 if r1 >= 2 else None, big - 2 if r2 >= 2 else big - 1)
    right = place(s2, x2, r2 - 2 if r2 >= 2 else 0, r2 - 1 if r2 >= 2 else None, big - 1)
    return merge([left, right])


def _cat(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    kept = [s for s, x in zip(states, xs) if len(x) == len(out)]  # torch skips 1-D empty inputs
    return merge(kept) if kept else {}


def _stack(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    d = a["dim"] % len(out)
    shifted = [{k: (replace(ax, pos=ax.pos + 1) if ax.pos is not None and ax.pos >= d else ax)
                for k, ax in s.items()} for s in states]
    return merge(shifted)


def _same(u: Dim, v: Dim) -> bool:
    from ..ops.merge import same

    return same(u, v)


def reshape(state: dict[str, Axis], x: Shape, out: Shape) -> dict[str, Axis]:
    """A row-major reshape: the leading and trailing dims it leaves alone keep their axes."""
    r, big = len(x), len(out)
    k = 0
    while k < min(r, big) and _same(x[r - 1 - k], out[big - 1 - k]):
        k += 1
    p = 0
    while p < min(r, big) - k and _same(x[p], out[p]):
        p += 1
    middle_out = big - k - p
    res = {}
    for key, ax in state.items():
        if ax.pos is None:
            res[key] = ax
        elif ax.pos >= r - k:
            res[key] = replace(ax, pos=ax.pos + big - r)
        elif ax.pos < p:
            res[key] = ax
        else:  # folded into the middle block: one dim (a flatten) or several
            res[key] = _fold(ax, x[ax.pos], p if middle_out == 1 else None)
    return res


def _reshape(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    return reshape(states[0], xs[0], out)


def _permute(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    r = len(xs[0])
    dims = [d % r for d in a["dims"]]
    return {k: (replace(ax, pos=dims.index(ax.pos)) if ax.pos is not None else ax) for k, ax in states[0].items()}


def _transpose(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    r = max(len(xs[0]), 1)
    d0, d1 = a["dim0"] % r, a["dim1"] % r
    swap = {d0: d1, d1: d0}
    return {k: (replace(ax, pos=swap.get(ax.pos, ax.pos)) if ax.pos is not None else ax)
            for k, ax in states[0].items()}


def _first_only(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    """Ops that read only the values of their first input (type_as, expand_as: the other's
    dtype or shape), shifted to the output's rank."""
    return _shift(states[0], len(out) - len(xs[0]))


def _const(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    """A module attribute (Parameter, Buffer): it sees no input."""
    return {}


def _narrow(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    x = xs[0]
    d = a["dim"] % len(x)
    begin = a["start"] if _nonneg(a["start"]) else norm(a["start"] + x[d])

    def fn(ax: Axis, i: int, size: Dim) -> Axis:
        assert ax.jump is not None
        return replace(ax, start=_n(ax.start + begin * ax.jump))

    return _per_dim(states[0], x, [d], fn)


def _nonneg(v: Dim) -> bool:
    return v >= 0 if isinstance(v, int) else bool(sympy.sympify(v).is_nonnegative)


def _getitem(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    """x[index]: a slice moves the start and multiplies the jump by its step; an int keeps one
    position (the axis is then folded, its window that position's); None adds a dim."""
    from ..core.dims import dmax, dmin

    x, index = xs[0], a["index"]
    rank = len(x)
    specified = sum(1 for i in index if i is not None and i is not Ellipsis)
    src: list[int | None] = list(range(rank))
    sizes: list[Dim] = list(x)
    change: dict[int, tuple[str, Dim, int]] = {}
    d = 0
    for item in index:
        if item is Ellipsis:
            d += rank - specified
        elif item is None:
            src.insert(d, None)
            sizes.insert(d, 1)
            d += 1
        elif isinstance(item, slice):
            b, n = item.start, sizes[d]
            begin = 0 if b is None else (dmin(b, n) if _nonneg(b) else dmax(norm(n + b), 0))
            origin = src[d]
            if origin is not None:
                change[origin] = ("slice", begin, item.step or 1)
            d += 1
        else:
            origin = src[d]
            if origin is not None:
                change[origin] = ("int", item if _nonneg(item) else norm(item + sizes[d]), 1)
            del src[d], sizes[d]
    where = {o: i for i, o in enumerate(src) if o is not None}
    res = {}
    for key, ax in states[0].items():
        if ax.pos is None:
            res[key] = ax
            continue
        kind, at, step = change.get(ax.pos, ("keep", 0, 1))
        if ax.folded or kind == "keep":
            res[key] = replace(ax, pos=where.get(ax.pos))
        elif kind == "slice":
            assert ax.jump is not None
            res[key] = Axis(where[ax.pos], ax.rf, _n(ax.jump * step), _n(ax.start + at * ax.jump))
        else:
            assert ax.jump is not None
            start = _n(ax.start + at * ax.jump)
            res[key] = Axis(None, ax.rf, None, start, ax.rf, start)
    return res


def _functional_norm(kind: str) -> Rule:
    """F.layer_norm / F.group_norm / F.batch_norm / F.normalize on their first input (the
    other inputs are weights and statistics)."""

    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        x = xs[0]
        if kind == "layer_norm":
            dims = _last(x, len(a["normalized_shape"]))
        elif kind == "group_norm":
            dims = list(range(2, len(x)))
        elif kind == "batch_norm":
            dims = [0, *range(2, len(x))] if a["training"] else []
        else:
            dim = a["dim"]
            dims = [d % len(x) for d in ((dim,) if isinstance(dim, int) else dim)]
        return mix(states[0], x, dims, keep=True)

    return rule


def _flinear(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    """F.linear(x, w, b) = x @ w.T + b."""
    x, w = xs[0], xs[1]
    sw, wt = states[1], w
    if len(w) == 2:
        sw = {k: (replace(ax, pos=1 - ax.pos) if ax.pos is not None else ax) for k, ax in sw.items()}
        wt = (w[1], w[0])
    prod_state = _matmul([states[0], sw], [x, wt], out, a)
    if len(xs) > 2:
        return _broadcast([prod_state or {}, states[2]], [out, xs[2]], out)
    return prod_state


# --------------------------------------------------------------------------- the table

_POINTWISE = (
    "Threshold", "ReLU", "RReLU", "Hardtanh", "ReLU6", "Sigmoid", "Hardsigmoid", "Tanh", "SiLU", "Mish",
    "Hardswish", "ELU", "CELU", "SELU", "GELU", "Hardshrink", "LeakyReLU", "LogSigmoid", "Softplus", "Softshrink",
    "Softsign", "Tanhshrink", "PReLU", "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish",
    "sigmoid", "tanh", "hardtanh", "hardsigmoid", "hardswish", "softplus", "threshold", "rrelu", "hardshrink",
    "softshrink", "tanhshrink", "softsign", "logsigmoid", "Softmax2d", "LocalResponseNorm", "CrossMapLRN2d",
    "Identity", "contiguous", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
    "FeatureAlphaDropout", "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
    "feature_alpha_dropout", "ChannelShuffle", "channel_shuffle", "Embedding",
    # elementwise with broadcasting
    "add", "sub", "mul", "div", "maximum", "minimum", "pow",
    "sqrt", "rsqrt", "exp", "log", "abs", "neg", "square", "reciprocal", "sign", "floor", "ceil", "erf", "round",
    "clone", "detach", "float", "half", "double", "clamp", "clip", "clamp_min", "clamp_max",
)

RULES: dict[str, Rule] = dict.fromkeys(_POINTWISE, _identity)
for _n_ in (1, 2, 3):
    RULES[f"Conv{_n_}d"] = _conv(_n_)
    RULES[f"ConvTranspose{_n_}d"] = _conv_transpose(_n_)
    for _m in ("MaxPool", "max_pool"):
        RULES[f"{_m}{_n_}d"] = _pool(_n_, "max")
    for _m in ("AvgPool", "avg_pool"):
        RULES[f"{_m}{_n_}d"] = _pool(_n_, "avg")
    for _m in ("LPPool", "lp_pool"):
        RULES[f"{_m}{_n_}d"] = _pool(_n_, "lp")
    for _m in ("AdaptiveAvgPool", "AdaptiveMaxPool", "adaptive_avg_pool", "adaptive_max_pool"):
        RULES[f"{_m}{_n_}d"] = _adaptive(_n_)
    for _m in ("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad"):
        RULES[f"{_m}{_n_}d"] = _pad_rule("padding")
    RULES[f"BatchNorm{_n_}d"] = _norm_stats(None, batch=True)
    RULES[f"InstanceNorm{_n_}d"] = _norm_stats(_n_, batch=False)
RULES.update({
    "pad": _pad_rule("pad"),
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
    "Linear": _linear,
    "Bilinear": _bilinear,
    "LayerNorm": _trailing(lambda a: len(a["normalized_shape"])),
    "RMSNorm": _trailing(lambda a: len(a["normalized_shape"])),
    "GroupNorm": _norm_stats(None, batch=False),
    "Softmax": _softmax, "LogSoftmax": _softmax, "Softmin": _softmax,
    "softmax": _softmax, "log_softmax": _softmax, "softmin": _softmax,
    "GLU": _glu, "glu": _glu,
    "matmul": _matmul, "mm": _matmul, "bmm": _matmul,
    "cat": _cat, "concat": _cat, "concatenate": _cat, "stack": _stack,
    "Flatten": _reshape, "flatten": _reshape, "Unflatten": _reshape, "unflatten": _reshape,
    "reshape": _reshape, "view": _reshape, "squeeze": _reshape, "unsqueeze": _reshape,
    "permute": _permute, "transpose": _transpose,
    "type_as": _first_only, "expand": _first_only, "expand_as": _first_only,
    "Parameter": _const, "Buffer": _const,
    "narrow": _narrow, "getitem": _getitem,
    "layer_norm": _functional_norm("layer_norm"), "group_norm": _functional_norm("group_norm"),
    "batch_norm": _functional_norm("batch_norm"), "normalize": _functional_norm("normalize"),
    "linear": _flinear,
})
for _r in ("mean", "sum", "nanmean", "nansum", "amax", "amin", "prod", "logsumexp", "std", "var", "max", "min"):
    RULES[_r] = _reduce


def _input_states(net: Network) -> dict[str, dict[str, Axis]]:
    from ..core.dims import fmt

    out: dict[str, dict[str, Axis]] = {}
    many = len(net.inputs) > 1
    for name, shape in net.inputs.items():
        axes: dict[str, Axis] = {}
        if len(shape) >= 3:
            labels = [fmt(d) if isinstance(d, sympy.Symbol) else f"dim{i}" for i, d in enumerate(shape)]
            for i in range(2, len(shape)):
                label = labels[i] if labels.count(labels[i]) == 1 else f"dim{i}"
                axes[f"{name}.{label}" if many else label] = Axis(i, 1, 1, 0)
        out[name] = axes
    return out


def receptive_fields(net: Network, results: Mapping[str, Any],
                     rules: Mapping[str, Rule] | None = None) -> dict[str, dict[str, Window] | None]:
    """Every layer's windows, per input axis (``None``: unknown), from a propagation's results.

    ``results`` maps layer names to :class:`shapeplan.analysis.propagate.LayerResult` (layers that
    failed are absent: their windows, and those downstream, are unknown).  ``rules``: the table
    of rules (default :data:`RULES`; :data:`shapeplan.analysis.receptive_more.ALL_RULES` adds
    the rules of the attention, indexing and creation ops).
    """
    from .propagate import layer_order

    states: dict[str, State] = dict(_input_states(net))
    out: dict[str, dict[str, Window] | None] = {}
    for layer in layer_order(net):
        res = results.get(layer.name)
        ins = [states.get(src) for src in layer.inputs]
        rule = (RULES if rules is None else rules).get(layer.op)
        st: State = None
        if res is not None and res.shape is not None and rule is not None and all(s is not None for s in ins):
            try:
                st = rule([s for s in ins if s is not None], list(res.inputs), res.shape, res.args)
            except Unknown:
                st = None
            except (ArithmeticError, LookupError, TypeError, ValueError):  # a case no rule foresaw
                st = None  # unknown, rather than no report at all
        states[layer.name] = st
        out[layer.name] = None if st is None else {k: ax.window() for k, ax in st.items()}
    return out


__all__ = ["RULES", "Axis", "Window", "adaptive_window", "receptive_fields", "transposed_taps"]

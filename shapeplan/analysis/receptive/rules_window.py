"""Receptive-field rules of the ops that slide a window: convolutions, pools, padding.

- sliding windows (Conv, MaxPool, AvgPool, LPPool; effective kernel ``e = d*(k - 1) + 1``,
  stride ``s``, left padding ``p``): ``rf += (e - 1)*jump``, ``start += ((e - 1)/2 - p)*jump``,
  ``jump *= s``;
- ConvTranspose: output ``o`` reads the inputs ``(o + p - j*d)/s`` (taps ``j`` where that is an
  integer); ``jump /= s``, ``rf`` grows by the widest such set of inputs, ``start`` is the
  centre of output 0's set;
- padding (the Pad modules, ``F.pad``, negative pads crop): ``start -= left*jump``;
- adaptive pools (and ``mode='area'``): the widest window, ``ceil(n/o)`` or one more
  (exactly: ``n//o``, plus 1 when ``o`` does not divide ``n``, plus 1 more when ``n % o`` does
  not divide ``o``), ``jump *= n/o``, ``start`` the centre of ``[0, ceil(n/o))``; output size 1
  is the union of all positions; a symbolic output size: unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any

import sympy

from ...core.dims import Dim, Shape, floordiv
from .axis import Axis, Num, Rule, State, Unknown, full, halve, last_dims, num, per_dim, slide


def _conv(n: int) -> Rule:
    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        k, s, d, pad = a["kernel_size"], a["stride"], a["dilation"], a["padding"]

        def fn(ax: Axis, i: int, size: Dim) -> Axis:
            eff = d[i] * (k[i] - 1) + 1
            left = (eff - 1) // 2 if pad == "same" else (0 if pad == "valid" else pad[i])
            return slide(ax, eff, s[i], left)

        return per_dim(states[0], xs[0], last_dims(xs[0], n), fn)

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
            return replace(ax, rf=num(ax.rf + widest * j), start=num(ax.start + num(centre) * j),
                           jump=num(j * sympy.Rational(1, s[i])))

        return per_dim(states[0], xs[0], last_dims(xs[0], n), fn)

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

        return per_dim(states[0], xs[0], last_dims(xs[0], n), fn)

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
    return num(floordiv(m, o) + extra)


def adaptive_fn(o_sizes: Sequence[Dim | None]) -> Callable[[Axis, int, Dim], Axis]:
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
        return replace(ax, rf=num(ax.rf + (win - 1) * ax.jump), start=num(ax.start + halve(first - 1) * ax.jump),
                       jump=num(ax.jump * size / o), full_rf=rf, full_start=start)

    return fn


def _adaptive(n: int) -> Rule:
    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        return per_dim(states[0], xs[0], last_dims(xs[0], n), adaptive_fn(a["output_size"]), with_full=True)

    return rule


def _pads(x: Shape, pad: Sequence[int]) -> dict[int, int]:
    """{dim: left pad} from a torch pad list (pairs from the last dim)."""
    return {len(x) - 1 - i: pad[2 * i] for i in range(len(pad) // 2)}


def _pad_rule(key: str) -> Rule:
    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        lefts = _pads(xs[0], a[key])

        def fn(ax: Axis, i: int, size: Dim) -> Axis:
            assert ax.jump is not None and ax.pos is not None
            return replace(ax, start=num(ax.start - lefts[ax.pos] * ax.jump))

        return per_dim(states[0], xs[0], sorted(lefts), fn)

    return rule


WINDOW_RULES: dict[str, Rule] = {"pad": _pad_rule("pad")}
for _d in (1, 2, 3):
    WINDOW_RULES[f"Conv{_d}d"] = _conv(_d)
    WINDOW_RULES[f"ConvTranspose{_d}d"] = _conv_transpose(_d)
    for _m in ("MaxPool", "max_pool"):
        WINDOW_RULES[f"{_m}{_d}d"] = _pool(_d, "max")
    WINDOW_RULES[f"max_pool{_d}d_with_indices"] = _pool(_d, "max")
    WINDOW_RULES[f"adaptive_max_pool{_d}d_with_indices"] = _adaptive(_d)
    for _m in ("AvgPool", "avg_pool"):
        WINDOW_RULES[f"{_m}{_d}d"] = _pool(_d, "avg")
    for _m in ("LPPool", "lp_pool"):
        WINDOW_RULES[f"{_m}{_d}d"] = _pool(_d, "lp")
    for _m in ("AdaptiveAvgPool", "AdaptiveMaxPool", "adaptive_avg_pool", "adaptive_max_pool"):
        WINDOW_RULES[f"{_m}{_d}d"] = _adaptive(_d)
    for _m in ("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad"):
        WINDOW_RULES[f"{_m}{_d}d"] = _pad_rule("padding")

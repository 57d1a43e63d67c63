"""The window arithmetic of receptive fields: one input axis's window in a tensor, and the
transforms the rules (:mod:`.rules`) compose.

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
dilated kernel's window includes the holes between its taps.  Ops that mix a whole dim make the
window along it the union of all positions, ``rf += (n - 1)*jump``, and the jump 0 (every output
position has that same window).  Merges take the smallest window that contains every input's
window of output element 0 (for inputs with equal jumps, as in a residual block or a U-Net,
that is the window of every output element: the max of the receptive fields when the windows
are centred alike).

A state is ``None`` where the receptive field is unknown (antialiased resizing, an op without
a rule); it stays unknown downstream.  A layer whose input has no spatial axis has ``{}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Union

import sympy

from ...core.dims import Dim, Shape, norm

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


def num(x: object) -> Num:
    """Normalise: sympy integers become ``int``; fractions become sympy Rationals."""
    if isinstance(x, Fraction):
        x = sympy.Rational(x.numerator, x.denominator)
    if isinstance(x, float):
        x = sympy.Rational(Fraction(x))
    return norm(x)


def halve(x: Num) -> Num:
    return num(sympy.Rational(1, 2) * x)


# --------------------------------------------------------------------------- axis transforms


def full(ax: Axis, size: Dim) -> tuple[Num, Num]:
    """The window of every position of ``ax`` together (the dim has ``size`` positions)."""
    if ax.full_rf is not None:
        assert ax.full_start is not None
        return ax.full_rf, ax.full_start
    assert ax.jump is not None
    return num(ax.rf + (size - 1) * ax.jump), num(ax.start + halve((size - 1) * ax.jump))


def _globalise(ax: Axis) -> Axis:
    """A folded axis whose dim is mixed or slid over: the window of all its positions."""
    return replace(ax, rf=ax.full_rf, start=ax.full_start)


def fold(ax: Axis, size: Dim, pos: int | None) -> Axis:
    """``ax`` folded into dim ``pos`` (None: no single dim); its element-0 window is kept."""
    if ax.folded:
        return replace(ax, pos=pos)
    frf, fstart = full(ax, size)
    return Axis(pos, ax.rf, None, ax.start, frf, fstart)


def slide(ax: Axis, eff: Num, stride: Num, left: Num) -> Axis:
    """A sliding window of ``eff`` positions, ``stride``, ``left`` positions of padding."""
    assert ax.jump is not None
    j = ax.jump
    return replace(ax, rf=num(ax.rf + (eff - 1) * j), start=num(ax.start + (halve(eff - 1) - left) * j),
                   jump=num(j * stride))


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


def per_dim(state: dict[str, Axis], x: Shape, dims: Sequence[int],
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


def last_dims(x: Shape, n: int) -> list[int]:
    return list(range(len(x) - n, len(x)))


def shift(state: dict[str, Axis], by: int) -> dict[str, Axis]:
    return {k: (replace(a, pos=a.pos + by) if a.pos is not None else a) for k, a in state.items()}


# --------------------------------------------------------------------------- merges and mixes


def hull(axes: Sequence[Axis]) -> Axis:
    """The smallest window containing each of ``axes``' element-0 windows."""
    if len(axes) == 1:
        return axes[0]
    lefts = [num(a.start - halve(a.rf - 1)) for a in axes]
    rights = [num(a.start + halve(a.rf - 1)) for a in axes]
    left, right = num(sympy.Min(*lefts)), num(sympy.Max(*rights))
    rf, start = num(right - left + 1), halve(left + right)
    lead = next((a for a in axes if not a.folded and a.jump != 0), None) or next(
        (a for a in axes if not a.folded), None)
    if lead is not None:
        return Axis(lead.pos, rf, lead.jump, start)
    fulls = [(a.full_rf, a.full_start) for a in axes]
    fl = num(sympy.Min(*[s - halve(r - 1) for r, s in fulls]))  # type: ignore[operator]
    fr = num(sympy.Max(*[s + halve(r - 1) for r, s in fulls]))  # type: ignore[operator]
    return Axis(axes[0].pos, rf, None, start, num(fr - fl + 1), halve(fl + fr))


def merge(states: Sequence[dict[str, Axis]]) -> dict[str, Axis]:
    """Combine the windows of several inputs whose positions are already aligned to the output."""
    keys: dict[str, None] = {}
    for s in states:
        keys.update(dict.fromkeys(s))
    return {k: hull([s[k] for s in states if k in s]) for k in keys}


def broadcast(states: list[dict[str, Axis]], xs: list[Shape], out: Shape) -> dict[str, Axis]:
    return merge([shift(s, len(out) - len(x)) for s, x in zip(states, xs)])


def mix(state: dict[str, Axis], x: Shape, dims: Sequence[int], keep: bool) -> dict[str, Axis]:
    """The ``dims`` of ``x`` are mixed: in place (``keep``: their positions survive) or folded."""
    if keep:
        return per_dim(state, x, dims, lambda ax, i, size: _mix_in_place(ax, size), with_full=True)
    return per_dim(state, x, dims, lambda ax, i, size: _mix_fold(ax, size, ax.pos), with_full=True)

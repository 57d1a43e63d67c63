"""Receptive-field rules of the ops that move no window: pointwise ops, merges, reshapes,
permutations, indexing.

- identity-like ops (activations, dropout, Identity, channel shuffles, ...): unchanged;
- merges (add, mul, cat, stack, ...): the smallest window that contains every input's window
  of output element 0;
- reshapes keep the axes of the leading and trailing dims they leave alone (row-major order);
  an axis folded into another dim (Flatten) keeps its window, loses its jump (shown as ``-``),
  and becomes the union of all its positions at the next op that mixes or slides over that dim
  (the Linear after a Flatten sees the whole input);
- indexing: a slice moves the start and multiplies the jump by its step, an int keeps one
  position, ``narrow`` moves the start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import sympy

from ...core.dims import Dim, Shape, norm
from .axis import Axis, Rule, State, broadcast, fold, merge, num, per_dim, shift

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


def _identity(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    return states[0] if len(states) == 1 else broadcast(states, xs, out)


def _cat(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    kept = [s for s, x in zip(states, xs) if len(x) == len(out)]  # torch skips 1-D empty inputs
    return merge(kept) if kept else {}


def _stack(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    d = a["dim"] % len(out)
    shifted = [{k: (replace(ax, pos=ax.pos + 1) if ax.pos is not None and ax.pos >= d else ax)
                for k, ax in s.items()} for s in states]
    return merge(shifted)


def _same(u: Dim, v: Dim) -> bool:
    from ...ops.merge import same

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
            res[key] = fold(ax, x[ax.pos], p if middle_out == 1 else None)
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


def _t(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    if len(xs[0]) < 2:
        return states[0]
    return _transpose(states, xs, out, {"dim0": 0, "dim1": 1})


def _movedim(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    from ...ops.ctx import RuleCtx
    from ...ops.reshape import movedim_order

    order = movedim_order(RuleCtx(), len(xs[0]), a["source"], a["destination"])
    return _permute(states, xs, out, {"dims": order}) if order else states[0]


def _first_only(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    """Ops that read only the values of their first input (type_as, expand_as: the other's
    dtype or shape), shifted to the output's rank."""
    return shift(states[0], len(out) - len(xs[0]))


def _const(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    """A module attribute (Parameter, Buffer): it sees no input."""
    return {}


def _narrow(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    x = xs[0]
    d = a["dim"] % len(x)
    begin = a["start"] if _nonneg(a["start"]) else norm(a["start"] + x[d])

    def fn(ax: Axis, i: int, size: Dim) -> Axis:
        assert ax.jump is not None
        return replace(ax, start=num(ax.start + begin * ax.jump))

    return per_dim(states[0], x, [d], fn)


def _nonneg(v: Dim) -> bool:
    return v >= 0 if isinstance(v, int) else bool(sympy.sympify(v).is_nonnegative)


def _getitem(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    """x[index]: a slice moves the start and multiplies the jump by its step; an int keeps one
    position (the axis is then folded, its window that position's); None adds a dim."""
    from ...core.dims import dmax, dmin

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
            res[key] = Axis(where[ax.pos], ax.rf, num(ax.jump * step), num(ax.start + at * ax.jump))
        else:
            assert ax.jump is not None
            start = num(ax.start + at * ax.jump)
            res[key] = Axis(None, ax.rf, None, start, ax.rf, start)
    return res


LAYOUT_RULES: dict[str, Rule] = {
    **dict.fromkeys(_POINTWISE, _identity),
    "cat": _cat, "concat": _cat, "concatenate": _cat, "stack": _stack,
    "Flatten": _reshape, "flatten": _reshape, "Unflatten": _reshape, "unflatten": _reshape,
    "reshape": _reshape, "view": _reshape, "squeeze": _reshape, "unsqueeze": _reshape,
    "permute": _permute, "transpose": _transpose, "t": _t, "movedim": _movedim, "moveaxis": _movedim,
    "type_as": _first_only, "expand": _first_only, "expand_as": _first_only,
    "Parameter": _const, "Buffer": _const,
    "narrow": _narrow, "getitem": _getitem,
}

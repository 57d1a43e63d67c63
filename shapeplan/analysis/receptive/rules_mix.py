"""Receptive-field rules of the ops that mix a whole dim: Linear, norms, softmax, GLU,
reductions, matmul.

Along a mixed dim (Linear on its last dim, LayerNorm/RMSNorm's normalized dims, GroupNorm,
InstanceNorm without running stats, BatchNorm without running stats, softmax over a spatial
dim, reductions) the window becomes the union of all positions, ``rf += (n - 1)*jump``, and the
jump becomes 0 (every output position has that same window).  With running stats BatchNorm and
InstanceNorm are identity-like.  matmul (and Bilinear, F.linear) mix the contracted dim of each
input and merge the inputs' windows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ...core.dims import Dim, Shape, floordiv
from .axis import Axis, Rule, State, broadcast, halve, last_dims, merge, mix, num, per_dim


def _linear(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    x = xs[0]
    return mix(states[0], x, [len(x) - 1], keep=False)


def _bilinear(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    return merge([mix(s, x, [len(x) - 1], keep=False) for s, x in zip(states, xs)])


def _trailing(count: Callable[[Mapping[str, Any]], int]) -> Rule:
    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        return mix(states[0], xs[0], last_dims(xs[0], count(a)), keep=True)

    return rule


def _norm_stats(n: int | None, batch: bool) -> Rule:
    """Norms whose statistics are taken over the spatial dims (n of them; None: dims 2..)."""

    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        x = xs[0]
        if "track_running_stats" in a and a["track_running_stats"]:
            return states[0]
        dims = last_dims(x, n) if n is not None else list(range(2, len(x)))
        return mix(states[0], x, dims, keep=True)

    return rule


def _softmax(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
    from ...ops.activation import legacy_softmax_dim

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
        return replace(ax, rf=num(ax.rf + half * ax.jump), start=num(ax.start + halve(half * ax.jump)))

    return per_dim(states[0], x, [d], fn)


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
    from ...ops.ctx import RuleCtx
    from ...ops.reduce import reduced

    x = xs[0]
    if len(xs) == 2:  # torch.max(x, y): elementwise
        return broadcast(states, xs, out)
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


def _functional_norm(kind: str) -> Rule:
    """F.layer_norm / F.group_norm / F.batch_norm / F.normalize on their first input (the
    other inputs are weights and statistics)."""

    def rule(states: list[dict[str, Axis]], xs: list[Shape], out: Shape, a: Mapping[str, Any]) -> State:
        x = xs[0]
        if kind == "layer_norm":
            dims = last_dims(x, len(a["normalized_shape"]))
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
        return broadcast([prod_state or {}, states[2]], [out, xs[2]], out)
    return prod_state


MIX_RULES: dict[str, Rule] = {
    "Linear": _linear,
    "Bilinear": _bilinear,
    "LayerNorm": _trailing(lambda a: len(a["normalized_shape"])),
    "RMSNorm": _trailing(lambda a: len(a["normalized_shape"])),
    "GroupNorm": _norm_stats(None, batch=False),
    "Softmax": _softmax, "LogSoftmax": _softmax, "Softmin": _softmax,
    "softmax": _softmax, "log_softmax": _softmax, "softmin": _softmax,
    "GLU": _glu, "glu": _glu,
    "matmul": _matmul, "mm": _matmul, "bmm": _matmul,
    "layer_norm": _functional_norm("layer_norm"), "group_norm": _functional_norm("group_norm"),
    "batch_norm": _functional_norm("batch_norm"), "normalize": _functional_norm("normalize"),
    "linear": _flinear,
}
for _d in (1, 2, 3):
    MIX_RULES[f"BatchNorm{_d}d"] = _norm_stats(None, batch=True)
    MIX_RULES[f"InstanceNorm{_d}d"] = _norm_stats(_d, batch=False)
for _r in ("mean", "sum", "nanmean", "nansum", "amax", "amin", "prod", "logsumexp", "std", "var", "max", "min"):
    MIX_RULES[_r] = _reduce

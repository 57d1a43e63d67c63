"""Normalisation layers: BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, GroupNorm, LayerNorm, RMSNorm,
LocalResponseNorm, CrossMapLRN2d.  All keep the input shape; what matters is when torch
accepts the input (eval mode, as a network is checked):

- BatchNorm: 1d takes (N, C) or (N, C, L), 2d (N, C, H, W), 3d (N, C, D, H, W).  An empty
  input (a dim of size 0) returns at once, unchecked.  Otherwise the channel count must equal
  num_features whenever there are weights or running stats (affine or track_running_stats).
  With track_running_stats=False, eval mode still normalises with batch statistics, and torch
  then needs more than one value per channel: N * prod(spatial) != 1.
- InstanceNorm: 1d takes (C, L) or (N, C, L), etc.  C must equal num_features only when
  affine (otherwise torch warns); with track_running_stats (eval mode uses the running stats)
  a non-empty input needs C == num_features too, and without it torch needs more than one
  spatial element: prod(spatial) != 1.  Affine needs N >= 1 and num_features >= 1 (torch
  fails with an IndexError on an empty weight).
- GroupNorm: rank >= 2, C >= 1 and every spatial dim >= 1 (only the batch may be empty),
  C % num_groups == 0, C == num_channels when affine, and
  N * (C // num_groups) * prod(spatial) != 1 (torch checks this even in eval mode).
- LayerNorm / RMSNorm: the trailing dims equal normalized_shape (non-empty).
- LocalResponseNorm: rank >= 3; CrossMapLRN2d: 4-D with C >= 1.

An "empty input" exemption applies to a literal 0 and, as a case of its own, to a symbolic size
that may be 0 (``H - 1`` at H = 1): :func:`is_empty` asks :meth:`RuleCtx.decide`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core.bounds import surely_nonnegative
from ..core.conditions import Cond, dvd, eq, ge
from ..core.dims import Dim, Shape, floordiv, fmt, norm, prod
from .ctx import ArgError, RuleCtx
from .params import bool_t, dim_t, dims_t, float_t, int_t, opt_t, schema_of, with_schema
from .registry import Param, channels, last_dim, op

_FLOAT = float_t()
_AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def is_zero(d: Dim) -> bool:
    """A size that is a literal 0 (symbolic sizes are positive)."""
    return isinstance(d, int) and d == 0


def _may_be_zero(d: Dim) -> bool:
    return not surely_nonnegative(norm(d - 1))


def _more_than_one(ctx: RuleCtx, factors: Sequence[Dim], what: str, hint: str) -> None:
    """torch's ``prod(factors) != 1`` check: vacuous when a factor is 0, else prod >= 2
    (``!= 1`` where a factor may be 0 at some sizes: an empty tensor passes it)."""
    if any(is_zero(f) for f in factors):
        return
    total = prod(factors)
    cond = Cond("ne", total, 1) if any(_may_be_zero(f) for f in factors) else ge(total, 2)
    ctx.require(cond, "single-value", f"needs more than 1 {what}, but there is {fmt(total)}",
                hint=hint, show=total)


def is_empty(ctx: RuleCtx, x: Shape) -> bool:
    """Is the input empty (a dim of size 0)?  torch's batch and instance norms return an empty
    input at once, unchecked; a symbolic size that may be 0 there is a case of its own."""
    return ctx.empty(x)


def non_empty(ctx: RuleCtx, dims: Sequence[Dim], what: str, hint: str) -> None:
    """Each of ``dims`` is >= 1 (torch's group_norm: C > 0 and HxW > 0), unless it surely is."""
    for d in dims:
        if not surely_nonnegative(norm(d - 1)):
            ctx.require(ge(d, 1), "empty", f"needs a non-empty {what}, but it is {fmt(d)}", hint=hint, show=d)


def _features_match(ctx: RuleCtx, c: Dim, nf: Dim, param: str) -> None:
    ctx.require(eq(c, nf), "num-features", f"expects {param}={fmt(nf)}, but its input has {fmt(c)} channels",
                hint=f"set {param}: {fmt(c)} (or {param}: auto)", show=c, param=param)


def _affine_needs_features(ctx: RuleCtx, nf: Dim) -> None:
    """affine=True with num_features 0 always fails in torch (an empty weight); with
    ``num_features: auto`` the count is the input's, which may be 0 at some sizes
    (``4*H - 4`` at H = 1), so the condition is stated, not only checked for a literal 0."""
    if nf == 0:
        ctx.fail("num-features", "num_features=0 with affine=True always fails in torch",
                 hint="use num_features >= 1", param="num_features")
    ctx.require(ge(nf, 1), "num-features",
                f"num_features = {fmt(nf)} must be >= 1 with affine=True (torch fails on an empty weight)",
                hint="make sure the input has at least one channel here", show=nf, param="num_features")


# --------------------------------------------------------------------------- BatchNorm / InstanceNorm


def _norm_params(affine: bool, track: bool) -> tuple[Param, ...]:
    return (
        Param("num_features", int_t(0), auto=channels(1)),
        Param("eps", _FLOAT, 1e-5),
        Param("momentum", opt_t(_FLOAT), 0.1),
        Param("affine", bool_t, affine),
        Param("track_running_stats", bool_t, track),
        Param("bias", bool_t, True),  # keyword-only in torch
    )


def _affine_count(a: dict[str, Any]) -> Dim:
    if not a["affine"]:
        return 0
    return norm(a["num_features"] * (2 if a["bias"] else 1))


def _batch_norm_rule(n: int) -> Any:
    ranks = (2, 3) if n == 1 else (n + 2,)
    layout = "(N, C) or (N, C, L)" if n == 1 else f"(N, C, {', '.join(_AXES[n])})"

    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        x = xs[0]
        ctx.rank(x, ranks, layout)
        nf, batch_stats = a["num_features"], not a["track_running_stats"]
        if a["affine"]:
            _affine_needs_features(ctx, nf)
        if a["eps"] < 0 or (batch_stats and a["eps"] <= 0):
            need = "positive" if batch_stats else "non-negative"
            ctx.fail("args", f"eps must be {need} here, got {a['eps']}", param="eps")
        if batch_stats:
            _more_than_one(ctx, [x[0], *x[2:]], "value per channel (N * spatial size)",
                           "with track_running_stats=False, BatchNorm uses batch statistics even in eval "
                           "mode: use a batch of 2 or more, or a larger input")
        if (a["affine"] or a["track_running_stats"]) and not is_empty(ctx, x):
            _features_match(ctx, x[1], nf, "num_features")
        return x

    rule.__doc__ = f"BatchNorm{n}d: {layout} -> same"
    return rule


def _instance_norm_rule(n: int) -> Any:
    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        x = xs[0]
        axes = ", ".join(_AXES[n])
        ctx.rank(x, (n + 1, n + 2), f"(C, {axes}) or (N, C, {axes})")
        batched = len(x) == n + 2
        c, batch, spatial = x[-n - 1], (x[0] if batched else 1), x[-n:]
        nf = a["num_features"]
        if a["affine"]:
            _features_match(ctx, c, nf, "num_features")
        if not a["track_running_stats"]:
            _more_than_one(ctx, spatial, "spatial element",
                           "InstanceNorm normalises each channel over its spatial dims: make them larger")
        if a["affine"]:
            _affine_needs_features(ctx, nf)
            if is_zero(batch):
                ctx.fail("empty", "an empty batch (N=0) fails in torch when affine=True")
            if _may_be_zero(batch):
                ctx.require(ge(batch, 1), "empty", f"the batch {fmt(batch)} may be 0, which fails in torch when "
                            "affine=True", hint="use a batch of 1 or more", show=batch)
        elif a["track_running_stats"] and not is_empty(ctx, x):
            _features_match(ctx, c, nf, "num_features")
        return x

    rule.__doc__ = f"InstanceNorm{n}d: (C, *spatial) or (N, C, *spatial) -> same"
    return rule


def _instance_auto(n: int) -> Any:
    return channels(1, n + 2)


for _n in (1, 2, 3):
    op(f"BatchNorm{_n}d", *_norm_params(True, True), param_count=_affine_count)(_batch_norm_rule(_n))
    _params = _norm_params(False, False)
    _params = (Param("num_features", int_t(0), auto=_instance_auto(_n)), *_params[1:])
    op(f"InstanceNorm{_n}d", *_params, param_count=_affine_count)(_instance_norm_rule(_n))


# --------------------------------------------------------------------------- GroupNorm


def _group_count(a: dict[str, Any]) -> Dim:
    return norm(2 * a["num_channels"]) if a["affine"] else 0


def group_norm_non_empty(ctx: RuleCtx, x: Shape) -> None:
    """torch's native_group_norm: C > 0 and HxW > 0 (only the batch may be empty)."""
    non_empty(ctx, [x[1]], "channel dim", "group normalisation needs at least one channel")
    non_empty(ctx, x[2:], "spatial dim", "group normalisation needs every spatial dim >= 1 (only the batch may be 0)")


@op(
    "GroupNorm",
    Param("num_groups", int_t(1)),
    Param("num_channels", int_t(0), auto=channels(1)),
    Param("eps", _FLOAT, 1e-5),
    Param("affine", bool_t, True),
    param_count=_group_count,
)
def group_norm(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(N, C, *) -> same; C divisible by num_groups."""
    x = xs[0]
    ctx.rank(x, range(2, 64), "(N, C, *)")
    g, nc = a["num_groups"], a["num_channels"]
    if isinstance(nc, int) and nc % g:
        ctx.fail("groups", f"num_channels={nc} must be divisible by num_groups={g}",
                 hint="choose num_groups dividing num_channels", param="num_groups")
    c = x[1]
    group_norm_non_empty(ctx, x)
    ctx.require(dvd(c, g), "groups", f"the input's {fmt(c)} channels are not divisible by num_groups={g}",
                hint=f"use a channel count that is a multiple of {g}", show=c)
    if a["affine"]:
        _features_match(ctx, c, nc, "num_channels")
    # F.group_norm checks N * (C // G) * prod(spatial) != 1 (with C % G == 0, C // G is exact)
    _more_than_one(ctx, [x[0], floordiv(c, g), *x[2:]], "value per group (N * C/num_groups * spatial size)",
                   "GroupNorm needs more than one value per group: use fewer groups or a larger input")
    return x


# --------------------------------------------------------------------------- LayerNorm / RMSNorm


def _shape_t(v: Any) -> tuple[Any, ...]:
    out: tuple[Any, ...] = dims_t()(v)
    if not out:
        raise ArgError("normalized_shape must have at least one dim")
    return out


_shape_t.__name__ = "size or list of sizes"
with_schema(_shape_t, {"anyOf": [schema_of(dim_t()), {"type": "array", "items": schema_of(dim_t()),
                                                     "minItems": 1, "maxItems": 64}]})


def _trailing(ctx: RuleCtx, x: Shape, shape: Sequence[Dim]) -> None:
    k = len(shape)
    want = "(*, " + ", ".join(fmt(d) for d in shape) + ")"
    ctx.rank(x, range(k, 64), want)
    for i, (d, s) in enumerate(zip(x[-k:], shape, strict=True)):
        ctx.require(eq(d, s), "normalized-shape",
                    f"normalized_shape={list(map(fmt, shape))} expects an input {want}, but dim {len(x) - k + i} "
                    f"is {fmt(d)}", hint="set normalized_shape to the input's trailing dims (or auto)", show=d,
                    param="normalized_shape")


@op(
    "LayerNorm",
    Param("normalized_shape", _shape_t, auto=lambda xs: (last_dim(xs),)),
    Param("eps", _FLOAT, 1e-5),
    Param("elementwise_affine", bool_t, True),
    Param("bias", bool_t, True),
    param_count=lambda a: norm(prod(a["normalized_shape"]) * (2 if a["bias"] else 1)) if a["elementwise_affine"] else 0,
)
def layer_norm(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(*, normalized_shape) -> same"""
    _trailing(ctx, xs[0], a["normalized_shape"])
    return xs[0]


@op(
    "RMSNorm",
    Param("normalized_shape", _shape_t, auto=lambda xs: (last_dim(xs),)),
    Param("eps", opt_t(_FLOAT), None),
    Param("elementwise_affine", bool_t, True),
    param_count=lambda a: prod(a["normalized_shape"]) if a["elementwise_affine"] else 0,
)
def rms_norm(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(*, normalized_shape) -> same"""
    _trailing(ctx, xs[0], a["normalized_shape"])
    return xs[0]


# --------------------------------------------------------------------------- local response norms


@op(
    "LocalResponseNorm",
    Param("size", int_t(None)),
    Param("alpha", _FLOAT, 1e-4),
    Param("beta", _FLOAT, 0.75),
    Param("k", _FLOAT, 1.0),
)
def local_response_norm(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(N, C, *) with at least one more dim -> same"""
    x = xs[0]
    ctx.rank(x, range(3, 64), "(N, C, *), 3-D or more")
    if a["size"] < 1 and not is_empty(ctx, x):
        ctx.fail("args", f"size={a['size']} must be >= 1 (torch averages over a window of that size)",
                 param="size")
    return x


@op(
    "CrossMapLRN2d",
    Param("size", int_t(1)),
    Param("alpha", _FLOAT, 1e-4),
    Param("beta", _FLOAT, 0.75),
    Param("k", _FLOAT, 1),
)
def cross_map_lrn2d(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(N, C, H, W) -> same, C >= 1"""
    x = xs[0]
    ctx.rank(x, (4,), "(N, C, H, W)")
    ctx.require(ge(x[1], 1), "empty", "needs at least one channel, but the input has 0", show=x[1])
    return x

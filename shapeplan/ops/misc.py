"""Identity, dropout (modules and functions), Embedding and ChannelShuffle.

Dropout keeps the shape.  Modules are checked in eval mode, where only Dropout1d looks at
the input (2-D or 3-D).  The functions take ``training`` (True by default for dropout,
dropout1d/2d/3d): when training with 0 < p < 1 on a non-empty input, the channel-wise ones
(dropout2d, feature_alpha_dropout; dropout3d after adding a batch dim to a non-5-D input)
need at least 2 dims.

Embedding: an index tensor of any shape -> shape + (embedding_dim,).  Index values are data,
not shapes: shapeplan cannot check them, except that num_embeddings=0 admits no index at all.
"""

from __future__ import annotations

from typing import Any

from ..core.conditions import dvd
from ..core.dims import Dim, Shape, fmt, norm
from .ctx import ArgError, RuleCtx
from .params import bool_t, float_t, int_t, opt_t, with_schema
from .registry import Param, op

_FLOAT = float_t()


def _is_zero(d: Dim) -> bool:
    return isinstance(d, int) and d == 0


def _empty(x: Shape) -> bool:
    """A literal 0 among the sizes (symbolic sizes are positive)."""
    return any(_is_zero(d) for d in x)


# --------------------------------------------------------------------------- Identity


@op("Identity")
def identity(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(*) -> (*)"""
    return xs[0]


# --------------------------------------------------------------------------- dropout


def _prob(v: Any) -> float:
    f: float = _FLOAT(v)
    if not 0.0 <= f <= 1.0:
        raise ArgError(f"dropout probability has to be between 0 and 1, got {v}")
    return f


_prob.__name__ = "probability in [0, 1]"
with_schema(_prob, {"type": "number", "minimum": 0, "maximum": 1})
_P = Param("p", _prob, 0.5)
_INPLACE = Param("inplace", bool_t, False)


def _dropout_rule(kind: str, functional: bool) -> Any:
    """kind: "plain" (dropout, alpha_dropout), "1d", "2d", "3d", "feature" (feature_alpha_dropout)."""

    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        x = xs[0]
        if kind == "1d":
            ctx.rank(x, (2, 3), "(C, L) or (N, C, L)")
        training = functional and a["training"]
        if training and 0 < a["p"] < 1 and kind in ("2d", "3d", "feature") and not _empty(x):
            rank = len(x) + (1 if kind == "3d" and len(x) != 5 else 0)
            if rank < 2:
                ctx.fail("rank", f"channel-wise dropout in training needs an input of 2 or more dims, got {len(x)}-D",
                         hint="use dropout, or training=False")
        return x

    rule.__doc__ = "(*) -> (*)" + (" with (C, L) or (N, C, L)" if kind == "1d" else "")
    return rule


for _name, _kind in (("Dropout", "plain"), ("Dropout1d", "1d"), ("Dropout2d", "2d"), ("Dropout3d", "3d"),
                     ("AlphaDropout", "plain"), ("FeatureAlphaDropout", "feature")):
    op(_name, _P, _INPLACE)(_dropout_rule(_kind, functional=False))

for _name, _kind, _train in (("dropout", "plain", True), ("dropout1d", "1d", True), ("dropout2d", "2d", True),
                             ("dropout3d", "3d", True), ("alpha_dropout", "plain", False),
                             ("feature_alpha_dropout", "feature", False)):
    op(_name, _P, Param("training", bool_t, _train), _INPLACE, torch_name=f"F.{_name}")(
        _dropout_rule(_kind, functional=True))


# --------------------------------------------------------------------------- Embedding


def _check_padding_idx(ctx: RuleCtx, idx: int | None, n: int) -> None:
    if idx is None:
        return
    if not -n <= idx < n:  # the constructor zeroes row padding_idx (so n=0 admits none)
        ctx.fail("args", f"padding_idx={idx} must be within num_embeddings={n} (from -{n} to {n - 1})",
                 param="padding_idx")


def _no_index_fits(ctx: RuleCtx, x: Shape, n: int) -> None:
    if n == 0 and not _empty(x):
        ctx.fail("args", "num_embeddings=0 admits no index, but the input is not empty",
                 hint="use num_embeddings >= 1", param="num_embeddings")


@op(
    "Embedding",
    Param("num_embeddings", int_t(0)),
    Param("embedding_dim", int_t(0), solvable=True),
    Param("padding_idx", opt_t(int_t(None)), None),
    Param("max_norm", opt_t(_FLOAT), None),
    Param("norm_type", _FLOAT, 2.0),
    Param("scale_grad_by_freq", bool_t, False),
    Param("sparse", bool_t, False),
    param_count=lambda a: norm(a["num_embeddings"] * a["embedding_dim"]),
)
def embedding(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(*) integer indices -> (*, embedding_dim)"""
    _check_padding_idx(ctx, a["padding_idx"], a["num_embeddings"])
    _no_index_fits(ctx, xs[0], a["num_embeddings"])
    return (*xs[0], a["embedding_dim"])


# --------------------------------------------------------------------------- ChannelShuffle


def _channel_shuffle(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(N, C, *) -> same, with C divisible by groups"""
    x, g = xs[0], a["groups"]
    ctx.rank(x, range(3, 64), "(N, C, *), 3-D or more")
    if g <= 0:
        ctx.fail("args", f"groups must be positive, got {g}", param="groups")
    ctx.require(dvd(x[1], g), "groups", f"the input's {fmt(x[1])} channels are not divisible by groups={g}",
                hint=f"use a channel count that is a multiple of {g}", show=x[1])
    return x


op("ChannelShuffle", Param("groups", int_t(None)))(_channel_shuffle)
op("channel_shuffle", Param("groups", int_t(None)), torch_name="F.channel_shuffle")(_channel_shuffle)


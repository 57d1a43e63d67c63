"""Functional forms whose weights are tensor inputs: F.layer_norm, F.group_norm, F.batch_norm,
F.normalize, F.linear, F.rms_norm, F.prelu, F.embedding (and F.one_hot).  The optional tensors
are extra inputs, in torch's order (``from: [x, weight, bias]``; batch_norm:
``[x, running_mean, running_var, weight, bias]``);
emitted code passes them by keyword.  A bias without a weight cannot be written this way.

What torch checks (CPU, eval or training as the ``training`` argument says):

- layer_norm: normalized_shape non-empty and equal to the input's trailing dims; weight and
  bias, when given, of exactly that shape.
- group_norm: rank >= 2, C >= 1 and every spatial dim >= 1 (only the batch may be empty),
  num_groups >= 1 dividing C, weight and bias 1-D of size C, and
  ``N*C//num_groups * prod(spatial) != 1`` (checked even in eval mode).
- batch_norm: ``eps >= 0`` (``> 0`` when training), when training more than one value per
  channel (``N * prod(spatial) != 1``).  An empty input (a literal 0 among its sizes, any
  rank) is returned early as ``input * weight[0] + bias[0]`` (so weight/bias need a non-empty
  first dim, and the rest of their shape broadcasts); otherwise the input is at least 2-D,
  running_mean and running_var are 1-D of size C and weight / bias have C elements (any
  shape).
- normalize: ``dim`` (an int or a list of distinct dims) in range; with ``p < 0`` or
  ``p = inf`` an empty input needs every reduced dim non-empty (no identity for the norm).
- linear: input and weight at least 1-D, weight at most 2-D.  With a bias, torch takes one
  of three paths, and the shape rule is that path's: a 2-D input is ``addmm(bias, x, w.t())``
  (the bias expands to the output); a bias with one dim that is not 1 ("fusable") flattens
  the input to 2-D and does the same; any other bias is added in place to ``x @ w.t()``
  (it broadcasts to the output without growing it).  The input is taken to be contiguous
  (torch takes the in-place path for a non-contiguous one; both give the same shape for the
  usual bias ``(out_features,)``).
- rms_norm: as layer_norm, with a weight only.  prelu: weight 0-D or 1-D of 1 or C elements
  (C: input dim 1, or 1 for an input of fewer than 2 dims).  embedding: a 2-D weight; output
  (*input, embedding_dim); a non-zero padding_idx within [-num_embeddings, num_embeddings).
  one_hot(tensor, num_classes): (*, num_classes); num_classes=-1 (inferred from the values)
  is data; an empty tensor needs num_classes > 0.  Index and class values are data: only "no
  index fits" (num_embeddings or num_classes 0 for a non-empty tensor) is an error here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..core.conditions import dvd, eq
from ..core.dims import Dim, Shape, floordiv, fmt, fmt_shape, norm, prod
from .ctx import ArgError, RuleCtx
from .merge import broadcast_shapes, matmul, same
from .norm import _more_than_one, _shape_t, _trailing, group_norm_non_empty, is_zero
from .params import bool_t, float_t, int_list_t, int_t, opt_t, schema_of, with_schema
from .registry import Param, norm_dim, op
from .tensor import expand_shape, need

_FLOAT = float_t()
_INT = int_t(None)


def _empty(x: Shape) -> bool:
    return any(is_zero(d) for d in x)


def _match(ctx: RuleCtx, got: Dim, want: Dim, code: str, message: str, param: str | None = None) -> None:
    if not same(got, want):
        ctx.require(eq(got, want), code, message, show=got, param=param)


def _optional(xs: Sequence[Shape], i: int) -> Shape | None:
    return xs[i] if len(xs) > i else None


# --------------------------------------------------------------------------- layer_norm


@op("layer_norm", Param("normalized_shape", _shape_t), Param("eps", _FLOAT, 1e-5), n_inputs=(1, 3),
    torch_name="F.layer_norm", input_names=("input", "weight", "bias"))
def layer_norm(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """F.layer_norm(input, normalized_shape, weight=None, bias=None, eps): (*, normalized_shape) -> same"""
    shape = a["normalized_shape"]
    for name, t in (("weight", _optional(xs, 1)), ("bias", _optional(xs, 2))):
        if t is None:
            continue
        want = f"normalized_shape {fmt_shape(shape)}"
        if len(t) != len(shape):
            ctx.fail("weight-shape", f"expects {name} of shape {want}, got {fmt_shape(t)}")
        for d, s in zip(t, shape, strict=True):
            _match(ctx, d, s, "weight-shape", f"expects {name} of shape {want}, got {fmt_shape(t)}")
    _trailing(ctx, xs[0], shape)
    return xs[0]


# --------------------------------------------------------------------------- group_norm


def _vector_of(ctx: RuleCtx, t: Shape, c: Dim, name: str, what: str) -> None:
    """``t`` is 1-D of size ``c``."""
    if len(t) != 1:
        ctx.fail("weight-shape", f"expects {name} to be 1-D of size {fmt(c)} ({what}), got {fmt_shape(t)}")
    _match(ctx, t[0], c, "weight-shape", f"expects {name} of size {fmt(c)} ({what}), got {fmt_shape(t)}")


@op("group_norm", Param("num_groups", _INT), Param("eps", _FLOAT, 1e-5), n_inputs=(1, 3),
    torch_name="F.group_norm", input_names=("input", "weight", "bias"))
def group_norm(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """F.group_norm(input, num_groups, weight=None, bias=None, eps): (N, C, *) -> same"""
    x, g = xs[0], a["num_groups"]
    ctx.rank(x, range(2, 64), "(N, C, *)")
    if g <= 0:
        ctx.fail("groups", f"num_groups must be positive, got {g}", param="num_groups")
    c = x[1]
    _more_than_one(ctx, [x[0], floordiv(c, g), *x[2:]], "value per group (N * C/num_groups * spatial size)",
                   "group_norm needs more than one value per group: use fewer groups or a larger input")
    group_norm_non_empty(ctx, x)
    ctx.require(dvd(c, g), "groups", f"the input's {fmt(c)} channels are not divisible by num_groups={g}",
                hint=f"use a channel count that is a multiple of {g}", show=c)
    for name, t in (("weight", _optional(xs, 1)), ("bias", _optional(xs, 2))):
        if t is not None:
            _vector_of(ctx, t, c, name, "the channel count")
    return x


# --------------------------------------------------------------------------- batch_norm


_BN_INPUTS = ("input", "running_mean", "running_var", "weight", "bias")


def _absent_t(v: Any) -> tuple[str, ...]:
    if not isinstance(v, (list, tuple)) or any(n not in _BN_INPUTS[1:3] for n in v) or len(set(v)) != len(v):
        raise ArgError(f"expected a list of running_mean / running_var, got {v!r}"[:80])
    return tuple(v)


_absent_t.__name__ = "list of running_mean / running_var"
with_schema(_absent_t, {"type": "array", "items": {"enum": list(_BN_INPUTS[1:3])}, "uniqueItems": True})


@op("batch_norm", Param("training", bool_t, False), Param("momentum", _FLOAT, 0.1),
    Param("eps", _FLOAT, 1e-5), Param("absent", _absent_t, ()), n_inputs=(1, 5), torch_name="F.batch_norm",
    input_names=_BN_INPUTS, positional_inputs=3)
def batch_norm(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """F.batch_norm(input, running_mean, running_var, weight=None, bias=None, training, momentum, eps);
    ``absent`` names the running stats passed as None (torch: both or neither, and only when
    training).  The inputs are the given ones, in torch's order."""
    absent = a["absent"]
    if len(absent) == 1:
        ctx.fail("args", "running_mean and running_var must either both be None or neither be None", param="absent")
    if absent and not a["training"]:
        ctx.fail("args", "running_mean must be defined in evaluation mode", param="absent",
                 hint="pass training=True, or the running stats")
    if not 3 - len(absent) <= len(xs) <= 5 - len(absent):
        ctx.fail("args", f"batch_norm takes the input, {'weight and bias' if absent else 'running_mean, running_var'}"
                         f"{'' if absent else ' and optionally weight and bias'}, got {len(xs)} tensors")
    if absent:  # the same checks, with the running stats as None: weight and bias shift down
        xs = [xs[0], (), (), *xs[1:]]
    x, training, eps = xs[0], a["training"], a["eps"]
    if training:  # torch checks the batch first (a 0-d input has none)
        ctx.rank(x, range(1, 64), "(N, C, *)")
        _more_than_one(ctx, [x[0], *x[2:]], "value per channel when training (N * spatial size)",
                       "use a batch of 2 or more, or a larger input")
    if eps < 0 or (training and eps <= 0):
        ctx.fail("args", f"eps must be {'positive when training' if training else 'non-negative'}, got {eps}",
                 param="eps")
    weight, bias = _optional(xs, 3), _optional(xs, 4)
    if _empty(x):  # torch returns input * weight[0] + bias[0] at once, at any rank
        out = x
        for name, t in (("weight", weight), ("bias", bias)):
            if t is None:
                continue
            if not t or is_zero(t[0]):
                ctx.fail("weight-shape", f"an empty input is scaled by {name}[0], but {name} is {fmt_shape(t)}")
            out = broadcast_shapes(ctx, [out, t[1:]], f"the empty input and {name}[0]")
        return out
    ctx.rank(x, range(2, 64), "(N, C, *)")
    c = x[1]
    for name, t in (("running_mean", xs[1]), ("running_var", xs[2])):
        if not absent:
            _vector_of(ctx, t, c, name, "the channel count")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None:
            _match(ctx, prod(t), c, "weight-shape",
                   f"expects {name} to hold {fmt(c)} elements (the channel count), got {fmt_shape(t)}")
    return x


# --------------------------------------------------------------------------- normalize


def _p_t(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
        raise ArgError(f"expected a number, got {v!r}"[:80])
    return float(v)


_p_t.__name__ = "number (inf allowed)"
with_schema(_p_t, {"type": "number"})


def _dim_t(v: Any) -> int | tuple[int, ...]:
    if isinstance(v, (list, tuple)):
        out: tuple[int, ...] = int_list_t()(v)
        return out
    n: int = _INT(v)
    return n


_dim_t.__name__ = "int or list of ints"
with_schema(_dim_t, {"anyOf": [schema_of(_INT), schema_of(int_list_t())]})


@op("normalize", Param("p", _p_t, 2.0), Param("dim", _dim_t, 1), Param("eps", _FLOAT, 1e-12),
    torch_name="F.normalize")
def normalize(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """F.normalize(input, p=2.0, dim=1, eps=1e-12): (*) -> (*), divided by the p-norm over dim."""
    x, dim, p = xs[0], a["dim"], a["p"]
    dims = (dim,) if isinstance(dim, int) else dim
    wrapped = [norm_dim(d, len(x), ctx) for d in dims]
    if len(set(wrapped)) != len(wrapped):
        ctx.fail("dim", f"dim={dim} names a dim twice", param="dim")
    if (p < 0 or p == math.inf) and _empty(x):
        if not wrapped or any(is_zero(x[d]) for d in wrapped):
            ctx.fail("empty", f"cannot take the {p} norm over an empty dim (it has no identity)",
                     hint="use p >= 0, or a non-empty input", param="p")
    return x


# --------------------------------------------------------------------------- linear


def _addmm(ctx: RuleCtx, bias: Shape, m1: Shape, m2: Shape) -> Shape:
    """torch.addmm(bias, m1, m2) with a 2-D ``m1``: the bias expands to the product's shape."""
    if len(m2) != 2:
        ctx.fail("rank", f"multiplies by the weight as a matrix here (a bias is given), but the weight is "
                         f"{len(m2)}-D", hint="use a 2-D weight (out_features, in_features)")
    _match(ctx, m1[1], m2[0], "in-features",
           f"cannot multiply the input {fmt_shape(m1)} by the weight: {fmt(m1[1])} input features, "
           f"weight expects {fmt(m2[0])}")
    out = (m1[0], m2[1])
    expand_shape(ctx, bias, out)
    return out


def _fusable(ctx: RuleCtx, bias: Shape) -> bool:
    """torch's ``bias.dim() == 1 or bias.squeeze().dim() == 1`` (a symbolic size that may be 1
    is a case of its own)."""
    if len(bias) == 1:
        return True
    return sum(1 for d in bias if not ctx.decide(eq(d, 1), prefer=False)) == 1


def _add_in_place(ctx: RuleCtx, out: Shape, bias: Shape) -> None:
    """``out.add_(bias)``: the bias broadcasts to ``out`` without growing it."""
    if len(bias) > len(out):
        ctx.fail("bias-shape", f"cannot add the bias {fmt_shape(bias)} to the output {fmt_shape(out)} in place")
    for b, o in zip(bias, out[len(out) - len(bias):], strict=True):
        if not ctx.decide(eq(b, 1), prefer=False):
            _match(ctx, b, o, "bias-shape", f"cannot add the bias {fmt_shape(bias)} to the output {fmt_shape(out)}")


@op("linear", n_inputs=(2, 3), torch_name="F.linear", input_names=("input", "weight", "bias"))
def linear(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """F.linear(input, weight, bias=None): (*, in) with weight (out, in) -> (*, out)"""
    x, w, bias = xs[0], xs[1], _optional(xs, 2)
    if not x or not w:
        ctx.fail("rank", f"needs input and weight at least 1-D, got {fmt_shape(x)} and {fmt_shape(w)}")
    if len(w) > 2:
        ctx.fail("rank", f"needs a 1-D or 2-D weight, got {fmt_shape(w)}")
    wt = (w[1], w[0]) if len(w) == 2 else w
    if bias is not None and len(x) == 2:
        return _addmm(ctx, bias, x, wt)
    if bias is not None and _fusable(ctx, bias):
        _, cols = _addmm(ctx, bias, (prod(x[:-1]), x[-1]), wt)
        return (*x[:-1], cols)
    out = matmul(ctx, [x, wt], {})
    if bias is not None:
        _add_in_place(ctx, out, bias)
    return tuple(norm(d) for d in out)


# --------------------------------------------------------------------------- rms_norm, prelu, embedding, one_hot


@op("rms_norm", Param("normalized_shape", _shape_t), Param("eps", opt_t(_FLOAT), None), n_inputs=(1, 2),
    torch_name="F.rms_norm", input_names=("input", "weight"))
def rms_norm(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """F.rms_norm(input, normalized_shape, weight=None, eps=None): (*, normalized_shape) -> same"""
    return layer_norm(ctx, xs, a)


@op("prelu", n_inputs=(2, 2), torch_name="F.prelu")
def prelu(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """F.prelu(input, weight): (*) -> (*); weight 0-D or 1-D, of 1 or C (input dim 1) elements."""
    x, w = xs
    if len(w) > 1:
        ctx.fail("weight-shape", f"expects a 0-D or 1-D weight, got {fmt_shape(w)}")
    n = w[0] if w else 1
    c = x[1] if len(x) >= 2 else 1
    if not (same(n, c) or ctx.decide(eq(n, c), prefer=True) or ctx.decide(eq(n, 1), prefer=False)):
        _match(ctx, n, c, "weight-shape", f"has {fmt(n)} weights for {fmt(c)} channels (expected 1 or {fmt(c)})")
    return x


@op("embedding", Param("padding_idx", opt_t(_INT), None), Param("max_norm", opt_t(_FLOAT), None),
    Param("norm_type", _FLOAT, 2.0), Param("scale_grad_by_freq", bool_t, False), Param("sparse", bool_t, False),
    n_inputs=(2, 2), torch_name="F.embedding")
def embedding(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """F.embedding(input, weight): (*) indices into a (num_embeddings, dim) weight -> (*, dim)"""
    x, w = xs
    if len(w) != 2:
        ctx.fail("weight-shape", f"expects a 2-D weight (num_embeddings, embedding_dim), got {fmt_shape(w)}")
    idx = a["padding_idx"]
    if idx:  # F.embedding checks a non-zero padding_idx only
        n = w[0]
        msg = f"padding_idx={idx} must be within num_embeddings={fmt(n)} (from -{fmt(n)} to {fmt(n)} - 1)"
        if isinstance(n, int) and not -n <= idx < n:
            ctx.fail("args", msg, param="padding_idx")
        if idx > 0:
            need(ctx, norm(n - 1), idx, "args", msg, show=n, param="padding_idx")
        else:
            need(ctx, norm(n + idx), 0, "args", msg, show=n, param="padding_idx")
    if not _empty(x):
        _index_fits(ctx, w[0], "num_embeddings")
    return (*x, w[1])


def _index_fits(ctx: RuleCtx, n: Dim, what: str) -> None:
    """A non-empty index tensor needs at least one valid index (the values are data)."""
    if isinstance(n, int):
        if n <= 0:
            ctx.fail("index", f"{what}={n} admits no index, but the index tensor is not empty")
        return
    need(ctx, n, 1, "index", f"{what}={fmt(n)} must be >= 1 for a non-empty index tensor", show=n)


@op("one_hot", Param("num_classes", _INT, -1), torch_name="F.one_hot")
def one_hot(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """F.one_hot(tensor, num_classes): (*) -> (*, num_classes)"""
    x, n = xs[0], a["num_classes"]
    if _empty(x):
        if n <= 0:
            ctx.fail("one-hot", "cannot infer the number of classes from an empty tensor", param="num_classes")
    elif n == -1:
        ctx.fail("data-dependent", "num_classes=-1 takes the largest class value + 1, which is data",
                 hint="give num_classes", param="num_classes")
    else:
        _index_fits(ctx, n, "num_classes")
    return (*x, n)

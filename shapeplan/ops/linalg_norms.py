"""Norms: torch.norm, torch.linalg.vector_norm, torch.linalg.matrix_norm and torch.linalg.norm
(torch 2.14, as ``torch/functional.py`` and ``torch/_refs/linalg`` route them).

- ``vector_norm(x, ord=2, dim=None, keepdim=False)``: ord a number (inf too); the dims reduced
  (None: all).  Orders without an identity (negative, inf) need every reduced dim non-empty.
- ``matrix_norm(A, ord='fro', dim=(-2, -1), keepdim=False)``: A at least 2-D, two different
  dims; ord 'fro', 'nuc' or +-1, +-2, +-inf.  The negative orders take a minimum: -2 over the
  singular values (both dims non-empty), -1 / -inf over the dim summed last (dim[1] for -1,
  dim[0] for -inf: non-empty).  The two dims reduced.
- ``linalg.norm(A, ord=None, dim=None, keepdim=False)``: dim of 1 or 2 dims; with ord and no
  dim, A is 1-D or 2-D.  A matrix norm where ord is given and the dims are two (or A is 2-D
  with no dim), else the vector norm of ord (2 where None).
- ``torch.norm(input, p='fro', dim=None, keepdim=False)``: 'fro' over at most 2 dims (or all)
  and None are the vector 2-norm, a number the vector p-norm; another string (``'nuc'``, or
  'fro' over 3 dims and more) the matrix norm over dim (all dims where None).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..core.dims import Shape
from .ctx import ArgError, RuleCtx
from .params import opt_t, with_schema
from .reduce import _KEEPDIM, _dims_t, _require_nonempty, reduce_shape, reduced
from .registry import Param, norm_dim, op


def _order_t(v: Any) -> float | str:
    """A norm's order: a number (inf too) or a string ('fro', 'nuc': torch checks the rest)."""
    if isinstance(v, str):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if v != v:
            raise ArgError("the norm's order must not be nan")
        return float(v)
    raise ArgError(f"expected a number, 'fro' or 'nuc', got {v!r}"[:80])


_order_t.__name__ = "norm order"
with_schema(_order_t, {"anyOf": [{"type": "number"}, {"type": "string"}]})


def vector_norm_shape(ctx: RuleCtx, x: Shape, order: float | str, dim: Any, keepdim: bool) -> Shape:
    if isinstance(order, str):
        ctx.fail("bad-argument", f"linalg.vector_norm takes a number as its order, got {order!r}", param="ord")
    dims = reduced(ctx, x, dim)
    if order < 0 or order == math.inf:  # no identity: every reduced dim non-empty
        _require_nonempty(ctx, x, dims, f"the {order:g} norm")
    return reduce_shape(x, dims, keepdim)


def matrix_norm_shape(ctx: RuleCtx, x: Shape, order: float | str, dim: Any, keepdim: bool) -> Shape:
    if len(x) < 2:
        ctx.fail("rank", f"linalg.matrix_norm needs a matrix (at least 2 dims), got {len(x)}-D", param="dim")
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    wrapped = [norm_dim(d, len(x), ctx) for d in dims]
    if len(wrapped) != 2:
        ctx.fail("dim", f"linalg.matrix_norm takes two dims, got dim={dim}", param="dim")
    if wrapped[0] == wrapped[1]:
        ctx.fail("dim", f"linalg.matrix_norm needs two different dims, got dim={dim}", param="dim")
    if isinstance(order, str):
        if order not in ("fro", "nuc"):
            ctx.fail("bad-argument", f"linalg.matrix_norm does not support the order {order!r}", param="ord")
    elif abs(order) not in (1.0, 2.0, math.inf):
        ctx.fail("bad-argument", f"linalg.matrix_norm does not support the order {order:g}", param="ord")
    elif order == -2:
        _require_nonempty(ctx, x, wrapped, "the -2 matrix norm")
    elif order < 0:  # the minimum, over the dim that is summed last
        _require_nonempty(ctx, x, [wrapped[1] if order == -1 else wrapped[0]], f"the {order:g} matrix norm")
    return reduce_shape(x, wrapped, keepdim)


_DIM = Param("dim", opt_t(_dims_t), None)


@op("vector_norm", Param("ord", _order_t, 2.0), _DIM, _KEEPDIM, torch_name="torch.linalg.vector_norm")
def vector_norm(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.linalg.vector_norm(x, ord=2, dim=None, keepdim=False): dims reduced."""
    return vector_norm_shape(ctx, xs[0], a["ord"], a["dim"], a["keepdim"])


@op("matrix_norm", Param("ord", _order_t, "fro"), Param("dim", _dims_t, (-2, -1)), _KEEPDIM,
    torch_name="torch.linalg.matrix_norm")
def matrix_norm(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.linalg.matrix_norm(A, ord='fro', dim=(-2, -1), keepdim=False): two dims reduced."""
    return matrix_norm_shape(ctx, xs[0], a["ord"], a["dim"], a["keepdim"])


@op("linalg_norm", Param("ord", opt_t(_order_t), None), _DIM, _KEEPDIM, torch_name="torch.linalg.norm")
def linalg_norm(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.linalg.norm(A, ord=None, dim=None, keepdim=False): a matrix norm over two dims, else a vector norm."""
    x, order, dim = xs[0], a["ord"], a["dim"]
    dims = None if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
    if dims is not None and len(dims) not in (1, 2):
        ctx.fail("dim", f"linalg.norm takes dim of 1 or 2 dims, got dim={dim}", param="dim")
    if dims is None and order is not None and len(x) not in (1, 2):
        ctx.fail("rank", f"linalg.norm with ord and no dim needs a 1-D or 2-D input, got {len(x)}-D", param="ord")
    if order is not None and ((dims is not None and len(dims) == 2) or (dims is None and len(x) == 2)):
        return matrix_norm_shape(ctx, x, order, dims if dims is not None else (0, 1), a["keepdim"])
    return vector_norm_shape(ctx, x, 2.0 if order is None else order, dims, a["keepdim"])


def _torch_norm(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.norm(input, p='fro', dim=None, keepdim=False): the vector norm, or 'nuc' (and 'fro'
    over 3 dims and more) the matrix norm over dim."""
    x, p, dim = xs[0], a["p"], a["dim"]
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, int) or len(dim) <= 2):
            return vector_norm_shape(ctx, x, 2.0, dim, a["keepdim"])
        return matrix_norm_shape(ctx, x, p, tuple(range(len(x))) if dim is None else dim, a["keepdim"])
    return vector_norm_shape(ctx, x, 2.0 if p is None else p, dim, a["keepdim"])


norm: Callable[..., Shape] = op("norm", Param("p", opt_t(_order_t), "fro"), _DIM, _KEEPDIM)(_torch_norm)

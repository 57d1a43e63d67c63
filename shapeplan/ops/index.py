"""Ops that move, repeat, select or order elements: roll, flip, repeat, tile, repeat_interleave,
gather, index_select, take_along_dim, cumsum / cumprod / logcumsumexp, topk, sort, argsort,
argmax / argmin, diagonal, tril / triu, diag_embed, swapaxes (t and movedim are in .reshape).

torch's checks, as its CPU forward makes them (``dim`` arguments wrap as usual; a 0-d tensor
takes dim 0 or -1 where torch treats it as 1-D):

- roll(shifts, dims=None): shifts non-empty; without dims exactly one shift (the flattened
  tensor rolls), else as many shifts as dims; a 0-d tensor takes no dims; the dims must be in
  range, unless the tensor is empty (torch returns it before looking at them).
- flip(dims): no dim twice.  repeat(*sizes): at least one size per dim; the output is the
  input (padded with leading 1s) times the sizes, each product >= 0.  tile(dims): dims padded
  with leading 1s to the input's rank, then repeat.
- repeat_interleave(repeats, dim=None, output_size=None): an int ``repeats >= 0``; without dim
  the flattened tensor repeats; output_size, when given, must be the result; no dim of a 0-d
  tensor.  A tensor of repeats has a data-dependent shape: not modelled.
- gather(dim, index): index of the same rank (a 0-d tensor counts as 1-D), no larger than
  the input in every dim but ``dim``; output: index's shape.  An empty index is not checked.
- index_select(dim, index): index 0-D or 1-D; output: the input with dim of index's size (a
  0-d input takes exactly one index).  take_along_dim(indices, dim=None): without dim, the
  flattened input and indices (output: (indices' numel,)); with dim, the same rank, and the
  input and indices broadcast except at dim, whose size is the indices'.
- Index values are data, not shapes, except that no index fits an empty dim: a non-empty
  index into a dim of size 0 is an error whatever its values.  A symbolic index (or output)
  size that may be 0 is a case of its own.
- topk(k, dim=-1): 0 <= k <= the dim's size (a 0-d tensor: k <= 1); the output's dim is k.
  topk and sort return (values, indices) in torch: the op's output is values (indices
  have the same shape); emitted code indexes ``[0]``.
- argmax / argmin(dim=None, keepdim=False): without dim, a non-empty input, output 0-d (all
  dims 1 with keepdim); with dim, that dim non-empty (but for a 0-d input).
- diagonal(offset=0, dim1=0, dim2=1): two different dims, removed; a last dim of the
  diagonal's length: ``max(min(n1, n2 - offset), 0)`` for offset >= 0,
  ``max(min(n1 + offset, n2), 0)`` otherwise.  tril / triu: at least 2-D.
  diag_embed(offset=0, dim1=-2, dim2=-1): the last dim ``n`` becomes two dims of
  ``n + |offset|`` at dim1 and dim2 (of the output, whose rank is one more).
- t(): at most 2-D.  movedim(source, destination): as many of each, no dim twice in either.
"""

from __future__ import annotations

from typing import Any

from ..core.conditions import eq, ge
from ..core.dims import Dim, Shape, dmax, dmin, fmt, fmt_shape, norm, prod
from .create import _sizes_t
from .ctx import ArgError, RuleCtx
from .merge import broadcast_shapes, same, surely_positive
from .params import SIGNED_SCHEMA, bool_t, dtype_t, int_list_t, int_t, opt_t, signed_size, with_schema
from .registry import PAIR_ITEM, Param, norm_dim, op
from .tensor import need, surely_nonneg

_INT = int_t(None)
_DIMS = opt_t(int_list_t())


def _distinct(ctx: RuleCtx, dims: list[int], given: Any, what: str = "dims") -> None:
    if len(set(dims)) != len(dims):
        ctx.fail("dim", f"names a dim more than once ({what}={tuple(given)})", hint="list each dim once", param=what)


def _signed_list(v: Any) -> tuple[Dim, ...]:
    items = v if isinstance(v, (list, tuple)) else [v]
    if len(items) > 64:
        raise ArgError(f"too many values ({len(items)})")
    return tuple(signed_size(x) for x in items)


_signed_list.__name__ = "integer or list of integers"
with_schema(_signed_list, {"anyOf": [SIGNED_SCHEMA, {"type": "array", "items": SIGNED_SCHEMA, "maxItems": 64}]})


def _maybe_empty(ctx: RuleCtx, shape: Shape) -> bool:
    """Is a size of ``shape`` 0 (a symbolic size that may be 0 is a case of its own)?"""
    return any(not surely_positive(d) and ctx.decide(eq(d, 0), prefer=False) for d in shape)


def nonempty_index(ctx: RuleCtx, index: Shape, n: Dim, what: str) -> None:
    """No index fits an empty dim: a non-empty index needs ``n >= 1``."""
    if surely_positive(n) or _maybe_empty(ctx, index):
        return
    if isinstance(n, int):
        ctx.fail("index", f"indexes {what} of size 0 (every index is out of bounds)", hint="make that dim non-empty")
    ctx.require(ge(n, 1), "index", f"indexes {what} of size {fmt(n)}, which must not be empty (every index would be "
                                   "out of bounds)", hint="make that dim non-empty", show=n)


# --------------------------------------------------------------------------- roll / flip / repeat


@op("roll", Param("shifts", _signed_list), Param("dims", _DIMS, None))
def roll(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.roll(input, shifts, dims=None): the same shape."""
    x, shifts, dims = xs[0], a["shifts"], a["dims"] or ()
    if not shifts:
        ctx.fail("args", "needs at least one shift", param="shifts")
    if len(shifts) != max(len(dims), 1):
        ctx.fail("args", f"shifts and dimensions must align: {len(shifts)} shift(s), {len(dims)} dim(s)",
                 hint="give one shift per dim (one shift alone rolls the flattened tensor)", param="shifts")
    if dims and not x:
        ctx.fail("dim", "cannot roll a dim of a 0-d tensor (it has none)", param="dims")
    if any(isinstance(s, int) and s == 0 for s in x):
        return x  # torch returns an empty tensor before it looks at dims
    for d in dims:
        norm_dim(d, len(x), ctx)
    return x


@op("flip", Param("dims", int_list_t()))
def flip(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.flip(input, dims): the same shape."""
    x = xs[0]
    _distinct(ctx, [norm_dim(d, len(x), ctx) for d in a["dims"]], a["dims"])
    return x


def repeat_shape(ctx: RuleCtx, x: Shape, sizes: tuple[Dim, ...], what: str) -> Shape:
    """x.repeat(*sizes)."""
    if len(sizes) < len(x):
        ctx.fail("repeat", f"got {len(sizes)} repeat sizes for a {len(x)}-D input {fmt_shape(x)}",
                 hint="give at least one size per dim", param=what)
    padded = (1,) * (len(sizes) - len(x)) + tuple(x)
    out = tuple(norm(s * r) for s, r in zip(padded, sizes))
    for i, o in enumerate(out):
        if isinstance(o, int) and o < 0:
            ctx.fail("repeat", f"would make a negative size {o} at dim {i} ({what}={fmt_shape(sizes)})", param=what)
        need(ctx, o, 0, "repeat", f"would make a negative size {fmt(o)} at dim {i}", show=o, param=what)
    return out


@op("repeat", Param("repeats", _sizes_t), torch_name="Tensor.repeat", call_style="method_star")
def repeat(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """x.repeat(*repeats): each dim times its count; extra counts add leading dims."""
    return repeat_shape(ctx, xs[0], a["repeats"], "repeats")


@op("tile", Param("dims", _sizes_t), torch_name="Tensor.tile", call_style="method_star")
def tile(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.tile(input, dims): repeat, with dims padded with leading 1s to the input's rank."""
    x, dims = xs[0], a["dims"]
    return repeat_shape(ctx, x, (1,) * (len(x) - len(dims)) + tuple(dims), "dims")


@op("repeat_interleave", Param("repeats", signed_size), Param("dim", opt_t(_INT), None),
    Param("output_size", opt_t(signed_size), None, kw_only=True))
def repeat_interleave(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.repeat_interleave(input, repeats, dim=None): each element `repeats` times (flattened without dim)."""
    x, r, dim = xs[0], a["repeats"], a["dim"]
    if isinstance(r, int) and r < 0:
        ctx.fail("repeats", "repeats must be non-negative", param="repeats")
    need(ctx, r, 0, "repeats", f"repeats={fmt(r)} must be non-negative", show=r, param="repeats")
    if dim is None:
        out: Shape = (norm(prod(x) * r),)
        d = 0
    else:
        if not x:
            ctx.fail("dim", "takes no dim for a 0-d tensor", hint="leave dim out", param="dim")
        d = norm_dim(dim, len(x), ctx)
        out = (*x[:d], norm(x[d] * r), *x[d + 1:])
    want = a["output_size"]
    if want is not None and not same(want, out[d]):
        ctx.require(eq(want, out[d]), "repeats", f"output_size={fmt(want)} is not the result's size {fmt(out[d])}",
                    show=out[d], param="output_size")
    return out


# --------------------------------------------------------------------------- indexing


@op("gather", Param("dim", _INT), Param("sparse_grad", bool_t, False), n_inputs=(2, 2),
    input_names=("input", "index"), positional_inputs=1)
def gather(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.gather(input, dim, index): index's shape."""
    x, index = xs
    d = norm_dim(a["dim"], len(x), ctx)
    if _maybe_empty(ctx, index):
        return index
    if max(len(index), 1) != max(len(x), 1):
        ctx.fail("rank", f"index {fmt_shape(index)} must have as many dims as the input {fmt_shape(x)}")
    if x and index:
        for i, (s, t) in enumerate(zip(x, index)):
            if i != d and not same(s, t):
                need(ctx, s, t, "gather", f"index {fmt_shape(index)} is larger than the input {fmt_shape(x)} at "
                                          f"dim {i} ({fmt(t)} > {fmt(s)})", show=norm(s - t))
    nonempty_index(ctx, index, x[d] if x else 1, f"dim {d} of the input {fmt_shape(x)}")
    return index


@op("index_select", Param("dim", _INT), n_inputs=(2, 2), input_names=("input", "index"), positional_inputs=1)
def index_select(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.index_select(input, dim, index): dim takes index's (1-D) size."""
    x, index = xs
    if len(index) > 1:
        ctx.fail("rank", f"index must be a vector (0-D or 1-D), got {fmt_shape(index)}")
    d = norm_dim(a["dim"], len(x), ctx)
    n: Dim = index[0] if index else 1
    if not x:
        if not same(n, 1):
            ctx.require(eq(n, 1), "index", f"indexes a 0-d tensor with {fmt(n)} indices (only one fits)", show=n)
        return ()
    nonempty_index(ctx, (n,), x[d], f"dim {d} of the input {fmt_shape(x)}")
    return (*x[:d], n, *x[d + 1:])


@op("take_along_dim", Param("dim", opt_t(_INT), None), n_inputs=(2, 2))
def take_along_dim(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.take_along_dim(input, indices, dim=None): gather with broadcasting (flattened without dim)."""
    x, index = xs
    if a["dim"] is None:
        numel = prod(index)
        nonempty_index(ctx, (numel,), prod(x), f"the flattened input {fmt_shape(x)}")
        return (numel,)
    if not x:
        ctx.fail("dim", "takes no dim for a 0-d input", hint="leave dim out", param="dim")
    d = norm_dim(a["dim"], len(x), ctx)
    if len(index) != len(x):
        ctx.fail("rank", f"input {fmt_shape(x)} and indices {fmt_shape(index)} must have the same number of dims")
    out = broadcast_shapes(ctx, [(*x[:d], index[d], *x[d + 1:]), index], "the input and indices")
    nonempty_index(ctx, out, x[d], f"dim {d} of the input {fmt_shape(x)}")
    return out


# --------------------------------------------------------------------------- along one dim


def _along(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.cumsum(input, dim): the same shape."""
    norm_dim(a["dim"], len(xs[0]), ctx)
    return xs[0]


for _name in ("cumsum", "cumprod"):
    op(_name, Param("dim", _INT), Param("dtype", dtype_t, None, kw_only=True))(_along)
op("logcumsumexp", Param("dim", _INT))(_along)
op("sort", Param("dim", _INT, -1), Param("descending", bool_t, False), Param("stable", opt_t(bool_t), None, kw_only=True),
   output_index=0, paired=True)(_along)
op("argsort", Param("dim", _INT, -1), Param("descending", bool_t, False), Param("stable", bool_t, False))(_along)


@op("topk", Param("k", signed_size), Param("dim", _INT, -1), Param("largest", bool_t, True),
    Param("sorted", bool_t, True), PAIR_ITEM, output_index=0, paired=True)
def topk(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.topk(input, k, dim=-1)[0]: dim keeps k elements."""
    x, k = xs[0], a["k"]
    d = norm_dim(a["dim"], len(x), ctx)
    n: Dim = x[d] if x else 1
    msg = f"k={fmt(k)} is out of range for dim {d} of size {fmt(n)} (expected 0 to {fmt(n)})"
    if isinstance(k, int) and k < 0:
        ctx.fail("topk", msg, param="k")
    need(ctx, k, 0, "topk", msg, show=k, param="k")
    need(ctx, n, k, "topk", msg, hint="take fewer elements", show=norm(n - k), param="k")
    return (*x[:d], k, *x[d + 1:]) if x else ()


def _arg_extreme(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.argmax(input, dim=None, keepdim=False): dim reduced (every dim without dim)."""
    x, dim, keep = xs[0], a["dim"], a["keepdim"]
    if dim is None:
        for i, s in enumerate(x):
            if not surely_positive(s):
                nonempty_index(ctx, (1,), s, f"dim {i} (argmax/argmin of an empty input: give dim)")
        return tuple(1 for _ in x) if keep else ()
    d = norm_dim(dim, len(x), ctx)
    if not x:
        return ()
    if not surely_positive(x[d]):
        nonempty_index(ctx, (1,), x[d], f"the reduced dim {d}")
    return (*x[:d], 1, *x[d + 1:]) if keep else (*x[:d], *x[d + 1:])


for _name in ("argmax", "argmin"):
    op(_name, Param("dim", opt_t(_INT), None), Param("keepdim", bool_t, False))(_arg_extreme)


# --------------------------------------------------------------------------- diagonals


@op("diagonal", Param("offset", _INT, 0), Param("dim1", _INT, 0), Param("dim2", _INT, 1))
def diagonal(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.diagonal(input, offset=0, dim1=0, dim2=1): dim1 and dim2 become a last dim, the diagonal."""
    x, off = xs[0], a["offset"]
    d1, d2 = norm_dim(a["dim1"], len(x), ctx, "dim1"), norm_dim(a["dim2"], len(x), ctx, "dim2")
    if d1 == d2:
        ctx.fail("dim", f"diagonal dimensions cannot be identical ({a['dim1']}, {a['dim2']})", param="dim2")
    n1, n2 = x[d1], x[d2]
    length = dmin(n1, norm(n2 - off)) if off >= 0 else dmin(norm(n1 + off), n2)
    if not surely_nonneg(length):
        length = dmax(length, 0)
    return (*(s for i, s in enumerate(x) if i not in (d1, d2)), length)


def _triangle(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.tril(input, diagonal=0): the same shape, at least 2-D."""
    if len(xs[0]) < 2:
        ctx.fail("rank", f"needs an input of at least 2 dims, got {len(xs[0])}-D {fmt_shape(xs[0])}")
    return xs[0]


for _name in ("tril", "triu"):
    op(_name, Param("diagonal", _INT, 0))(_triangle)


@op("diag_embed", Param("offset", _INT, 0), Param("dim1", _INT, -2), Param("dim2", _INT, -1))
def diag_embed(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.diag_embed(input, offset=0, dim1=-2, dim2=-1): the last dim n becomes two of n + |offset|."""
    x = xs[0]
    r = len(x) + 1
    d1, d2 = norm_dim(a["dim1"], r, ctx, "dim1"), norm_dim(a["dim2"], r, ctx, "dim2")
    if d1 == d2:
        ctx.fail("dim", f"diagonal dimensions cannot be identical ({a['dim1']}, {a['dim2']})", param="dim2")
    if not x:
        ctx.fail("rank", "needs an input of at least 1 dim")
    n = norm(x[-1] + abs(a["offset"]))
    out = list(x[:-1])
    for d in sorted((d1, d2)):
        out.insert(d, n)
    return tuple(out)


# --------------------------------------------------------------------------- dim order


@op("swapaxes", Param("axis0", _INT), Param("axis1", _INT))
def swapaxes(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.swapaxes(input, axis0, axis1): transpose (torch.swapdims is transpose's alias)."""
    x = xs[0]
    d0, d1 = norm_dim(a["axis0"], len(x), ctx, "axis0"), norm_dim(a["axis1"], len(x), ctx, "axis1")
    out = list(x)
    if x:
        out[d0], out[d1] = out[d1], out[d0]
    return tuple(out)


INDEX_OPS: tuple[str, ...] = (
    "roll", "flip", "repeat", "tile", "repeat_interleave", "gather", "index_select", "take_along_dim", "cumsum",
    "cumprod", "logcumsumexp", "sort", "argsort", "topk", "argmax", "argmin", "diagonal", "tril", "triu",
    "diag_embed", "swapaxes")

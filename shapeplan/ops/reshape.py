"""Ops that rearrange dims without computing: Flatten / Unflatten, flatten / unflatten,
reshape / view, permute, transpose, squeeze / unsqueeze, contiguous.

reshape / view (torch's ``infer_size``): at most one ``-1``; without it the product of the
sizes must equal the input's element count; with it the other sizes' product must be
positive and divide the element count, and the ``-1`` dim is the quotient.  Sizes may be
symbolic (``shape: [N, -1]``, ``[N, C*H, W]``).  Common positive factors are cancelled
before the condition is stated (symbols are positive), so ``view (N, C, H, W) -> [N, -1]``
needs nothing and gives ``C*H*W``.  ``view`` also needs memory that the new shape can
describe with strides (torch's ``computeStride``, on the input's layout, :mod:`.layout`):
after a ``permute`` / ``transpose`` it raises in torch ("view size is not compatible with
input tensor's size and stride") except where the sizes allow it (dims of 1), which are
cases of the analysis; ``reshape`` (and flatten) copy where a view does not fit.

squeeze: a dim is removed only when its size is 1, so with a symbolic size the output rank
depends on the input size: the sizes where it is 1 are a case of their own
(:meth:`RuleCtx.decide`), where the dim is dropped (the classic batch-of-one bug:
``x.squeeze()`` also drops ``N`` at ``N == 1``, which ``check`` reports as a warning).
"""

from __future__ import annotations

from typing import Any

from ..core.conditions import eq
from ..core.dims import Dim, Shape, fmt, fmt_shape, prod
from .ask import generic, settle
from .ctx import ArgError, RuleCtx
from .infer_size import infer_shape
from .layout import splits, view_strides, viewed
from .params import Converter, dim_t, int_list_t, int_t, opt_t, schema_of, with_schema
from .registry import Param, norm_dim, op

# --------------------------------------------------------------------------- converters


def _shape_t(what: str, allow_empty: bool = False) -> Converter:
    """A list of sizes (non-empty unless ``allow_empty``: a 0-d shape); -1 and other negative
    ints pass (the rule rejects them as torch does)."""
    one = dim_t(allow_minus_one=True)

    def item(x: Any) -> Any:
        if isinstance(x, int) and not isinstance(x, bool) and -(2**40) <= x < 0:
            return int(x)
        return one(x)

    def conv(v: Any) -> tuple[Any, ...]:
        items = v if isinstance(v, (list, tuple)) else [v]
        if not items and not allow_empty:
            raise ArgError(f"{what} must list at least one size")
        if len(items) > 64:
            raise ArgError(f"too many sizes ({len(items)})")
        return tuple(item(x) for x in items)

    conv.__name__ = "list of sizes (one may be -1)" + ("; [] for a 0-d shape" if allow_empty else "")
    s: dict[str, Any] = {"anyOf": [{"type": "integer", "minimum": -(2**40), "maximum": 2**40}, {"type": "string"}]}
    return with_schema(conv, {"anyOf": [s, {"type": "array", "items": s, "minItems": 0 if allow_empty else 1,
                                            "maxItems": 64}]})


def _int_or_ints(v: Any) -> int | tuple[int, ...]:
    if isinstance(v, (list, tuple)):
        out: tuple[int, ...] = int_list_t()(v)
        return out
    n: int = int_t(None)(v)
    return n


with_schema(_int_or_ints, {"anyOf": [schema_of(int_t(None)), schema_of(int_list_t())]})


_INT = int_t(None)

# --------------------------------------------------------------------------- shared helpers


def _flatten(ctx: RuleCtx, x: Shape, start: int, end: int) -> Shape:
    s = norm_dim(start, len(x), ctx, "start_dim")
    e = norm_dim(end, len(x), ctx, "end_dim")
    if s > e:
        ctx.fail("dim", f"start_dim={start} comes after end_dim={end} for a {len(x)}D input",
                 hint="start_dim must not come after end_dim", param="start_dim")
    if not x:
        return (1,)
    if s == e:
        return x
    return (*x[:s], prod(x[s:e + 1]), *x[e + 1:])


def _unflatten(ctx: RuleCtx, x: Shape, dim: int, sizes: tuple[Dim, ...]) -> Shape:
    if not x:
        ctx.fail("rank", "cannot unflatten a 0-d tensor (it has no dims)")
    d = norm_dim(dim, len(x), ctx)
    new = infer_shape(ctx, sizes, x[d], "unflattened_size", f"dim {d} of size {fmt(x[d])}")
    return (*x[:d], *new, *x[d + 1:])


# --------------------------------------------------------------------------- flatten / unflatten


@op("Flatten", Param("start_dim", _INT, 1), Param("end_dim", _INT, -1))
def flatten_module(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """nn.Flatten(start_dim=1, end_dim=-1): dims start_dim..end_dim become their product."""
    return _flatten(ctx, xs[0], a["start_dim"], a["end_dim"])


@op("flatten", Param("start_dim", _INT, 0), Param("end_dim", _INT, -1))
def flatten(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.flatten(input, start_dim=0, end_dim=-1); a 0-d input becomes (1,)."""
    return _flatten(ctx, xs[0], a["start_dim"], a["end_dim"])


@op("Unflatten", Param("dim", _INT), Param("unflattened_size", _shape_t("unflattened_size")))
def unflatten_module(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """nn.Unflatten(dim, unflattened_size): dim becomes the given sizes (one may be -1)."""
    return _unflatten(ctx, xs[0], a["dim"], a["unflattened_size"])


@op("unflatten", Param("dim", _INT), Param("sizes", _shape_t("sizes")))
def unflatten(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.unflatten(input, dim, sizes)."""
    return _unflatten(ctx, xs[0], a["dim"], a["sizes"])


# --------------------------------------------------------------------------- reshape / view


@op("reshape", Param("shape", _shape_t("shape", allow_empty=True)), torch_name="Tensor.reshape",
    call_style="method_star")
def reshape(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """x.reshape(*shape): the same elements in a new shape; one size may be -1 (a copy where no view fits)."""
    x = xs[0]
    return infer_shape(ctx, a["shape"], prod(x), "shape", f"input {fmt_shape(x)}")


@op("view", Param("shape", _shape_t("shape", allow_empty=True)), torch_name="Tensor.view", call_style="method_star")
def view(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """x.view(*shape): the same memory in a new shape; one size may be -1; the input's strides must allow it."""
    x = xs[0]
    out = infer_shape(ctx, a["shape"], prod(x), "shape", f"input {fmt_shape(x)}")
    layout = ctx.layout(0, x)
    trivial = len(x) <= 1 or splits(x, out)  # one chunk, or dims split: always a view
    if not trivial and not settle(ctx, lambda ask: view_strides(ask, layout, out) is not None):
        have = ", ".join(fmt(s) for s in layout.strides(generic()))
        ctx.fail("view", f"cannot view the input {fmt_shape(x)} as {fmt_shape(out)}: its memory (strides ({have})) "
                         "cannot be described with that shape (at least one dimension spans across two "
                         "contiguous subspaces)",
                 hint="use .reshape(...) (it copies where it must), or .contiguous() before .view(...)")
    ctx.out_layout = viewed(layout, out)
    return out


# --------------------------------------------------------------------------- permute / transpose


@op("permute", Param("dims", int_list_t()), torch_name="Tensor.permute", call_style="method_star")  # [] for 0-d
def permute(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """x.permute(*dims): output dim i is input dim dims[i]."""
    x, dims = xs[0], a["dims"]
    if len(dims) != len(x):
        ctx.fail("dim", f"got {len(dims)} dims {tuple(dims)} for a {len(x)}D input {fmt_shape(x)}",
                 hint="list every dim exactly once", param="dims")
    wrapped = [norm_dim(d, len(x), ctx) for d in dims]
    if len(set(wrapped)) != len(wrapped):
        ctx.fail("dim", f"dims {tuple(dims)} name a dim twice", hint="list every dim exactly once", param="dims")
    return tuple(x[d] for d in wrapped) if x else ()


@op("transpose", Param("dim0", _INT), Param("dim1", _INT), aliases=("swapdims",))
def transpose(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.transpose(input, dim0, dim1): swap two dims."""
    x = xs[0]
    d0 = norm_dim(a["dim0"], len(x), ctx, "dim0")
    d1 = norm_dim(a["dim1"], len(x), ctx, "dim1")
    if not x:
        return ()
    out = list(x)
    out[d0], out[d1] = out[d1], out[d0]
    return tuple(out)


@op("t", torch_name="torch.t")
def t(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.t(input): a 2-D input transposed; 0-D and 1-D inputs as they are."""
    x = xs[0]
    if len(x) > 2:
        ctx.fail("rank", f"t() expects a tensor with <= 2 dimensions, but the input is {len(x)}D {fmt_shape(x)}",
                 hint="use transpose(dim0, dim1) or permute")
    return tuple(reversed(x))


def movedim_order(ctx: RuleCtx, rank: int, source: Any, destination: Any) -> list[int]:
    """torch.movedim's permutation: output dim i is input dim order[i]."""
    if isinstance(source, int) != isinstance(destination, int):
        ctx.fail("args", "source and destination must both be ints or both be lists of ints", param="destination")
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        ctx.fail("dim", f"source {tuple(src)} and destination {tuple(dst)} must name as many dims",
                 param="destination")
    s = [norm_dim(d, rank, ctx, "source") for d in src]
    d = [norm_dim(v, rank, ctx, "destination") for v in dst]
    if len(set(s)) != len(s) or len(set(d)) != len(d):
        ctx.fail("dim", f"source {tuple(src)} and destination {tuple(dst)} must not repeat a dim", param="source")
    if rank == 0:
        return []
    order: list[int | None] = [None] * rank
    for a_, b_ in zip(s, d, strict=True):
        order[b_] = a_
    rest = iter(i for i in range(rank) if i not in s)
    return [o if o is not None else next(rest) for o in order]


@op("movedim", Param("source", _int_or_ints), Param("destination", _int_or_ints), aliases=("moveaxis",))
def movedim(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.movedim(input, source, destination): the dims ``source`` move to ``destination``."""
    x = xs[0]
    order = movedim_order(ctx, len(x), a["source"], a["destination"])
    return tuple(x[i] for i in order) if x else ()


# --------------------------------------------------------------------------- squeeze / unsqueeze


@op("squeeze", Param("dim", opt_t(_int_or_ints), None))
def squeeze(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.squeeze(input, dim=None): drop size-1 dims (all of them, or those named)."""
    x, dim = xs[0], a["dim"]
    if dim is None:
        return tuple(s for s in x if not ctx.decide(eq(s, 1), prefer=False))
    dims = (dim,) if isinstance(dim, int) else dim
    wrapped = [norm_dim(d, len(x), ctx) for d in dims]
    seen: set[int] = set()
    for w in wrapped:
        if w in seen:
            ctx.fail("dim", f"dim {w} appears twice in dim={dim}", param="dim")
        seen.add(w)
    if not x:
        return ()
    drop = {w for w in wrapped if ctx.decide(eq(x[w], 1), prefer=False)}
    return tuple(s for i, s in enumerate(x) if i not in drop)


@op("unsqueeze", Param("dim", _INT))
def unsqueeze(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.unsqueeze(input, dim): a new size-1 dim at ``dim`` (of the output)."""
    x = xs[0]
    d = norm_dim(a["dim"], len(x) + 1, ctx)
    return (*x[:d], 1, *x[d:])


@op("contiguous", torch_name="Tensor.contiguous", call_style="method")
def contiguous(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """x.contiguous(): the same shape."""
    return xs[0]

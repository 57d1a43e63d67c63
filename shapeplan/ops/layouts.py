"""The layout of each op's output, from its inputs' layouts (torch CPU, eval mode, no grad).

One function per op family, registered by op name (:func:`layout_of`); an op without one
returns a new contiguous tensor (reductions, softmax, layer_norm, linear, matmul, creation
ops, gather, cumsum, topk, repeat, roll...).  The families, as measured on torch's CPU
kernels:

- views (permute, transpose / swapdims / swapaxes, expand, narrow, getitem, squeeze,
  unsqueeze, unflatten, diagonal, Tensor.unfold): the input's strides rearranged as torch's
  view functions do; reshape / flatten are views where ``view`` would work and contiguous
  copies elsewhere; ``contiguous()`` copies only a non-contiguous input;
- copies in ``preserve_format`` (clone, flip, sort / argsort, a dtype conversion such as
  ``.long()``): the input's strides where it is dense, else dense ones in its memory order;
- aliases: Identity, dropout in eval mode, detach, in-place activations, a dtype conversion
  to the same dtype;
- elementwise ops (:mod:`.pointwise`): TensorIterator's output (:mod:`.iterator`), also
  inside the composites written with them (softsign, normalize, glu, prelu, lp pools,
  local_response_norm, diff, addr: :mod:`.composites`);
- ops that allocate in the input's suggested memory format (channels-last when the input's
  strides look channels-last): batch/group norm, pools, interpolate, pad, pixel and channel
  shuffles (:mod:`.formats`); convolutions (:mod:`.conv_layouts`); cat takes the format its
  inputs agree on; einsum (:mod:`.einsum_layout`).

A layout function only says how the output lies in memory; where torch's own implementation
views memory (``local_response_norm`` of a 5-D input, ``take_along_dim`` without a dim), it
may also fail as torch does.  Where torch's answer depends on its number of threads (a 3-D
convolution's kernel), the layout answers for :func:`~shapeplan.ops.platform.torch_threads`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..core.dims import Dim, Shape, norm
from .ask import Ask
from .ctx import RuleCtx
from .layout import (
    Format,
    Layout,
    Strides,
    dense_strides,
    is_contiguous,
    is_dense,
    suggest_format,
    view_strides,
    viewed,
)
from .params import canonical_dtype

LayoutFn = Callable[[RuleCtx, list[Layout], dict[str, Any], Shape], Layout]
LAYOUTS: dict[str, LayoutFn] = {}


def layout_of(*names: str) -> Callable[[LayoutFn], LayoutFn]:
    """Decorator: ``fn`` gives the output layout of the ops ``names``."""

    def deco(fn: LayoutFn) -> LayoutFn:
        for n in names:
            LAYOUTS[n] = fn
        return fn

    return deco


def output_layout(op: str, ctx: RuleCtx, xs: Sequence[Shape], a: dict[str, Any], out: Shape) -> Layout:
    """The layout of ``op``'s output (after its rule ran with ``ctx``): the one the rule set,
    else the op's layout function, else a new contiguous tensor."""
    if ctx.out_layout is not None:
        return ctx.out_layout
    ins = [ctx.layout(i, x) for i, x in enumerate(xs)]
    fn = LAYOUTS.get(op)
    got = Layout.contiguous(out, ins[0].dtype if ins else "float32") if fn is None else fn(ctx, ins, a, out)
    dtype = a.get("dtype")
    return got.with_dtype(canonical_dtype(dtype)) if isinstance(dtype, str) else got


# --------------------------------------------------------------------------- strides of views


def derived(x: Layout, shape: Shape, f: Callable[[Ask, Strides], Sequence[Dim]], overlap: bool | None = None) -> Layout:
    """A view of ``x``: its strides transformed by ``f`` (when asked); it overlaps where ``x``
    does, unless ``overlap`` says otherwise (expand makes strides 0)."""
    return Layout.lazy(shape, lambda ask: Layout.strided(shape, f(ask, x.strides(ask))), x.dtype,
                       x.overlap if overlap is None else overlap)


def unsqueezed(shape: Shape, strides: Strides, d: int) -> Strides:
    """torch's ``inferUnsqueezeGeometry``: the new dim's stride is ``size[d] * stride[d]``."""
    new = 1 if d >= len(shape) else norm(shape[d] * strides[d])
    return (*strides[:d], new, *strides[d:])


def unsqueeze(x: Layout, d: int) -> Layout:
    shape = (*x.shape[:d], 1, *x.shape[d:])
    return derived(x, shape, lambda ask, s: unsqueezed(x.shape, s, d))


def squeeze(x: Layout, drop: set[int]) -> Layout:
    shape = tuple(n for i, n in enumerate(x.shape) if i not in drop)
    return derived(x, shape, lambda ask, s: tuple(v for i, v in enumerate(s) if i not in drop))


def reshaped(x: Layout, shape: Shape) -> Layout:
    """torch's ``reshape``: a view where ``computeStride`` finds strides, else a contiguous copy."""

    def make(ask: Ask) -> Layout:
        strides = view_strides(ask, x, shape, maybe_empty=False)
        return Layout.contiguous(shape) if strides is None else Layout.strided(shape, strides)

    return Layout.lazy(shape, make, x.dtype, x.overlap)


def copied(x: Layout, shape: Shape | None = None) -> Layout:
    """A copy in ``preserve_format`` (clone, a dtype conversion): the same strides for a dense
    input, else dense strides in the input's memory order."""
    shape = x.shape if shape is None else shape

    def make(ask: Ask) -> Layout:
        if is_dense(ask, x):
            r = x.resolve(ask)
            return r if r.kind != "strided" else Layout.strided(shape, r.strides(ask))
        return Layout.strided(shape, dense_strides(ask, shape, x.strides(ask)))

    return Layout.lazy(shape, make, x.dtype, overlap=False)


def in_format(x: Layout, shape: Shape) -> Layout:
    """A new tensor in ``x``'s suggested memory format (channels-last if ``x`` looks so)."""
    if x.kind == "contiguous" or len(shape) not in (4, 5) or len(x.shape) != len(shape):
        return Layout.contiguous(shape, x.dtype)

    def make(ask: Ask) -> Layout:
        fmt: Format = suggest_format(ask, x)
        return Layout.fresh(shape, fmt)

    return Layout.lazy(shape, make, x.dtype, overlap=False)


# --------------------------------------------------------------------------- views


@layout_of("permute")
def _permute(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    x = ins[0]
    dims = [d % max(len(x.shape), 1) for d in a["dims"]]
    return derived(x, out, lambda ask, s: tuple(s[d] for d in dims) if s else ())


@layout_of("transpose", "swapdims", "swapaxes")
def _transpose(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    x = ins[0]
    if not x.shape:
        return x
    d0, d1 = (a["dim0"], a["dim1"]) if "dim0" in a else (a["axis0"], a["axis1"])
    d0, d1 = d0 % len(x.shape), d1 % len(x.shape)

    def swap(ask: Ask, s: Strides) -> Strides:
        t = list(s)
        t[d0], t[d1] = t[d1], t[d0]
        return tuple(t)

    return derived(x, out, swap)


@layout_of("t")
def _t(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    x = ins[0]
    return x if len(x.shape) < 2 else derived(x, out, lambda ask, s: (s[1], s[0]))


@layout_of("movedim", "moveaxis")
def _movedim(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    from .reshape import movedim_order

    x = ins[0]
    if not x.shape:
        return x
    order = movedim_order(ctx, len(x.shape), a["source"], a["destination"])
    return derived(x, out, lambda ask, s: tuple(s[i] for i in order))


@layout_of("diagonal")
def _diagonal(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    """A view: dim1 and dim2 go, a last dim of stride ``stride[dim1] + stride[dim2]`` comes."""
    x = ins[0]
    d1, d2 = a["dim1"] % len(x.shape), a["dim2"] % len(x.shape)
    return derived(x, out, lambda ask, s: (*(v for i, v in enumerate(s) if i not in (d1, d2)), norm(s[d1] + s[d2])))


@layout_of("unfold")
def _unfold(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    """Tensor.unfold, a view: the dim's stride times ``step``, and a last dim of its stride."""
    x = ins[0]
    if not x.shape:
        return derived(x, out, lambda ask, s: (1,))
    d, step = a["dimension"] % len(x.shape), a["step"]
    return derived(x, out, lambda ask, s: (*s[:d], norm(s[d] * step), *s[d + 1:], s[d]))


@layout_of("narrow", "detach", "Identity")
def alias(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    x = ins[0]
    return x if x.shape == tuple(out) else derived(x, out, lambda ask, s: s)


@layout_of("expand", "expand_as")
def _expand(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    x = ins[0]
    sizes = a["size"] if "size" in a else ins[1].shape
    return derived(x, out, lambda ask, s: expand_strides(ask, x.shape, s, out, sizes), overlap=True)


def expand_strides(ask: Ask, shape: Shape, s: Strides, out: Shape, sizes: Sequence[Any] = ()) -> Strides:
    """torch's ``inferExpandGeometry``: the strides of ``x.expand(sizes)`` (of shape ``out``;
    a size of -1 keeps its dim)."""
    if not shape:
        return tuple(0 for _ in out)
    res: list[Dim] = [0] * len(out)
    lead = len(out) - len(shape)
    for i in range(len(out) - 1, -1, -1):
        t = out[i]
        if i >= lead:
            size, stride = shape[i - lead], s[i - lead]
            keep = bool(sizes) and isinstance(sizes[i], int) and sizes[i] == -1 or ask.eq(size, t)
        else:
            stride = norm(out[i + 1] * res[i + 1]) if i + 1 < len(out) else 1
            keep = ask.one(t)
        res[i] = stride if keep else 0
    return tuple(res)


@layout_of("squeeze")
def _squeeze(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    from ..core.conditions import eq

    x = ins[0]
    dim = a["dim"]
    if not x.shape:
        return x
    dims = range(len(x.shape)) if dim is None else [d % len(x.shape) for d in ((dim,) if isinstance(dim, int)
                                                                                  else dim)]
    drop = {d for d in dims if ctx.decide(eq(x.shape[d], 1), prefer=False)}  # the rule's own answers
    return squeeze(x, drop)


@layout_of("unsqueeze")
def _unsqueeze(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    x = ins[0]
    return unsqueeze(x, a["dim"] % (len(x.shape) + 1))


@layout_of("reshape")
def _reshape(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return reshaped(ins[0], out)


@layout_of("flatten", "Flatten")
def _flatten(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    x = ins[0]
    if not x.shape:
        return reshaped(x, out)
    s, e = a["start_dim"] % len(x.shape), a["end_dim"] % len(x.shape)
    return x if s == e else reshaped(x, out)


@layout_of("unflatten", "Unflatten")
def _unflatten(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return reshaped(ins[0], out)  # a view that always exists (one dim split)


@layout_of("contiguous")
def contiguous_of(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    x = ins[0]
    if x.kind == "contiguous":
        return x
    return Layout.lazy(out, lambda ask: x.resolve(ask) if is_contiguous(ask, x) else Layout.contiguous(out),
                       overlap=x.overlap, dtype=x.dtype)


@layout_of("clone", "flip", "sort")
def _clone(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    """A copy in ``preserve_format``: clone, and flip / sort, whose outputs torch allocates so."""
    return copied(ins[0])


@layout_of("argsort")
def _argsort(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return copied(ins[0]).with_dtype("int64")  # sort's indices


def _to(dtype: str) -> LayoutFn:
    def fn(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
        x = ins[0]
        return x if x.dtype == dtype else copied(x).with_dtype(dtype)

    return fn


for _name, _dtype in (("float", "float32"), ("half", "float16"), ("double", "float64"), ("bfloat16", "bfloat16"),
                      ("bool", "bool"), ("byte", "uint8"), ("char", "int8"), ("short", "int16"), ("int", "int32"),
                      ("long", "int64")):
    layout_of(_name)(_to(_dtype))


@layout_of("type_as")
def _type_as(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return _to(ins[1].dtype)(ctx, ins[:1], a, out)


# --------------------------------------------------------------------------- getitem


@layout_of("getitem")
def _getitem(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    """torch's ``applySlicing``: items applied in turn (an int selects, a slice multiplies the
    stride by its step, None unsqueezes at the current dim, ... skips dims)."""
    from .tensor import slice_length

    x, index = ins[0], a["index"]
    rank = len(x.shape)
    specified = sum(1 for i in index if i is not None and i is not Ellipsis)
    steps: list[tuple[str, int, int]] = []  # (what, dim, step) with the sizes before it
    sizes = list(x.shape)
    shapes: list[list[Dim]] = []
    d = 0
    for item in index:
        if item is Ellipsis:
            d += rank - specified
            continue
        shapes.append(list(sizes))
        if item is None:
            steps.append(("new", d, 0))
            sizes.insert(d, 1)
            d += 1
        elif isinstance(item, slice):
            steps.append(("slice", d, 1 if item.step is None else item.step))
            sizes[d] = slice_length(ctx, sizes[d], item)
            d += 1
        else:
            steps.append(("select", d, 0))
            del sizes[d]

    def f(ask: Ask, s: Strides) -> Strides:
        st = list(s)
        for (what, dim, step), before in zip(steps, shapes, strict=True):
            if what == "new":
                st = list(unsqueezed(tuple(before), tuple(st), dim))
            elif what == "slice":
                st[dim] = norm(st[dim] * step)
            else:
                del st[dim]
        return tuple(st)

    return derived(x, out, f)


@layout_of("meshgrid")
def _meshgrid(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    """torch's meshgrid: grid k is ``tensors[k].view(1, .., n_k, .., 1).expand(sizes)`` (a view:
    stride 0 along the other dims); with 'xy' the first two dims are swapped (input 0 varies
    along dim 1).  Checked against torch's strides (tests/test_view_layouts.py)."""
    n, i = len(ins), a["item"]
    xy = a["indexing"] == "xy" and n >= 2
    k = (1 - i) if xy and i < 2 else i  # this input's place among the swapped ones
    sizes = [norm(x.shape[0]) if x.shape else 1 for x in ins]
    if xy:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    shape = tuple(sizes)
    one = tuple(sizes[j] if j == k else 1 for j in range(n))
    return derived(viewed(ins[i], one), shape, lambda ask, s: expand_strides(ask, one, s, shape), overlap=True)

"""Output layouts of ops that torch writes with other ops (torch 2.14, CPU, eval mode, no
grad): their layout is the one of the last op, computed from the views and elementwise ops
before it.

- ``torch.diff``: ``narrow(dim, 1, n - 1) - narrow(dim, 0, n - 1)``, ``n`` times, on the
  ``cat`` of prepend, input and append (n = 0: a clone of the input);
- ``torch.addr``: TensorIterator over ``(input.expand(n, m), vec1.reshape(n, 1), vec2)``;
- ``torch.take_along_dim`` without a dim: ``input.view(-1).gather(0, indices.view(-1))``,
  which fails where either view does (a non-contiguous input); with a dim, a gather (new);
- ``nn.MultiheadAttention`` with ``batch_first``: the transpose of its (L, N, E) output, but
  on torch's fast path (self-attention: one tensor as query, key and value, an even number of
  heads, no bias_kv / zero_attn, equal kdim / vdim), a new (N, L, E) tensor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.dims import Shape, norm, prod
from .ask import settle
from .ctx import RuleCtx
from .formats import cat_layout
from .iterator import iterate
from .layout import Ask, Layout, default_strides, view_strides
from .layouts import LAYOUTS, copied, derived, expand_strides, layout_of, reshaped, unsqueezed
from .merge import broadcast_shapes
from .params import TENSOR
from .tensor import slice_length


@layout_of("diff")
def _diff(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    x, n = ins[0], a["n"]
    if n == 0:
        return copied(x)  # a clone of the input (prepend and append ignored)
    d = a["dim"] % len(x.shape)
    if len(ins) > 1:  # torch.cat([prepend, input, append], dim)
        parts = [ins[1], x, *ins[2:]]
        x = cat_layout(parts, (*x.shape[:d], norm(sum(t.shape[d] for t in parts)), *x.shape[d + 1:]))
    y = x
    for i in range(n):
        shape = tuple(out) if i == n - 1 else (*y.shape[:d], norm(y.shape[d] - 1), *y.shape[d + 1:])
        part = derived(y, shape, lambda ask, s: s)
        y = iterate(shape, [part, part])
    return y


@layout_of("addr")
def _addr(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    x, v1, v2 = ins[:3]
    expanded = LAYOUTS["expand"](ctx, [x], {"size": list(out)}, out)
    return iterate(out, [expanded, reshaped(v1, (v1.shape[0], 1)), v2])


def _viewable(t: Layout, shape: Shape) -> Callable[[Ask], bool]:
    return lambda ask: view_strides(ask, t, shape) is not None


@layout_of("take_along_dim")
def _take_along_dim(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    if a.get("dim") is None:
        for what, t in zip(("input", "indices"), ins, strict=False):
            flat = (prod(t.shape),)
            if t.kind != "contiguous" and not settle(ctx, _viewable(t, flat)):
                ctx.fail("view", f"take_along_dim without a dim views its {what} as {flat}, which its memory does "
                                 "not allow (a non-contiguous tensor)", hint=f"call .contiguous() on the {what} first")
    return Layout.contiguous(out)


@layout_of("MultiheadAttention")
def _multihead_attention(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    if not a["batch_first"] or len(out) != 3:
        return Layout.contiguous(out)
    e = a["embed_dim"]
    fast = (ins[0] is ins[1] is ins[2] and a["num_heads"] % 2 == 0 and not a["add_bias_kv"]
            and not a["add_zero_attn"] and a.get("kdim") in (None, e) and a.get("vdim") in (None, e))
    if fast:
        return Layout.contiguous(out)
    first = Layout.contiguous((out[1], out[0], out[2]))  # (L, N, E), then transpose(1, 0)
    return derived(first, out, lambda ask, s: (s[1], s[0], s[2]))


# --------------------------------------------------------------------------- advanced indexing


@layout_of("index")
def _index(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    """``x[items]`` with index tensors: the basic items first (a view, as ``getitem``), then
    torch's ``AdvancedIndex``: the index tensors expanded to their broadcast shape B, the
    input permuted to put the indexed dims first where they are not next to each other,
    restrided with stride 0 over B in their place, each index reshaped with dims of 1 around
    B, and TensorIterator over (input, *indices)."""
    x, items = ins[0], a["index"]
    tensors = iter(ins[1:])
    specified = sum(1 for i in items if i is not None and i is not Ellipsis)
    steps: list[tuple[str, int, Any]] = []  # (what, dim, step or index layout), sizes before it
    sizes: list[Any] = list(x.shape)
    befores: list[list[Any]] = []
    d = 0
    for item in items:
        if item is Ellipsis:
            d += len(x.shape) - specified
            continue
        befores.append(list(sizes))
        t = next(tensors) if item == TENSOR else None
        if item is None:
            steps.append(("new", d, 0))
            sizes.insert(d, 1)
            d += 1
        elif t is not None and t.shape:
            steps.append(("index", d, t))
            d += 1
        elif isinstance(item, slice):
            steps.append(("slice", d, 1 if item.step is None else item.step))
            sizes[d] = slice_length(ctx, sizes[d], item)
            d += 1
        else:  # an int, or a 0-d index tensor
            steps.append(("select", d, 0))
            del sizes[d]
    pos: list[Layout | None] = [None] * len(sizes)
    for what, dim, t in steps:
        if what == "index":
            pos[dim] = t
    idx = [t for t in pos if t is not None]

    def basic(ask: Ask) -> list[Any]:
        st = list(x.strides(ask))
        for (what, dim, step), shape in zip(steps, befores, strict=True):
            if what == "new":
                st = list(unsqueezed(tuple(shape), tuple(st), dim))
            elif what == "slice":
                st[dim] = norm(st[dim] * step)
            elif what == "select":
                del st[dim]
        return st

    if not idx:  # 0-d index tensors only: selects, a view
        return Layout.lazy(out, lambda ask: Layout.strided(out, basic(ask)), x.dtype)
    b = broadcast_shapes(ctx, [t.shape for t in idx], "the index tensors")
    at = [i for i, t in enumerate(pos) if t is not None]
    order = list(range(len(sizes)))
    if at != list(range(at[0], at[0] + len(at))):  # transposeToFront
        order = at + [i for i in range(len(sizes)) if i not in at]
    before = order.index(at[0]) if order == list(range(len(sizes))) else 0
    after = len(sizes) - before - len(at)

    def make(ask: Ask) -> Layout:
        st = basic(ask)
        st = [st[i] for i in order]
        src = Layout.strided(out, (*st[:before], *(0 for _ in b), *st[before + len(at):]))
        around = (*(1 for _ in range(before)), *b, *(1 for _ in range(after)))
        operands = [src]
        for t in idx:
            grown = expand_strides(ask, t.shape, t.strides(ask), b)
            flat = view_strides(ask, Layout.strided(b, grown), around)
            operands.append(Layout.strided(around, flat if flat is not None else default_strides(around)))
        return iterate(out, operands).resolve(ask)

    return Layout.lazy(out, make, x.dtype)


# --------------------------------------------------------------------------- attention


@layout_of("scaled_dot_product_attention")
def _sdpa(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    """torch's CPU flash kernel, where it is chosen (4-D query, key and value of one batch
    size, heads and head dim, no dropout, their last strides 1, no mask or a 2-D / 4-D one
    that fits, sequences not empty), writes into ``empty_like(query)`` (measured: the
    query's layout, as a copy); the math path (``softmax(q @ k^T) @ v``) a new contiguous
    tensor."""
    q, k, v = ins[:3]
    mask = ins[3] if len(ins) > 3 else None
    if len(out) != 4 or any(len(t.shape) != 4 for t in (q, k, v)) or a["dropout_p"] > 0 or \
            mask is not None and len(mask.shape) not in (2, 4):
        return Layout.contiguous(out)
    b, h, n, e = q.shape

    def fits(ask: Ask, m: Layout) -> bool:
        """torch's ``check_attn_mask_shape``."""
        rows, cols = m.shape[-2:]
        if not (ask.eq(rows, n) or ask.one(rows)) or not (ask.eq(cols, k.shape[2]) or ask.one(cols)):
            return False
        return len(m.shape) == 2 or all(ask.one(s) or ask.eq(s, full) for s, full in zip(m.shape[:2], (b, h),
                                                                                          strict=True))

    like = copied(q)

    def make(ask: Ask) -> Layout:
        flash = (all(ask.eq(t.shape[0], b) and ask.eq(t.shape[1], h) and ask.eq(t.shape[3], e) for t in (k, v))
                 and not ask.empty((k.shape[2],)) and all(ask.eq(t.strides(ask)[-1], 1) for t in (q, k, v))
                 and (mask is None or fits(ask, mask)))
        return like.resolve(ask) if flash else Layout.contiguous(out)

    return Layout.lazy(out, make, q.dtype)

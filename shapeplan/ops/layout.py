"""Memory layouts: torch's strides of a tensor, where they decide whether a ``view`` runs.

A :class:`Layout` is what torch's ``x.stride()`` would say, in elements, computed exactly as
torch computes it (the strides of a view, the output of an elementwise op following its
inputs' memory order, a fresh tensor in its memory format).  Strides only matter where a
rule asks for them (``view`` refuses memory that no strides of the new shape can describe),
so a layout is lazy: an op that keeps its input's layout in some way records how
(:meth:`Layout.lazy`), and the strides are worked out when a rule asks, with that rule's
questions about sizes.  A network that never views a permuted tensor asks nothing.

Strides are products of sizes.  They are exact wherever the tensor has elements; a tensor
with no elements can be viewed as any shape, and is taken to suggest torch's default memory
format, which torch's checks also say for every empty tensor.  So the comparisons here are
made knowing that every size involved is at least 1 (:class:`Ask`): a size that may be 1
is a question for the analysis (:meth:`~shapeplan.ops.ctx.RuleCtx.decide`), as in torch,
where the strides of size-1 dims are special in several places.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import sympy

from ..core.dims import Dim, Shape, norm
from .ask import Ask

Strides = tuple[Dim, ...]
Kind = Literal["contiguous", "channels_last", "channels_last_3d", "strided", "lazy"]
Format = Literal["contiguous", "channels_last", "channels_last_3d"]
_CL_ORDER = {4: (1, 3, 2, 0), 5: (1, 4, 3, 2, 0)}


# --------------------------------------------------------------------------- strides of fresh tensors


def default_strides(shape: Shape) -> Strides:
    """torch's contiguous strides (row-major).  (torch counts a size-0 dim as 1 here; the
    strides of a tensor with no elements never matter.)"""
    out: list[Dim] = []
    acc: Dim = 1
    for d in reversed(shape):
        out.append(acc)
        acc = norm(acc * d)
    return tuple(reversed(out))


def channels_last_strides(shape: Shape) -> Strides:
    """torch's ``get_channels_last_strides_2d`` (4-D) / ``_3d`` (5-D): channels fastest."""
    order = _CL_ORDER[len(shape)]
    out: list[Dim] = [0] * len(shape)
    acc: Dim = 1
    for d in order:
        out[d] = acc
        acc = norm(acc * shape[d])
    return tuple(out)


def format_strides(shape: Shape, fmt: Format) -> Strides:
    return default_strides(shape) if fmt == "contiguous" else channels_last_strides(shape)


def same_dims(a: Sequence[Dim], b: Sequence[Dim]) -> bool:
    """Structurally equal (at every size)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if isinstance(x, int) and isinstance(y, int):
            if x != y:
                return False
        elif x != y and norm(sympy.expand(sympy.sympify(x) - y)) != 0:
            return False
    return True


# --------------------------------------------------------------------------- the layout of one tensor


class Layout:
    """torch's strides of one tensor: fresh in a memory format, explicit, or lazy (worked
    out from its inputs' layouts when a rule asks, with that rule's questions)."""

    __slots__ = ("shape", "kind", "dtype", "_strides", "_make", "_resolved", "overlap")

    def __init__(self, shape: Shape, kind: Kind, strides: Strides | None = None,
                 make: Callable[[Ask], Layout] | None = None, dtype: str = "float32",
                 overlap: bool | None = None) -> None:
        self.shape = tuple(shape)
        self.kind = kind
        self.dtype = dtype
        self._strides = strides
        self._make = make
        self._resolved: Layout | None = None
        # may several elements share memory (a stride 0)?  Known without asking: False for new
        # memory (a memory format, an elementwise op's output, a copy), a zero among explicit
        # strides, else what the maker says (True when it does not know: a lazy view)
        if overlap is None:
            overlap = kind == "lazy" or (strides is not None and any(isinstance(v, int) and v == 0 for v in strides))
        self.overlap = overlap

    @staticmethod
    def contiguous(shape: Shape, dtype: str = "float32") -> Layout:
        return Layout(shape, "contiguous", dtype=dtype)

    @staticmethod
    def fresh(shape: Shape, fmt: Format, dtype: str = "float32") -> Layout:
        """A new tensor in memory format ``fmt`` (torch's ``empty(..., memory_format=fmt)``)."""
        return Layout(shape, fmt, dtype=dtype)

    @staticmethod
    def strided(shape: Shape, strides: Sequence[Dim], dtype: str = "float32") -> Layout:
        """Explicit strides (torch's default ones make a contiguous layout)."""
        st = tuple(norm(s) for s in strides)
        if same_dims(st, default_strides(tuple(shape))):
            return Layout(shape, "contiguous", dtype=dtype)
        return Layout(shape, "strided", st, dtype=dtype)

    @staticmethod
    def lazy(shape: Shape, make: Callable[[Ask], Layout], dtype: str = "float32", overlap: bool = True) -> Layout:
        """Strides worked out by ``make`` when asked; ``overlap=False``: ``make`` gives new memory
        (or a view of memory that has no stride 0), so in-place writes need not ask."""
        return Layout(shape, "lazy", make=make, dtype=dtype, overlap=overlap)

    def resolve(self, ask: Ask) -> Layout:
        """This layout, not lazy (computed once)."""
        if self.kind != "lazy":
            return self
        if self._resolved is not None:
            return self._resolved
        if ask.local:  # hypothetical answers: remembered by this Ask only (else each level of a
            hit = ask.memo.get(id(self))  # deep network resolves its input again: exponential)
            if hit is not None:
                return hit[1]
        assert self._make is not None
        got = self._make(ask)
        got = got if got.dtype == self.dtype else got.with_dtype(self.dtype)
        if ask.local:
            ask.memo[id(self)] = (self, got)  # (self kept alive: its id stays its own)
        else:
            self._resolved = got
        return got

    def strides(self, ask: Ask) -> Strides:
        r = self.resolve(ask)
        if r.kind == "strided":
            assert r._strides is not None
            return r._strides
        return format_strides(r.shape, r.kind)  # type: ignore[arg-type]

    def with_dtype(self, dtype: str) -> Layout:
        if self.kind == "lazy":
            return Layout.lazy(self.shape, lambda ask: self.resolve(ask), dtype, self.overlap)
        return Layout(self.shape, self.kind, self._strides, None, dtype, self.overlap)

    def __repr__(self) -> str:
        if self.kind == "strided":
            return f"Layout({self.shape}, strides={self._strides})"
        return f"Layout({self.shape}, {self.kind})"


# --------------------------------------------------------------------------- torch's predicates


def is_contiguous(ask: Ask, x: Layout) -> bool:
    """torch's ``is_contiguous()`` (``_compute_contiguous``) of a tensor with elements."""
    r = x.resolve(ask)
    if r.kind == "contiguous":
        return True
    strides = r.strides(ask)
    if same_dims(strides, default_strides(r.shape)):
        return True
    return _contiguous_in(ask, r.shape, strides, range(len(r.shape) - 1, -1, -1))


def is_format_contiguous(ask: Ask, x: Layout, fmt: Format) -> bool:
    """``is_contiguous(memory_format=fmt)``: channels-last contiguity of a 4-D (5-D) tensor."""
    if fmt == "contiguous":
        return is_contiguous(ask, x)
    r = x.resolve(ask)
    rank = 4 if fmt == "channels_last" else 5
    if len(r.shape) != rank:
        return False
    if r.kind == fmt:
        return True
    strides = r.strides(ask)
    if same_dims(strides, channels_last_strides(r.shape)):
        return True
    return _contiguous_in(ask, r.shape, strides, _CL_ORDER[rank])


def _contiguous_in(ask: Ask, shape: Shape, strides: Strides, order: Sequence[int]) -> bool:
    expected: Dim = 1
    for d in order:
        if ask.one(shape[d]):
            continue
        if not ask.eq(strides[d], expected):
            return False
        expected = norm(expected * shape[d])
    return True


def is_dense(ask: Ask, x: Layout) -> bool:
    """torch's ``is_non_overlapping_and_dense()`` of a tensor with elements."""
    r = x.resolve(ask)
    if r.kind != "strided" or is_contiguous(ask, r):
        return True
    shape, strides = r.shape, r.strides(ask)
    if len(shape) == 1:
        return ask.one(shape[0]) or ask.eq(strides[0], 1)
    big = [d for d in range(len(shape)) if not ask.one(shape[d])]
    order: list[int] = []
    for d in big:  # insertion sort by stride (equal strides fail below whatever the order)
        i = len(order)
        while i > 0 and ask.lt(strides[d], strides[order[i - 1]]):
            i -= 1
        order.insert(i, d)
    need: Dim = 1
    for d in order:
        if not ask.eq(strides[d], need):
            return False
        need = norm(need * shape[d])
    return True


def _strides_like_cl(ask: Ask, shape: Shape, strides: Strides) -> bool:
    """torch's ``is_channels_last_strides_2d_s4`` / ``_3d_s5``."""
    if isinstance(strides[1], int) and strides[1] == 0:
        return False
    least: Dim = 0
    for d in _CL_ORDER[len(shape)]:
        if isinstance(strides[d], int) and strides[d] == 0:
            return False  # a stride of 0 is below any positive minimum... and 0 >= 0 only first
        if ask.lt(strides[d], least):
            return False
        if d == 0 and ask.eq(least, strides[1]):
            return False
        least = strides[d] if ask.one(shape[d]) else norm(strides[d] * shape[d])
    return True


def suggest_format(ask: Ask, x: Layout) -> Format:
    """torch's ``suggest_memory_format()`` of a tensor with elements."""
    r = x.resolve(ask)
    if r.kind == "contiguous" or len(r.shape) not in (4, 5):
        return "contiguous"  # torch's default strides are never taken for channels-last
    if r.kind in ("channels_last", "channels_last_3d") and _CL_ORDER[len(r.shape)] and len(r.shape) == (
            4 if r.kind == "channels_last" else 5):
        strides = channels_last_strides(r.shape)
    else:
        strides = r.strides(ask)
    if _strides_like_cl(ask, r.shape, strides):
        return "channels_last" if len(r.shape) == 4 else "channels_last_3d"
    return "contiguous"


def dense_strides(ask: Ask, shape: Shape, strides: Strides) -> Strides:
    """torch's ``infer_dense_strides``: dense strides in the memory order of ``strides``
    (the order TensorIterator recovers; a stride of 0 keeps its dim where it is)."""
    n = len(shape)
    if n == 0:
        return ()
    if n == 1:
        return (1,)
    perm = list(range(n - 1, -1, -1))

    def swap(d0: int, d1: int) -> int:
        s0, s1 = strides[d0], strides[d1]
        if _zero(s0) or _zero(s1):
            return 0
        if ask.lt(s0, s1):
            return -1
        if ask.lt(s1, s0):
            return 1
        return 1 if ask.lt(shape[d1], shape[d0]) else 0

    insertion_sort(perm, swap)
    return strides_in_order(shape, perm)


def insertion_sort(perm: list[int], swap: Callable[[int, int], int]) -> None:
    """TensorIterator's insertion sort with ambiguous comparisons (``swap`` says 1: swap,
    -1: stop, 0: look further)."""
    for i in range(1, len(perm)):
        d1 = i
        for d0 in range(i - 1, -1, -1):
            c = swap(perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break


def strides_in_order(shape: Shape, perm: Sequence[int]) -> Strides:
    """Dense strides where ``perm[0]`` is the fastest dim."""
    out: list[Dim] = [0] * len(shape)
    acc: Dim = 1
    for d in perm:
        out[d] = acc
        acc = norm(acc * shape[d])
    return tuple(out)


def _zero(s: Dim) -> bool:
    return isinstance(s, int) and s == 0


# --------------------------------------------------------------------------- view


def view_strides(ask: Ask, x: Layout, new: Shape, maybe_empty: bool = True) -> Strides | None:
    """torch's ``computeStride``: the strides of ``x`` viewed as ``new`` (same element
    count), or None where no strides can describe it (``view`` raises there).
    ``maybe_empty``: ``x`` may have no elements (else it is known to have some)."""
    old = x.shape
    if not old:
        return tuple(1 for _ in new)
    if x.kind == "contiguous":
        return default_strides(new)  # one chunk (for an empty tensor, any strides do)
    if maybe_empty and ask.empty(old):
        return x.strides(ask) if same_dims(old, new) else default_strides(new)
    r = x.resolve(ask)
    if r.kind == "contiguous":
        return default_strides(new)
    stride = r.strides(ask)
    if same_dims(stride, default_strides(old)):
        return default_strides(new)
    out: list[Dim] = [0] * len(new)
    view_d = len(new) - 1
    base = stride[-1]
    tensor_numel: Dim = 1
    view_numel: Dim = 1
    for td in range(len(old) - 1, -1, -1):
        tensor_numel = norm(tensor_numel * old[td])
        if td == 0 or (not ask.one(old[td - 1]) and not ask.eq(stride[td - 1], norm(tensor_numel * base))):
            while view_d >= 0 and (ask.lt(view_numel, tensor_numel) or ask.one(new[view_d])):
                out[view_d] = norm(view_numel * base)
                view_numel = norm(view_numel * new[view_d])
                view_d -= 1
            if not ask.eq(view_numel, tensor_numel):
                return None
            if td > 0:
                base = stride[td - 1]
                tensor_numel = 1
                view_numel = 1
    if view_d != -1:
        return None
    return tuple(out)


def viewed(x: Layout, new: Shape) -> Layout:
    """The layout of ``x.view(new)`` (where the view exists)."""

    def make(ask: Ask) -> Layout:
        strides = view_strides(ask, x, new, maybe_empty=False)
        return Layout.strided(new, default_strides(new) if strides is None else strides)  # None: a hypothetical path

    if x.kind == "contiguous":
        return Layout.contiguous(new, x.dtype)
    return Layout.lazy(new, make, x.dtype, x.overlap)


def splits(old: Shape, new: Shape) -> bool:
    """Is ``new`` ``old`` with each dim split in consecutive dims (dims of 1 anywhere), at
    every size?  Such a view always exists, whatever the strides."""
    j = 0
    for d in old:
        acc: Dim = 1
        while j < len(new) and not same_dims([acc], [d]):
            acc = norm(acc * new[j])
            j += 1
        if not same_dims([acc], [d]):
            return False
    return all(isinstance(d, int) and d == 1 for d in new[j:])

"""The layout of an elementwise op's output: torch's TensorIterator (CPU).

TensorIterator gives a new output the memory order of its inputs (TensorIterator.cpp):

- fast setup, when every input has the output's shape: all contiguous -> contiguous; all
  channels-last contiguous -> channels-last; all non-overlapping and dense with equal
  strides -> those strides;
- otherwise each input's strides, with 0 for the dims it broadcasts, sort the dims
  (``reorder_dimensions``: an insertion sort where the first input that orders two dims
  strictly decides, equal strides are ordered by size, a broadcast dim defers to the next
  input), and the output is dense in that order (contiguous if the order is the natural one).

A Python number in an op (``x * 2``) is a 0-d operand: it never orders dims, but it makes
the shapes differ, so there is no fast setup.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.dims import Shape
from .ask import Ask
from .layout import Layout, insertion_sort, is_dense, is_format_contiguous, strides_in_order

_DTYPES = ("float16", "float32", "float64")


def scalar() -> Layout:
    """A Python number taking part in an op (a wrapped 0-d tensor)."""
    return Layout.contiguous(())


def result_dtype(operands: Sequence[Layout]) -> str:
    """torch's type promotion among float tensors (0-d tensors count only if all are 0-d)."""
    dims = [x for x in operands if x.shape] or list(operands)
    known = [x.dtype for x in dims if x.dtype in _DTYPES]
    return max(known, key=_DTYPES.index) if known else "float32"


def iterate(shape: Shape, operands: Sequence[Layout]) -> Layout:
    """The output of an elementwise op with these inputs (in torch's argument order), lazily."""
    dtype = result_dtype(operands)
    full = [x for x in operands if x.shape]
    if full and all(x.kind == "contiguous" and x.shape == tuple(shape) for x in full):
        # contiguous inputs (and numbers): a contiguous output (with numbers, the order that
        # reorder_dimensions recovers from default strides is the natural one)
        return Layout.contiguous(shape, dtype)
    return Layout.lazy(shape, lambda ask: _iterate(ask, shape, operands), dtype, overlap=False)


def _iterate(ask: Ask, shape: Shape, operands: Sequence[Layout]) -> Layout:
    ops = [x.resolve(ask) for x in operands]
    scalars = any(not x.shape for x in ops)
    tensors = any(x.shape for x in ops)
    if not (scalars and tensors) and all(ask.same(x.shape, shape) for x in ops):
        for fmt in ("contiguous", "channels_last"):
            if all(is_format_contiguous(ask, x, fmt) for x in ops):  # type: ignore[arg-type]
                return Layout.fresh(shape, fmt)  # type: ignore[arg-type]
        if all(is_dense(ask, x) for x in ops):
            last = ops[-1].strides(ask)
            if all(ask.same(x.strides(ask), last) for x in ops[:-1]):
                return Layout.strided(shape, last)
    n = len(shape)
    if n <= 1:
        return Layout.contiguous(shape)
    strides = [_broadcast_strides(ask, x, shape) for x in ops]

    def swap(d0: int, d1: int) -> int:
        for s in strides:
            s0, s1 = s[d0], s[d1]
            if _zero(s0) or _zero(s1):
                continue
            if ask.lt(s0, s1):
                return -1
            if ask.lt(s1, s0):
                return 1
            if ask.lt(shape[d1], shape[d0]):
                return 1
        return 0

    perm = list(range(n - 1, -1, -1))
    insertion_sort(perm, swap)
    if perm == list(range(n - 1, -1, -1)):
        return Layout.contiguous(shape)
    return Layout.strided(shape, strides_in_order(shape, perm))


def _broadcast_strides(ask: Ask, x: Layout, shape: Shape) -> list[object]:
    """An input's strides over the output's dims: 0 where it broadcasts (or has no dim)."""
    own = x.strides(ask)
    offset = len(shape) - len(x.shape)
    out: list[object] = [0] * offset
    for i, (size, stride) in enumerate(zip(x.shape, own, strict=True)):
        out.append(0 if ask.one(size) and not ask.one(shape[offset + i]) else stride)
    return out


def _zero(s: object) -> bool:
    return isinstance(s, int) and s == 0

"""roll, flip, repeat, tile, repeat_interleave, gather, index_select, take_along_dim, cumsum,
sort, argsort, topk, argmax / argmin, diagonal, tril / triu, diag_embed, t, movedim, swapaxes
against torch at random shapes and arguments, including the ones where torch raises (index
tensors are int64 zeros: index 0, valid exactly where the indexed dim is non-empty).  The
symbolic rule is checked at the same sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shapeplan.ops import REGISTRY
from shapeplan.ops.ctx import RuleCtx
from shapeplan.ops.reshape import movedim_order
from tests.oracle import predict, predict_symbolic, symbolize, torch_call_source, torch_shape

LONG = torch.int64
SHAPE = st.lists(st.integers(0, 4), max_size=4)
DIM = st.integers(-5, 4)


def check(op: str, shapes: Sequence[Sequence[int]], args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None,
          dtypes: Sequence[Any] | None = None, mask: Sequence[Sequence[bool]] | None = None) -> Any:
    kwargs = kwargs or {}
    want = torch_shape(op, [s if len(s) else [()] for s in shapes], args, kwargs, dtypes=dtypes)  # type: ignore[misc]
    got = predict(op, shapes, args, kwargs)
    src = torch_call_source(op, len(shapes), args, kwargs)
    assert got == want, f"{src} at {[tuple(s) for s in shapes]}: predicted {got}, torch {want}"
    sym_shapes, env = symbolize(shapes, mask)
    got_sym = predict_symbolic(op, sym_shapes, env, args, kwargs)
    assert got_sym == want, f"{src} at {sym_shapes} {env}: symbolic {got_sym}, torch {want}"
    return want


@st.composite
def mask_of(draw: Any, shapes: Sequence[Sequence[int]]) -> list[list[bool]]:
    return [[draw(st.booleans()) for _ in s] for s in shapes]


# --------------------------------------------------------------------------- same shape


@settings(max_examples=200, deadline=None)
@given(SHAPE, st.lists(st.integers(-3, 3), max_size=3), st.one_of(st.none(), st.lists(DIM, max_size=3)), st.data())
def test_roll(shape: list[int], shifts: list[int], dims: list[int] | None, data: Any) -> None:
    kwargs = {} if dims is None else {"dims": dims}
    check("roll", [shape], (shifts,), kwargs, mask=data.draw(mask_of([shape])))


@settings(max_examples=150, deadline=None)
@given(SHAPE, st.lists(DIM, max_size=3), st.data())
def test_flip(shape: list[int], dims: list[int], data: Any) -> None:
    check("flip", [shape], (dims,), mask=data.draw(mask_of([shape])))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["cumsum", "cumprod", "logcumsumexp", "sort", "argsort", "tril", "triu", "t"]), SHAPE, DIM,
       st.data())
def test_same_shape(op: str, shape: list[int], dim: int, data: Any) -> None:
    kwargs: dict[str, Any] = {}
    if op in ("cumsum", "cumprod", "logcumsumexp", "sort", "argsort"):
        kwargs["dim"] = dim
    if op in ("sort", "argsort"):
        kwargs.update(descending=data.draw(st.booleans()), stable=data.draw(st.booleans()))
    if op in ("tril", "triu"):
        kwargs["diagonal"] = dim
    check(op, [shape], (), kwargs, mask=data.draw(mask_of([shape])))


# --------------------------------------------------------------------------- repeat


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["repeat", "tile"]), SHAPE, st.lists(st.integers(-1, 3), max_size=5), st.data())
def test_repeat(op: str, shape: list[int], sizes: list[int], data: Any) -> None:
    check(op, [shape], (sizes,), mask=data.draw(mask_of([shape])))


@settings(max_examples=200, deadline=None)
@given(SHAPE, st.integers(-1, 3), st.one_of(st.none(), DIM), st.one_of(st.none(), st.integers(0, 12)), st.data())
def test_repeat_interleave(shape: list[int], repeats: int, dim: int | None, out: int | None, data: Any) -> None:
    kwargs: dict[str, Any] = {"dim": dim} if dim is not None else {}
    if out is not None:
        kwargs["output_size"] = out
    check("repeat_interleave", [shape], (repeats,), kwargs, mask=data.draw(mask_of([shape])))


# --------------------------------------------------------------------------- indexing


@st.composite
def index_like(draw: Any, shape: Sequence[int]) -> list[int]:
    """An index shape: mostly the input's rank and sizes around the input's."""
    k = draw(st.integers(0, 5))
    if k == 0:
        return draw(SHAPE)
    return [max(0, s + draw(st.sampled_from([0, 0, -1, 1]))) for s in shape]


@settings(max_examples=300, deadline=None)
@given(SHAPE, DIM, st.data())
def test_gather(shape: list[int], dim: int, data: Any) -> None:
    index = data.draw(index_like(shape))
    check("gather", [shape, index], (dim,), dtypes=[None, LONG], mask=data.draw(mask_of([shape, index])))


@settings(max_examples=200, deadline=None)
@given(SHAPE, st.lists(st.integers(0, 3), max_size=2), DIM, st.data())
def test_index_select(shape: list[int], index: list[int], dim: int, data: Any) -> None:
    check("index_select", [shape, index], (dim,), dtypes=[None, LONG], mask=data.draw(mask_of([shape, index])))


@settings(max_examples=300, deadline=None)
@given(SHAPE, st.one_of(st.none(), DIM), st.data())
def test_take_along_dim(shape: list[int], dim: int | None, data: Any) -> None:
    index = data.draw(index_like(shape))
    if data.draw(st.booleans()):
        index = [1 if data.draw(st.booleans()) else s for s in index]  # broadcasting
    check("take_along_dim", [shape, index], (), {} if dim is None else {"dim": dim}, dtypes=[None, LONG],
          mask=data.draw(mask_of([shape, index])))


# --------------------------------------------------------------------------- topk / argmax


@settings(max_examples=200, deadline=None)
@given(SHAPE, st.integers(-1, 5), DIM, st.data())
def test_topk(shape: list[int], k: int, dim: int, data: Any) -> None:
    kwargs = {"dim": dim, "largest": data.draw(st.booleans())}
    check("topk", [shape], (k,), kwargs, mask=data.draw(mask_of([shape])))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["argmax", "argmin"]), SHAPE, st.one_of(st.none(), DIM), st.booleans(), st.data())
def test_argmax(op: str, shape: list[int], dim: int | None, keepdim: bool, data: Any) -> None:
    check(op, [shape], (), {"dim": dim, "keepdim": keepdim}, mask=data.draw(mask_of([shape])))


# --------------------------------------------------------------------------- diagonals and dim order


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["diagonal", "diag_embed"]), SHAPE, st.integers(-4, 4), DIM, DIM, st.data())
def test_diagonal(op: str, shape: list[int], offset: int, d1: int, d2: int, data: Any) -> None:
    check(op, [shape], (offset, d1, d2), mask=data.draw(mask_of([shape])))


@settings(max_examples=200, deadline=None)
@given(SHAPE, st.lists(DIM, max_size=3), st.lists(DIM, max_size=3), st.data())
def test_movedim(shape: list[int], source: list[int], destination: list[int], data: Any) -> None:
    if data.draw(st.booleans()):
        destination = destination[:len(source)] + [0] * (len(source) - len(destination))
    op = data.draw(st.sampled_from(["movedim", "moveaxis"]))
    check(op, [shape], (source, destination), mask=data.draw(mask_of([shape])))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["swapaxes", "swapdims"]), SHAPE, DIM, DIM, st.data())
def test_swap(op: str, shape: list[int], d0: int, d1: int, data: Any) -> None:
    check(op, [shape], (d0, d1), mask=data.draw(mask_of([shape])))


def test_examples() -> None:
    env = {"N": 2, "L": 7, "H": 5, "W": 6}
    assert predict_symbolic("roll", [["N", "H", "W", 8]], env, ([-3, -3],), {"dims": [1, 2]}) == (2, 5, 6, 8)
    assert predict_symbolic("topk", [["N", "L"]], env, (3,)) == (2, 3)
    assert predict_symbolic("topk", [["N", "L"]], {**env, "L": 2}, (3,)) is None
    assert predict_symbolic("repeat", [["N", "L"]], env, ([1, 3, 1],)) == (1, 6, 7)
    assert predict_symbolic("diagonal", [["H", "W"]], env, (1,)) == (5,)
    assert predict_symbolic("diagonal", [["H", "W"]], {"H": 9, "W": 3}, (1,)) == (2,)
    assert predict_symbolic("gather", [["N", "L"], ["N", 3]], env, (1,)) == (2, 3)
    assert predict_symbolic("index_select", [["N", "L"], [4]], env, (0,)) == (4, 7)
    assert movedim_order(RuleCtx(), 3, (0,), (2,)) == [1, 2, 0]
    assert torch_call_source("topk", 1, (2,)) == "torch.topk(x0, k=2)[0]"
    assert torch_call_source("gather", 2, (1,)) == "torch.gather(x0, index=x1, dim=1)"
    assert torch_call_source("repeat", 1, ([2, 1],)) == "x0.repeat(2, 1)"
    assert REGISTRY["sort"].output_index == 0 and REGISTRY["argsort"].output_index is None

"""F.rms_norm, F.prelu, F.embedding, F.one_hot, torch.norm / linalg.vector_norm, var_mean /
std_mean and the dtype casts (long, int, bool, ...) against torch at random shapes and
arguments, including the ones where torch raises; the symbolic rule is checked at the same
sizes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shapeplan.ops.ctx import ArgError
from tests.oracle import predict, predict_symbolic, symbolize, torch_call_source, torch_shape

LONG = torch.int64
SHAPE = st.lists(st.integers(0, 4), max_size=4)


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


@settings(max_examples=200, deadline=None)
@given(SHAPE, st.integers(1, 3), st.booleans(), st.data())
def test_rms_norm(shape: list[int], k: int, weight: bool, data: Any) -> None:
    normalized = shape[len(shape) - k:] if data.draw(st.integers(0, 4)) else [data.draw(st.integers(0, 3))]
    shapes = [shape]
    if weight:
        shapes.append(normalized if data.draw(st.integers(0, 4)) else [*normalized, 1])
    kwargs = {"eps": 1e-6} if data.draw(st.booleans()) else {}
    if not normalized:  # torch: "at least 1-dimensional"; shapeplan refuses the argument
        with pytest.raises(ArgError):
            predict("rms_norm", shapes, (normalized,), kwargs)
        with pytest.raises(RuntimeError, match="at least 1-dimensional"):
            torch.nn.functional.rms_norm(torch.zeros(shape), [])
        return
    check("rms_norm", shapes, (normalized,), kwargs, mask=data.draw(mask_of(shapes)))


@settings(max_examples=150, deadline=None)
@given(SHAPE, st.sampled_from([[], [1], [2], [3], [1, 3]]), st.data())
def test_prelu(shape: list[int], weight: list[int], data: Any) -> None:
    check("prelu", [shape, weight], mask=data.draw(mask_of([shape, weight])))


@settings(max_examples=150, deadline=None)
@given(SHAPE, st.sampled_from([[5, 4], [0, 4], [5], [5, 4, 1], [1, 0]]), st.one_of(st.none(), st.integers(-6, 5)),
       st.data())
def test_embedding(shape: list[int], weight: list[int], padding_idx: int | None, data: Any) -> None:
    kw = {} if padding_idx is None else {"padding_idx": padding_idx}
    try:
        want = torch_shape("embedding", [shape if shape else [()], weight], (), kw, dtypes=[LONG])  # type: ignore[list-item]
    except AssertionError:  # torch asserts on padding_idx (an argument error)
        want = None
    assert predict("embedding", [shape, weight], (), kw) == want
    if want is not None:
        sym, env = symbolize([shape, weight], data.draw(mask_of([shape, weight])))
        assert predict_symbolic("embedding", sym, env, (), kw) == want


@settings(max_examples=100, deadline=None)
@given(SHAPE, st.integers(-2, 4), st.data())
def test_one_hot(shape: list[int], n: int, data: Any) -> None:
    if n == -1 and 0 not in shape:
        assert predict("one_hot", [shape], (n,)) is None  # the count of classes is data
        return
    check("one_hot", [shape], (n,), dtypes=[LONG], mask=data.draw(mask_of([shape])))


P = st.sampled_from(["fro", 0, 1, 2, 3.5, -1, float("inf"), float("-inf")])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["norm", "vector_norm"]), SHAPE, P, st.one_of(st.none(), st.integers(-3, 3),
       st.lists(st.integers(-3, 3), max_size=2)), st.booleans(), st.data())
def test_norm(op: str, shape: list[int], p: Any, dim: Any, keepdim: bool, data: Any) -> None:
    key = "p" if op == "norm" else "ord"
    if op == "vector_norm" and p == "fro":
        p = 2
    check(op, [shape], (), {key: p, "dim": dim, "keepdim": keepdim}, mask=data.draw(mask_of([shape])))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["var_mean", "std_mean"]), SHAPE, st.one_of(st.none(), st.integers(-3, 3)), st.booleans(),
       st.data())
def test_var_mean(op: str, shape: list[int], dim: int | None, keepdim: bool, data: Any) -> None:
    kw: dict[str, Any] = {"keepdim": keepdim} if dim is not None else {}
    check(op, [shape], (dim,) if dim is not None else (), kw, mask=data.draw(mask_of([shape])))


def test_casts() -> None:
    for op in ("long", "int", "short", "char", "byte", "bool", "bfloat16"):
        assert check(op, [(2, 0, 3)]) == (2, 0, 3)
        assert torch_call_source(op, 1) == f"x0.{op}()"
    assert torch_call_source("var_mean", 1, (1,)) == "torch.var_mean(x0, dim=1)[0]"

"""Comparisons, logic, bitwise and integer-division ops, where, masked_fill(_), lerp, addcmul,
clamp with tensor bounds and the shape-keeping math functions, against torch at random
shapes (mostly broadcastable, sometimes not: torch raises there), with a number operand
where torch takes one.  The symbolic rule is checked at the same sizes (in the case of the
sizes where a symbolic size is 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shapeplan.ops import REGISTRY
from shapeplan.ops.compare import BINARY_SCALAR, BINARY_TENSOR, UNARY
from tests.oracle import predict, predict_symbolic, symbolize, torch_call_source, torch_shape

BOOL, LONG = torch.bool, torch.int64


def check(op: str, shapes: Sequence[Sequence[int]], args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None,
          dtypes: Sequence[Any] | None = None, mask: Sequence[Sequence[bool]] | None = None,
          shared: bool = False) -> Any:
    """predict == torch; so does the symbolic rule at the same sizes."""
    kwargs = kwargs or {}
    want = torch_shape(op, [s if len(s) else [()] for s in shapes], args, kwargs, dtypes=dtypes)  # type: ignore[misc]
    got = predict(op, shapes, args, kwargs)
    src = torch_call_source(op, len(shapes), args, kwargs)
    assert got == want, f"{src} at {[tuple(s) for s in shapes]}: predicted {got}, torch {want}"
    sym_shapes, env = symbolize(shapes, mask, shared)
    got_sym = predict_symbolic(op, sym_shapes, env, args, kwargs)
    assert got_sym == want, f"{src} at {sym_shapes} {env}: symbolic {got_sym}, torch {want}"
    return want


@st.composite
def broadcastable(draw: Any, n: int = 2, max_rank: int = 4) -> list[tuple[int, ...]]:
    """n shapes that mostly broadcast: per aligned dim equal sizes, a 1 somewhere, or any."""
    ranks = [draw(st.integers(0, max_rank)) for _ in range(n)]
    cols: list[list[int]] = []
    for _ in range(max(ranks)):
        kind = draw(st.sampled_from(["equal", "one", "any", "equal"]))
        v = draw(st.integers(0, 4))
        if kind == "equal":
            cols.append([v] * n)
        elif kind == "one":
            cols.append([1 if draw(st.booleans()) else v for _ in range(n)])
        else:
            cols.append([draw(st.integers(0, 4)) for _ in range(n)])
    return [tuple(c[i] for c in cols[len(cols) - r:]) for i, r in enumerate(ranks)]


@st.composite
def masks(draw: Any, shapes: Sequence[Sequence[int]]) -> list[list[bool]]:
    return [[draw(st.booleans()) for _ in s] for s in shapes]


def _dtype(op: str) -> Any:
    return LONG if op.startswith("bitwise") else torch.float32


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(BINARY_SCALAR), broadcastable(), st.booleans(), st.data())
def test_binary(op: str, shapes: list[tuple[int, ...]], scalar: bool, data: Any) -> None:
    dt = _dtype(op)
    if scalar:
        other = data.draw(st.sampled_from([1, 3, True] if dt is LONG else [0.5, 2, -1.5]))
        check(op, shapes[:1], (), {"other": other}, dtypes=[dt], mask=data.draw(masks(shapes[:1])))
    else:
        check(op, shapes, dtypes=[dt, dt], mask=data.draw(masks(shapes)), shared=data.draw(st.booleans()))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(BINARY_TENSOR), broadcastable(), st.data())
def test_binary_tensors_only(op: str, shapes: list[tuple[int, ...]], data: Any) -> None:
    check(op, shapes, mask=data.draw(masks(shapes)), shared=data.draw(st.booleans()))
    assert REGISTRY[op].n_inputs == (2, 2) and REGISTRY[op].param("other") is None  # no number form


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([*UNARY, "nan_to_num", "logit"]), st.lists(st.integers(0, 4), max_size=4), st.data())
def test_unary(op: str, shape: list[int], data: Any) -> None:
    dt = LONG if op == "bitwise_not" else BOOL if op == "logical_not" and data.draw(st.booleans()) else None
    check(op, [shape], dtypes=[dt])


@settings(max_examples=300, deadline=None)
@given(broadcastable(3), st.integers(0, 2), st.data())
def test_where(shapes: list[tuple[int, ...]], numbers: int, data: Any) -> None:
    """where(condition, input, other) with 0, 1 (other) or 2 numbers."""
    kwargs = {"other": 0.0, "input": 1.0} if numbers == 2 else {"other": -1} if numbers == 1 else {}
    n = 3 - numbers
    check("where", shapes[:n], (), kwargs, dtypes=[BOOL], mask=data.draw(masks(shapes[:n])),
          shared=data.draw(st.booleans()))


def test_where_arguments() -> None:
    assert predict("where", [(2, 3)]) is None  # torch.where(c): indices
    assert predict("where", [(2, 3), (3,)]) is None  # no `other`
    assert predict("where", [(2, 3), (3,)], (), {"input": 1.0}) is None  # the tensor is `input`: other is missing
    assert predict("where", [(2, 3), (3,), (3,)], (), {"other": 1.0}) is None
    assert check("where", [(2, 1), (3,)], (), {"other": 0.5}, dtypes=[BOOL]) == (2, 3)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["masked_fill", "masked_fill_"]), broadcastable(), st.sampled_from(["number", "0d", "1d"]),
       st.data())
def test_masked_fill(op: str, shapes: list[tuple[int, ...]], value: str, data: Any) -> None:
    x, m = shapes
    if value == "number":
        check(op, [x, m], (), {"value": data.draw(st.sampled_from([0.0, float("-inf"), 1]))}, dtypes=[None, BOOL],
              mask=data.draw(masks([x, m])), shared=data.draw(st.booleans()))
    else:
        v: tuple[int, ...] = () if value == "0d" else (1,)
        check(op, [x, m, v], dtypes=[None, BOOL], mask=data.draw(masks([x, m, v])), shared=data.draw(st.booleans()))


def test_masked_fill_examples() -> None:
    # torch 2.14: the out-of-place op broadcasts both ways, the in-place one never grows the input
    assert check("masked_fill", [(3,), (1, 3)], (), {"value": 0.0}, dtypes=[None, BOOL]) == (1, 3)
    assert check("masked_fill_", [(3,), (1, 3)], (), {"value": 0.0}, dtypes=[None, BOOL]) is None
    assert check("masked_fill_", [(2, 3), (2, 1)], (), {"value": 0.0}, dtypes=[None, BOOL]) == (2, 3)
    assert check("masked_fill", [(2, 3), (3, 1)], (), {"value": 0.0}, dtypes=[None, BOOL]) is None
    assert predict("masked_fill", [(2, 3), (3,)]) is None  # no value
    assert predict("masked_fill", [(2, 3), (3,), ()], (), {"value": 1.0}) is None  # two values
    # attention masks: (N, 1, 1, L) against (N, heads, L, L)
    env = {"N": 2, "L": 5}
    assert predict_symbolic("masked_fill", [["N", 4, "L", "L"], ["N", 1, 1, "L"]], env, (), {"value": -1e9}) \
        == (2, 4, 5, 5)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["lerp", "addcmul", "addcdiv", "clamp", "clip"]), broadcastable(3), st.booleans(), st.data())
def test_three_tensors(op: str, shapes: list[tuple[int, ...]], two: bool, data: Any) -> None:
    kwargs: dict[str, Any] = {}
    if op == "lerp" and two:
        kwargs = {"weight": 0.25}
    if op in ("clamp", "clip") and two and data.draw(st.booleans()):
        shapes[1] = ()  # a tensor min next to a number max: torch reads a 0-d tensor as a number
        kwargs = {"max": 1.0}
    if op in ("addcmul", "addcdiv") and two:
        kwargs = {"value": 2}
        two = False
    shapes = shapes[:2] if two else shapes
    check(op, shapes, (), kwargs, mask=data.draw(masks(shapes)), shared=data.draw(st.booleans()))


def test_clamp_mixed_bounds() -> None:
    assert check("clamp", [(2, 3), ()], (), {"max": 1.0}) == (2, 3)
    assert predict("clamp", [(2, 3), (3,)], (), {"max": 1.0}) is None
    with pytest.raises(TypeError, match="invalid combination"):
        torch_shape("clamp", [(2, 3), (3,)], (), {"max": 1.0})  # no overload: the oracle re-raises it
    assert predict("clamp", [(2, 3), (), ()], (), {"max": 1.0}) is None


def test_specs() -> None:
    assert REGISTRY["gt"].n_inputs == (1, 2) and REGISTRY["logical_and"].n_inputs == (2, 2)
    assert torch_call_source("gt", 1, (), {"other": 0}) == "torch.gt(x0, other=0)"
    assert torch_call_source("where", 1, (1.0, 0.0)) == "torch.where(x0, 1.0, 0.0)"
    assert torch_call_source("where", 2, (), {"other": 0.0}) == "torch.where(x0, x1, other=0.0)"
    assert torch_call_source("masked_fill_", 2, (), {"value": float("-inf")}) == \
        "x0.masked_fill_(x1, value=float('-inf'))"
    assert torch_call_source("clamp", 3) == "torch.clamp(x0, min=x1, max=x2)"
    assert torch_call_source("bitwise_and", 1, (), {"other": 1}) == "torch.bitwise_and(x0, other=1)"

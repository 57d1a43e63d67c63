"""Advanced indexing (x[..., idx, ...] with integer index tensors) against torch: random ranks,
items (ints, slices, None, ..., index tensors of broadcastable shapes) and sizes."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shapeplan.ops import REGISTRY
from shapeplan.ops.calls import call_source
from shapeplan.ops.params import TENSOR
from shapeplan.ops.registry import bind
from tests.oracle import predict, predict_symbolic


def torch_index(x: tuple[int, ...], items: list[Any], tensors: list[tuple[int, ...]]) -> tuple[int, ...] | None:
    names = ["x0", *(f"x{i + 1}" for i in range(len(tensors)))]
    src = call_source(REGISTRY["index"], names, bind(REGISTRY["index"], (items,), {}))
    env: dict[str, Any] = {"torch": torch, "x0": torch.zeros(x)}
    for i, t in enumerate(tensors):
        env[f"x{i + 1}"] = torch.zeros(t, dtype=torch.long)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return tuple(eval(src, env).shape)  # noqa: S307 - source built by shapeplan
        except (IndexError, RuntimeError):
            return None


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_advanced_index_matches_torch(data: st.DataObject) -> None:
    rank = data.draw(st.integers(1, 4))
    x = tuple(data.draw(st.integers(1, 4)) for _ in range(rank))
    items: list[Any] = []
    for _ in range(data.draw(st.integers(1, rank + 1))):
        items.append(data.draw(st.sampled_from([TENSOR, TENSOR, 0, -1, ":", "1:", None, "..."])))
    if TENSOR not in items:
        items.append(TENSOR)
    if items.count("...") > 1:
        items = [i for i in items if i != "..."] + ["..."]
    n_t = items.count(TENSOR)
    tensors = [tuple(data.draw(st.sampled_from([1, 2, 3])) for _ in range(data.draw(st.integers(0, 2))))
               for _ in range(n_t)]
    want = torch_index(x, items, tensors)
    got = predict("index", [x, *tensors], (items,))
    assert got == want, (x, items, tensors)
    sym = [f"S{i}" for i in range(rank)]
    env = {f"S{i}": v for i, v in enumerate(x)}
    assert predict_symbolic("index", [sym, *tensors], env, (items,)) == want, (x, items, tensors)


def test_advanced_index_examples() -> None:
    x = (2, 3, 4, 5)
    assert predict("index", [x, (6,)], ([TENSOR],)) == (6, 3, 4, 5)
    assert predict("index", [x, (6,), (6,)], ([TENSOR, 0, TENSOR],)) == (6, 5)  # the int goes first
    assert predict("index", [x, (6,), (6,)], ([TENSOR, ":", 0, TENSOR],)) == (6, 3)  # apart: B first
    assert predict("index", [x, (6,), (6, 1)], ([":", TENSOR, ":", TENSOR],)) == (6, 6, 2, 4)
    assert predict("index", [x, (6,), (7,)], ([TENSOR, TENSOR],)) is None  # index shapes do not broadcast

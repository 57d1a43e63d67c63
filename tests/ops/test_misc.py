"""Identity, dropout (modules in eval mode, functions with ``training``), Embedding and
ChannelShuffle against torch, at random arguments and shapes (0-d and empty included)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ops.test_activation import check, mask_for, param_count_rule, param_count_torch, run_torch, shapes_st
from tests.oracle import predict, predict_symbolic

Shape = tuple[int, ...]

DROPOUT_MODULES = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]
DROPOUT_FUNCTIONS = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]


@settings(max_examples=60, deadline=None)
@given(shapes_st(), st.data())
def test_identity(shape: Shape, data: Any) -> None:
    assert check("Identity", [shape], mask=data.draw(mask_for([shape]))) == shape


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(DROPOUT_MODULES + DROPOUT_FUNCTIONS), shapes_st(max_rank=6, max_size=3),
       st.sampled_from([0.0, 0.5, 1.0]), st.booleans(), st.data())
def test_dropout(op: str, shape: Shape, p: float, inplace: bool, data: Any) -> None:
    kwargs: dict[str, Any] = {"p": p, "inplace": inplace}
    if op in DROPOUT_FUNCTIONS and data.draw(st.booleans()):
        kwargs["training"] = data.draw(st.booleans())
    assert check(op, [shape], (), kwargs, mask=data.draw(mask_for([shape]))) in (shape, None)


def test_dropout_examples() -> None:
    assert check("Dropout1d", [(2, 3, 4, 5)]) is None
    assert check("Dropout2d", [(3,)]) == (3,)  # eval mode: nothing checked
    assert check("dropout2d", [(3,)]) is None  # training: channel-wise needs 2 dims
    assert check("dropout2d", [(0,)]) == (0,)  # ... unless the input is empty
    assert check("dropout3d", [(3,)]) == (3,)  # a batch dim is added first
    assert check("dropout3d", [()]) is None
    assert check("feature_alpha_dropout", [(3,)], (), {"training": True}) is None
    assert check("feature_alpha_dropout", [(3,)]) == (3,)  # training=False by default
    for bad in (-0.1, 1.5):
        with pytest.raises(Exception, match="between 0 and 1"):
            predict("Dropout", [(2,)], (bad,))
        assert run_torch("dropout", [(2,)], (), {"p": 0.5}) == (2,)


# --------------------------------------------------------------------------- Embedding


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 4), st.integers(0, 3), shapes_st(max_rank=4), st.data())
def test_embedding(n: int, dim: int, shape: Shape, data: Any) -> None:
    kwargs: dict[str, Any] = {}
    if data.draw(st.booleans()):
        kwargs["padding_idx"] = data.draw(st.integers(-5, 5))
    if data.draw(st.booleans()):
        kwargs["max_norm"] = 1.0
    check("Embedding", [shape], (n, dim), kwargs, mask=data.draw(mask_for([shape])), dtypes=[torch.long])


def test_embedding_examples() -> None:
    assert check("Embedding", [(2, 7)], (10, 3), dtypes=[torch.long]) == (2, 7, 3)
    assert check("Embedding", [()], (10, 3), dtypes=[torch.long]) == (3,)
    assert check("Embedding", [(2, 7)], (0, 3), dtypes=[torch.long]) is None
    assert check("Embedding", [(0, 7)], (0, 3), dtypes=[torch.long]) == (0, 7, 3)
    assert check("Embedding", [(2,)], (3, 4), {"padding_idx": 3}, dtypes=[torch.long]) is None
    assert check("Embedding", [(2,)], (3, 4), {"padding_idx": -3}, dtypes=[torch.long]) == (2, 4)
    assert predict_symbolic("Embedding", [["N", "T"]], {"N": 2, "T": 5}, (100, 16)) == (2, 5, 16)


@pytest.mark.parametrize("n,dim", [(0, 3), (10, 3), (7, 0)])
def test_embedding_param_count(n: int, dim: int) -> None:
    assert param_count_rule("Embedding", (n, dim)) == param_count_torch("Embedding", (n, dim))


# --------------------------------------------------------------------------- ChannelShuffle


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["ChannelShuffle", "channel_shuffle"]), st.integers(-1, 4), shapes_st(max_rank=5, max_size=6),
       st.data())
def test_channel_shuffle(op: str, groups: int, shape: Shape, data: Any) -> None:
    check(op, [shape], (groups,), mask=data.draw(mask_for([shape])))


def test_channel_shuffle_examples() -> None:
    assert check("ChannelShuffle", [(2, 6, 4, 4)], (3,)) == (2, 6, 4, 4)
    assert check("ChannelShuffle", [(2, 6, 4, 4)], (4,)) is None
    assert check("ChannelShuffle", [(2, 6)], (3,)) is None
    assert check("ChannelShuffle", [(2, 6, 4)], (0,)) is None
    assert predict_symbolic("ChannelShuffle", [["N", "C", "H", "W"]], {"N": 1, "C": 8, "H": 2, "W": 2}, (4,)) \
        == (1, 8, 2, 2)

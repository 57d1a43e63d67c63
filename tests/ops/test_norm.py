"""Normalisation rules against torch (modules in eval mode): BatchNorm / InstanceNorm (1d/2d/3d),
GroupNorm, LayerNorm, RMSNorm, LocalResponseNorm, CrossMapLRN2d, at random arguments and
shapes, including empty dims, single values per channel, wrong ranks and channel counts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shapeplan.core.dims import sym
from shapeplan.ops import REGISTRY
from shapeplan.ops.ctx import ArgError, RuleCtx
from shapeplan.ops.registry import bind, resolve_auto
from tests.ops.test_activation import check, mask_for, param_count_rule, param_count_torch, shapes_st
from tests.oracle import predict, predict_symbolic

Shape = tuple[int, ...]


@st.composite
def channel_shape(draw: Any, ranks: tuple[int, ...], channels: int, channel_dim: Any = 1,
                  max_size: int = 3) -> Shape:
    """A shape of one of ``ranks`` (or one off), whose channel dim is ``channels`` most of the time."""
    rank = draw(st.sampled_from([*ranks, *ranks, *ranks, min(ranks) - 1, max(ranks) + 1]))
    rank = max(rank, 0)
    shape = [draw(st.sampled_from([0, 1, 1, 2, 3][: max_size + 2])) for _ in range(rank)]
    cd = channel_dim(rank) if callable(channel_dim) else channel_dim
    if rank > cd and draw(st.integers(0, 3)):
        shape[cd] = channels
    return tuple(shape)


# --------------------------------------------------------------------------- BatchNorm


@settings(max_examples=400, deadline=None)
@given(st.integers(1, 3), st.integers(0, 4), st.booleans(), st.booleans(), st.booleans(),
       st.sampled_from([1e-5, 1e-5, 0.0, -1.0]), st.sampled_from([0.1, None]), st.data())
def test_batch_norm(n: int, nf: int, affine: bool, track: bool, bias: bool, eps: float, momentum: Any,
                    data: Any) -> None:
    ranks = (2, 3) if n == 1 else (n + 2,)
    shape = data.draw(channel_shape(ranks, nf))
    kwargs = {"eps": eps, "momentum": momentum, "affine": affine, "track_running_stats": track, "bias": bias}
    check(f"BatchNorm{n}d", [shape], (nf,), kwargs, mask=data.draw(mask_for([shape])))


def test_batch_norm_examples() -> None:
    assert check("BatchNorm2d", [(1, 3, 1, 1)], (3,)) == (1, 3, 1, 1)  # eval mode, running stats
    assert check("BatchNorm2d", [(1, 3, 1, 1)], (3,), {"track_running_stats": False}) is None
    assert check("BatchNorm2d", [(2, 3, 1, 1)], (3,), {"track_running_stats": False}) == (2, 3, 1, 1)
    assert check("BatchNorm1d", [(0, 5)], (3,)) == (0, 5)  # empty: returns unchecked
    assert check("BatchNorm1d", [(2, 5)], (3,), {"affine": False, "track_running_stats": False}) == (2, 5)
    assert check("BatchNorm2d", [(2, 4, 3, 3)], (3,)) is None
    assert check("BatchNorm2d", [(2, 3, 3)], (3,)) is None
    # symbolic: the single-value condition is N*H*W >= 2
    spec = REGISTRY["BatchNorm2d"]
    ctx = RuleCtx()
    xs = [(sym("N"), 3, sym("H"), sym("W"))]
    spec.rule(ctx, xs, resolve_auto(spec, bind(spec, ["auto"], {"track_running_stats": False}), xs))
    assert [(r.cond.kind, r.code) for r in ctx.requirements] == [("ge", "single-value")]
    assert predict_symbolic("BatchNorm2d", [["N", 3, "H", "W"]], {"N": 1, "H": 1, "W": 1}, ("auto",),
                            {"track_running_stats": False}) is None


def test_norm_auto() -> None:
    assert predict("BatchNorm2d", [(2, 5, 4, 4)], ("auto",)) == (2, 5, 4, 4)
    assert predict("InstanceNorm2d", [(5, 4, 4)], ("auto",), {"affine": True}) == (5, 4, 4)
    assert predict("InstanceNorm2d", [(2, 5, 4, 4)], ("auto",), {"affine": True}) == (2, 5, 4, 4)
    assert predict("GroupNorm", [(2, 6, 4)], (3, "auto")) == (2, 6, 4)
    assert predict("LayerNorm", [(2, 6, 4)], ("auto",)) == (2, 6, 4)
    assert predict("RMSNorm", [(2, 6, 4)], ("auto",)) == (2, 6, 4)


# --------------------------------------------------------------------------- InstanceNorm


@settings(max_examples=400, deadline=None)
@given(st.integers(1, 3), st.integers(0, 3), st.booleans(), st.booleans(), st.booleans(), st.data())
def test_instance_norm(n: int, nf: int, affine: bool, track: bool, bias: bool, data: Any) -> None:
    shape = data.draw(channel_shape((n + 1, n + 2), nf, channel_dim=lambda r: 1 if r == n + 2 else 0))
    kwargs = {"affine": affine, "track_running_stats": track, "bias": bias}
    if data.draw(st.booleans()):
        kwargs["momentum"] = data.draw(st.sampled_from([None, 0.5]))
    check(f"InstanceNorm{n}d", [shape], (nf,), kwargs, mask=data.draw(mask_for([shape])))


def test_instance_norm_examples() -> None:
    assert check("InstanceNorm1d", [(2, 4, 5)], (3,)) == (2, 4, 5)  # affine=False: only a warning
    assert check("InstanceNorm1d", [(2, 4, 5)], (3,), {"affine": True}) is None
    assert check("InstanceNorm1d", [(2, 3, 1)], (3,)) is None  # one spatial element
    assert check("InstanceNorm1d", [(2, 3, 1)], (3,), {"track_running_stats": True}) == (2, 3, 1)
    assert check("InstanceNorm1d", [(0, 3, 2)], (3,), {"affine": True}) is None  # torch: IndexError
    assert check("InstanceNorm2d", [(3, 4, 4)], (3,), {"affine": True}) == (3, 4, 4)  # unbatched


# --------------------------------------------------------------------------- GroupNorm


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 4), st.integers(0, 2), st.booleans(), st.data())
def test_group_norm(g: int, m: int, affine: bool, data: Any) -> None:
    nc = g * m
    shape = list(data.draw(channel_shape((2, 3, 4), nc)))
    if len(shape) >= 2 and data.draw(st.booleans()):
        shape[1] = data.draw(st.integers(0, 6))
    check("GroupNorm", [shape], (g, nc), {"affine": affine}, mask=data.draw(mask_for([shape])))


def test_group_norm_examples() -> None:
    assert check("GroupNorm", [(1, 2)], (2, 2)) is None  # one value per group
    assert check("GroupNorm", [(1, 4)], (2, 4)) == (1, 4)
    assert check("GroupNorm", [(1, 3)], (2, 4), {"affine": False}) is None
    assert check("GroupNorm", [(2, 6, 3)], (2, 4), {"affine": False}) == (2, 6, 3)
    assert check("GroupNorm", [(4,)], (1, 4)) is None
    assert check("GroupNorm", [(2, 0, 3)], (1, 0), {"affine": False}) is None  # C > 0 (torch 2.14)
    assert check("GroupNorm", [(2, 4, 0)], (2, 4)) is None  # HxW > 0 (torch 2.14)
    assert check("GroupNorm", [(0, 4, 3)], (2, 4)) == (0, 4, 3)  # an empty batch is fine
    assert predict("GroupNorm", [(2, 4)], (3, 4)) is None  # constructor: 4 % 3
    with pytest.raises(ArgError):
        predict("GroupNorm", [(2, 4)], (0, 4))


# --------------------------------------------------------------------------- LayerNorm / RMSNorm


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["LayerNorm", "RMSNorm"]), shapes_st(max_rank=4, max_size=3), st.integers(1, 3),
       st.booleans(), st.booleans(), st.data())
def test_layer_norm(op: str, shape: Shape, k: int, affine: bool, bias: bool, data: Any) -> None:
    if len(shape) >= k and data.draw(st.integers(0, 2)):
        ns: Any = list(shape[len(shape) - k:])
    else:
        ns = [data.draw(st.integers(0, 3)) for _ in range(k)]
    if len(ns) == 1 and data.draw(st.booleans()):
        ns = ns[0]
    kwargs: dict[str, Any] = {"elementwise_affine": affine}
    if op == "LayerNorm":
        kwargs["bias"] = bias
    check(op, [shape], (ns,), kwargs, mask=data.draw(mask_for([shape])))


def test_layer_norm_examples() -> None:
    assert check("LayerNorm", [(2, 3, 4)], ([3, 4],)) == (2, 3, 4)
    assert check("LayerNorm", [(2, 3, 4)], ([2, 4],)) is None
    assert check("RMSNorm", [(4,)], ([3, 4],)) is None
    assert check("LayerNorm", [(2, 0)], ([2, 0],)) == (2, 0)
    with pytest.raises(ArgError):
        predict("LayerNorm", [(2, 3)], ([],))
    # symbolic normalized_shape
    assert predict_symbolic("LayerNorm", [["N", "T", "E"]], {"N": 2, "T": 5, "E": 8}, (["T", "E"],)) == (2, 5, 8)


# --------------------------------------------------------------------------- LRN


@settings(max_examples=150, deadline=None)
@given(st.integers(-1, 5), shapes_st(max_rank=5, max_size=3), st.data())
def test_local_response_norm(size: int, shape: Shape, data: Any) -> None:
    check("LocalResponseNorm", [shape], (size,), mask=data.draw(mask_for([shape])))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 5), shapes_st(min_rank=3, max_rank=5, max_size=3), st.data())
def test_cross_map_lrn2d(size: int, shape: Shape, data: Any) -> None:
    check("CrossMapLRN2d", [shape], (size,), mask=data.draw(mask_for([shape])))


# --------------------------------------------------------------------------- parameter counts


@pytest.mark.parametrize("op,args,kwargs", [
    *[(f"BatchNorm{n}d", (5,), kw) for n in (1, 2, 3)
      for kw in ({}, {"affine": False}, {"bias": False}, {"track_running_stats": False})],
    *[(f"InstanceNorm{n}d", (5,), kw) for n in (1, 2, 3) for kw in ({}, {"affine": True}, {"affine": True, "bias": False})],
    ("GroupNorm", (2, 6), {}), ("GroupNorm", (3, 6), {"affine": False}),
    ("LayerNorm", ([3, 4],), {}), ("LayerNorm", (7,), {"bias": False}), ("LayerNorm", (7,), {"elementwise_affine": False}),
    ("RMSNorm", ([3, 4],), {}), ("RMSNorm", (7,), {"elementwise_affine": False}),
])
def test_param_count(op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    assert param_count_rule(op, args, kwargs) == param_count_torch(op, args, kwargs)

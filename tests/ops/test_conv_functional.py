"""F.conv1d/2d/3d and F.conv_transpose1d/2d/3d (weight and bias as tensor inputs) against torch,
at random hyperparameters and sizes, including those where torch raises; the symbolic rule
agrees with the concrete one."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.oracle import predict, predict_symbolic, torch_shape

torch.set_num_threads(1)
AX = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_functional_conv_matches_torch(data: st.DataObject) -> None:
    n = data.draw(st.sampled_from([1, 2, 3]))
    transposed = data.draw(st.booleans())
    groups = data.draw(st.sampled_from([1, 2]))
    c_in, c_out = groups * data.draw(st.integers(1, 2)), groups * data.draw(st.integers(1, 2))
    k = [data.draw(st.integers(1, 4)) for _ in range(n)]
    stride = data.draw(st.integers(1, 3))
    dil = data.draw(st.integers(1, 2))
    sizes = [data.draw(st.integers(1, 8 if n < 3 else 5)) for _ in range(n)]
    c_x = c_in if data.draw(st.integers(0, 9)) else c_in + 1  # sometimes the wrong channel count
    bias = data.draw(st.booleans())
    if transposed:
        op = f"conv_transpose{n}d"
        weight = (c_in, c_out // groups, *k)
        kw = dict(stride=stride, padding=data.draw(st.integers(0, 2)), output_padding=data.draw(st.integers(0, 2)),
                  groups=groups, dilation=dil)
    else:
        op = f"conv{n}d"
        weight = (c_out, c_in // groups, *k)
        pad = data.draw(st.one_of(st.integers(0, 3), st.just("valid"), st.just("same")))
        kw = dict(stride=1 if pad == "same" and data.draw(st.booleans()) else stride, padding=pad, dilation=dil,
                  groups=groups)
    out = weight[1] * groups if transposed else weight[0]
    shapes = [(2, c_x, *sizes), weight] + ([(out,)] if bias else [])
    want = torch_shape(op, shapes, kwargs=kw)
    assert predict(op, shapes, kwargs=kw) == want, (op, shapes, kw)
    sym_shapes = [(2, c_x, *AX[n]), weight] + ([(out,)] if bias else [])
    env = dict(zip(AX[n], sizes))
    assert predict_symbolic(op, sym_shapes, env, kwargs=kw) == want, (op, sym_shapes, kw)


def test_functional_conv_examples() -> None:
    assert predict("conv2d", [(1, 3, 8, 8), (4, 3, 3, 3)]) == (1, 4, 6, 6)
    assert predict("conv2d", [(1, 3, 8, 8), (4, 3, 3, 3), (4,)], kwargs={"padding": "same"}) == (1, 4, 8, 8)
    assert predict("conv2d", [(1, 2, 8, 8), (4, 3, 3, 3)]) is None  # 2 channels, the weight wants 3
    assert predict("conv2d", [(1, 3, 8, 8), (4, 3, 3, 3), (5,)]) is None  # bias of the wrong size
    assert predict("conv_transpose2d", [(1, 4, 5, 5), (4, 2, 3, 3)], kwargs={"stride": 2}) == (1, 2, 11, 11)

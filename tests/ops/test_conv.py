"""Conv and ConvTranspose rules against torch: random hyperparameters and sizes, including
the sizes where torch raises; the symbolic rule must agree with the concrete one."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shapeplan.ops import REGISTRY
from shapeplan.ops.registry import bind, resolve_auto
from tests.oracle import predict, predict_symbolic, torch_shape

torch.set_num_threads(1)
AX = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_conv_matches_torch(data):
    n = data.draw(st.sampled_from([1, 2, 3]))
    groups = data.draw(st.sampled_from([1, 2]))
    c_in = groups * data.draw(st.integers(1, 2))
    c_out = groups * data.draw(st.integers(1, 2))
    k = data.draw(st.integers(1, 5))
    stride = data.draw(st.integers(1, 3))
    mode = data.draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    padding = data.draw(st.one_of(st.integers(0, 3), st.just("valid"), st.just("same") if stride == 1 else st.just(0)))
    dil = data.draw(st.integers(1, 2))
    sizes = [data.draw(st.integers(1, 9 if n < 3 else 6)) for _ in range(n)]
    batched = data.draw(st.booleans())
    shape = ([2] if batched else []) + [c_in, *sizes]
    kw = dict(in_channels=c_in, out_channels=c_out, kernel_size=k, stride=stride, padding=padding, dilation=dil,
              groups=groups, padding_mode=mode)
    want = torch_shape(f"Conv{n}d", [shape], kwargs=kw)
    assert predict(f"Conv{n}d", [shape], kwargs=kw) == want, (shape, kw)
    sym = ([2] if batched else []) + [c_in, *AX[n]]
    env = dict(zip(AX[n], sizes))
    assert predict_symbolic(f"Conv{n}d", [sym], env, kwargs=kw) == want


def test_conv_transpose_grid():
    """Every small ConvTranspose case, incl. torch's CPU rule for empty outputs."""
    count = 0
    for nd in (1, 2, 3):
        for k, s, p, d, op, h in itertools.product([1, 2, 4, 5], [1, 2, 3], [0, 1, 2, 3], [1, 2], [0, 1], [1, 2, 3]):
            if op >= max(s, d):
                continue
            shape = [1, 1, h] + [h + 1] * (nd - 1)
            kw = dict(stride=s, padding=p, dilation=d, output_padding=op)
            want = torch_shape(f"ConvTranspose{nd}d", [shape], args=[1, 1, k], kwargs=kw)
            assert predict(f"ConvTranspose{nd}d", [shape], args=[1, 1, k], kwargs=kw) == want, (nd, k, kw, h)
            sym = [1, 1, *AX[nd]]
            env = dict(zip(AX[nd], shape[2:]))
            assert predict_symbolic(f"ConvTranspose{nd}d", [sym], env, args=[1, 1, k], kwargs=kw) == want
            count += 1
    assert count > 1000


@pytest.mark.parametrize("threads", [1, 2])
@settings(max_examples=300, deadline=None)
@given(st.data())
def test_conv_transpose_empty_outputs_symbolic_batch(threads, data):
    """Near an empty output (a size 0), with the batch, channels and sizes symbolic: torch's CPU
    accepts it on its oneDNN path only (batch >= 16 for an unstrided 1x1 kernel at one thread,
    any batch with more threads; batch > 1, groups, a kernel larger than 3x3 or more than 20480
    elements otherwise)."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        _empty_output_case(data)
    finally:
        torch.set_num_threads(old)


def _empty_output_case(data):
    nd = data.draw(st.sampled_from([1, 2, 3]))
    groups = data.draw(st.sampled_from([1, 1, 2]))
    c = groups * data.draw(st.sampled_from([1, 2, 3]))
    k = data.draw(st.sampled_from([1, 1, 2, 4, 5]))
    s = data.draw(st.sampled_from([1, 1, 2]))
    dil = data.draw(st.sampled_from([1, 1, 2]))
    op = data.draw(st.integers(0, max(s, dil) - 1))
    batch = data.draw(st.sampled_from([1, 1, 2, 15, 16, 17]))
    big = data.draw(st.sampled_from([1, 1, 60, 100, 130]))  # some inputs of about 20480 elements
    sizes = [data.draw(st.integers(1, 4)) for _ in range(nd)]
    sizes[-1] = max(sizes[-1], big // (c * (2 if nd > 1 else 1)))
    # the padding that makes the first output size 0 (sometimes 1 or -1)
    o_wo_pad = (sizes[0] - 1) * s + dil * (k - 1) + op + 1
    pad = max(0, o_wo_pad + data.draw(st.sampled_from([0, 0, 1, -1]))) // 2
    batched = batch != 1 or data.draw(st.booleans())
    shape = ([batch] if batched else []) + [c, *sizes]
    kw = dict(stride=s, padding=pad, dilation=dil, output_padding=op, groups=groups)
    want = torch_shape(f"ConvTranspose{nd}d", [shape], args=[c, groups, k], kwargs=kw)
    assert predict(f"ConvTranspose{nd}d", [shape], args=[c, groups, k], kwargs=kw) == want, (shape, k, kw)
    names = (["N"] if batched else []) + ["C", *AX[nd]]
    env = dict(zip(names, shape))
    assert predict_symbolic(f"ConvTranspose{nd}d", [names], env, args=[c, groups, k], kwargs=kw) == want, \
        (shape, k, kw)


def test_output_padding_limit_and_same_stride_fail():
    assert predict("ConvTranspose2d", [[1, 1, 5, 5]], args=[1, 1, 3], kwargs=dict(stride=2, output_padding=2)) is None
    assert predict("Conv2d", [[1, 1, 5, 5]], args=[1, 1, 3], kwargs=dict(stride=2, padding="same")) is None


@pytest.mark.parametrize("op", ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"])
@pytest.mark.parametrize("bias", [True, False])
def test_param_count(op, bias):
    spec = REGISTRY[op]
    kw = dict(in_channels=4, out_channels=6, kernel_size=3, groups=2, bias=bias)
    a = resolve_auto(spec, bind(spec, [], kw), [])
    module = getattr(torch.nn, op)(**kw)
    assert spec.param_count(a) == sum(p.numel() for p in module.parameters())

"""Costs (shapeplan.analysis.costs, shapeplan.analysis.receptive) against torch itself.

- parameters and buffers: every example's built module, layer by layer, and single modules of
  every op family with weights (random arguments);
- MACs: torch.utils.flop_counter.FlopCounterMode / 2 on Conv1d/2d/3d, ConvTranspose, Linear,
  mm, bmm and matmul, at random sizes, the formula evaluated at those sizes;
- receptive fields: the tutorial's conv5-pool2-conv5-pool2 by hand, and random conv / pool /
  pad chains against torch's gradients (with positive weights every input inside the window
  of an output element, and none outside, gets a non-zero gradient);
- memory: which layers allocate (against torch's storages), the peak by hand;
- the CLI (`--columns`, `--at`, `--dtype`, JSON).
"""

from __future__ import annotations

import functools
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import sympy
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode
from typer.testing import CliRunner

import shapeplan
from shapeplan.analysis.costs.memory import peak
from shapeplan.analysis.costs.tables import DTYPES, MACS, WEIGHTLESS_MACS
from shapeplan.analysis.receptive.rules import RULES
from shapeplan.analysis.receptive.rules_window import adaptive_window, transposed_taps
from shapeplan.backends.emit import build
from shapeplan.cli import app
from shapeplan.core.bounds import surely_nonnegative
from shapeplan.core.dims import evaluate, floordiv, sym
from shapeplan.ops import REGISTRY
from tests.test_fuzz_networks import networks as fuzz_networks

EX = Path(__file__).resolve().parents[1] / "examples"
GOOD = ["lenet", "resnet18", "unet", "hrnet_small", "vgg11", "mobilenet_v2"]
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
runner = CliRunner()


@functools.cache
def report(name: str) -> shapeplan.Report:
    return shapeplan.check(EX / f"{name}.yaml")


def one_layer(layer: dict[str, Any], inputs: dict[str, list[Any]] | None = None,
              shape: list[Any] | None = None) -> shapeplan.Report:
    doc: dict[str, Any] = {"name": "One", "layers": [layer]}
    if inputs is not None:
        doc["inputs"] = inputs
    else:
        doc["input"] = shape
    return shapeplan.check(doc)


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("name", GOOD)
def test_example_params_and_buffers_equal_the_built_modules(name: str) -> None:
    rep = report(name)
    sizes = rep.domain.smallest()
    assert sizes is not None
    env = {**sizes, "N": 1}
    with torch.device("meta"):
        m = build(rep).eval()
        x = torch.zeros([evaluate(d, env) for d in rep.network.inputs["x"]])
        with torch.no_grad():
            m(x)  # sizes any lazy module (lenet's in_features: auto)
    costs = rep.costs().at(**env)
    assert costs.total_params == sum(p.numel() for p in m.parameters()) == evaluate(rep.total_params, env)
    assert costs.total_trainable == sum(p.numel() for p in m.parameters() if p.requires_grad)
    assert costs.total_buffers == sum(b.numel() for b in m.buffers())
    modules = [li for li in rep.layers if REGISTRY[li.op].kind == "module"]
    children = list(m.children())
    assert len(children) == len(modules)
    for li, child in zip(modules, children):
        lc = costs[li.name]
        assert lc.params == sum(p.numel() for p in child.parameters()), li.name
        assert lc.buffers == sum(b.numel() for b in child.buffers()), li.name


def _count(module: torch.nn.Module) -> tuple[int, int]:
    return sum(p.numel() for p in module.parameters()), sum(b.numel() for b in module.buffers())


@SETTINGS
@given(st.data())
def test_weight_layers_count_like_torch(data: st.DataObject) -> None:
    family = data.draw(st.sampled_from(["conv", "convt", "linear", "bilinear", "embedding", "batchnorm",
                                        "instancenorm", "groupnorm", "layernorm", "rmsnorm", "prelu"]))
    n = data.draw(st.integers(1, 3))
    g = data.draw(st.integers(1, 3))
    bias = data.draw(st.booleans())
    c = g * data.draw(st.integers(1, 3))
    spatial = ["H", "W", "D"][:n]
    inputs: dict[str, list[Any]] | None = None
    shape: list[Any] = ["N", c, *spatial]
    if family in ("conv", "convt"):
        op = f"Conv{n}d" if family == "conv" else f"ConvTranspose{n}d"
        kw: dict[str, Any] = dict(in_channels=c, out_channels=g * data.draw(st.integers(1, 3)),
                                  kernel_size=data.draw(st.integers(1, 3)), groups=g, bias=bias)
    elif family == "linear":
        op, shape = "Linear", ["N", "T", c]
        kw = dict(in_features=c, out_features=data.draw(st.integers(1, 5)), bias=bias)
    elif family == "bilinear":
        op, inputs = "Bilinear", {"a": ["N", c], "b": ["N", g]}
        kw = dict(in1_features=c, in2_features=g, out_features=data.draw(st.integers(1, 4)), bias=bias)
    elif family == "embedding":
        op, shape = "Embedding", ["N", "L"]
        kw = dict(num_embeddings=data.draw(st.integers(1, 9)), embedding_dim=data.draw(st.integers(1, 5)))
    elif family in ("batchnorm", "instancenorm"):
        op = f"BatchNorm{n}d" if family == "batchnorm" else f"InstanceNorm{n}d"
        kw = dict(num_features=c, affine=data.draw(st.booleans()), track_running_stats=data.draw(st.booleans()),
                  bias=bias)
        if family == "batchnorm" and n == 1:
            shape = ["N", c]
    elif family == "groupnorm":
        op = "GroupNorm"
        kw = dict(num_groups=g, num_channels=c, affine=data.draw(st.booleans()))
    elif family == "layernorm":
        op = "LayerNorm"
        kw = dict(normalized_shape=[c, 5], elementwise_affine=data.draw(st.booleans()), bias=bias)
        shape = ["N", c, 5]
    elif family == "rmsnorm":
        op, shape = "RMSNorm", ["N", "T", c]
        kw = dict(normalized_shape=c, elementwise_affine=data.draw(st.booleans()))
    else:
        op = "PReLU"
        kw = dict(num_parameters=data.draw(st.sampled_from([1, c])))
    layer = {"name": "l", "op": op, **kw}
    if inputs is not None:
        layer["from"] = list(inputs)
    rep = one_layer(layer, inputs, shape)
    assert rep.ok, rep.diagnostics
    lc = rep.costs()["l"]
    with torch.device("meta"):
        want = _count(getattr(torch.nn, op)(**kw))
    assert (lc.params, lc.buffers) == want, (op, kw)
    assert lc.trainable == lc.params


def test_every_weight_op_has_a_mac_rule_or_is_declared_free() -> None:
    zero = {f"{f}{n}d" for f in ("BatchNorm", "InstanceNorm") for n in (1, 2, 3)}
    zero |= {"GroupNorm", "LayerNorm", "RMSNorm", "PReLU", "Embedding", "Parameter"}
    weighted = {name for name, spec in REGISTRY.items() if spec.param_count is not None}
    assert weighted - zero == set(MACS) - WEIGHTLESS_MACS


# --------------------------------------------------------------------------- MACs


def torch_flops(fn: Any, *args: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter:
        fn(*args)
    return int(counter.get_total_flops())


@SETTINGS
@given(st.data())
def test_conv_macs_are_flop_counter_halved(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 3))
    transposed = data.draw(st.booleans())
    g = data.draw(st.integers(1, 3))
    kw: dict[str, Any] = dict(in_channels=g * data.draw(st.integers(1, 3)), out_channels=g * data.draw(st.integers(1, 3)),
                              kernel_size=data.draw(st.integers(1, 4)), stride=data.draw(st.integers(1, 3)),
                              padding=data.draw(st.integers(0, 2)), dilation=data.draw(st.integers(1, 3)), groups=g,
                              bias=data.draw(st.booleans()))
    if transposed:
        kw["output_padding"] = data.draw(st.integers(0, max(kw["stride"], kw["dilation"]) - 1))
    op = f"ConvTranspose{n}d" if transposed else f"Conv{n}d"
    axes = ["D", "H", "W"][3 - n:]
    batched = data.draw(st.booleans())
    rep = one_layer({"name": "l", "op": op, **kw}, shape=(["N"] if batched else []) + [kw["in_channels"], *axes])
    assert rep.ok
    sizes = {a: data.draw(st.integers(1, 12)) for a in axes}
    env = {**sizes, "N": data.draw(st.integers(1, 3))} if batched else sizes
    if not rep.domain.contains(**env):
        return
    # on the CPU: the meta device refuses an empty ConvTranspose output that the CPU kernel returns
    x = torch.zeros(([env["N"]] if batched else []) + [kw["in_channels"], *sizes.values()])
    module = getattr(torch.nn, op)(**kw)
    assert rep.costs().at(**env)["l"].macs * 2 == torch_flops(module, x), (op, kw, env)


@SETTINGS
@given(st.data())
def test_linear_and_matmul_macs_are_flop_counter_halved(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["linear", "mm", "bmm", "matmul"]))
    env = {s: data.draw(st.integers(1, 6)) for s in ("N", "T", "K", "M")}
    if kind == "linear":
        f_in, f_out, bias = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6)), data.draw(st.booleans())
        rep = one_layer({"name": "l", "op": "Linear", "in_features": f_in, "out_features": f_out, "bias": bias},
                        shape=["N", "T", f_in])
        fn: Any = torch.nn.Linear(f_in, f_out, bias=bias, device="meta")
        xs = [torch.zeros(env["N"], env["T"], f_in, device="meta")]
    else:
        shapes = {"mm": (["N", "K"], ["K", "M"]), "bmm": (["T", "N", "K"], ["T", "K", "M"]),
                  "matmul": (["T", 1, "N", "K"], [2, "K", "M"])}[kind]
        rep = one_layer({"name": "l", "op": kind, "from": ["a", "b"]}, inputs={"a": shapes[0], "b": shapes[1]})
        fn = getattr(torch, kind)
        xs = [torch.zeros([d if isinstance(d, int) else env[d] for d in s], device="meta") for s in shapes]
    assert rep.ok
    costs = rep.costs()
    assert costs.at(**{k: v for k, v in env.items() if k in costs.symbols})["l"].macs * 2 == torch_flops(fn, *xs)


@SETTINGS
@given(st.data())
def test_attention_and_added_products_macs_are_flop_counter_halved(data: st.DataObject) -> None:
    # (FlopCounterMode has no formula for addbmm: it counts 0, like for mv)
    kind = data.draw(st.sampled_from(["MultiheadAttention", "scaled_dot_product_attention", "addmm", "baddbmm"]))
    n, seq, s_, e = (data.draw(st.integers(1, 4)) for _ in range(4))
    if kind == "MultiheadAttention":
        h = data.draw(st.sampled_from([1, 2]))
        kw: dict[str, Any] = {"embed_dim": 2 * e, "num_heads": h, "batch_first": data.draw(st.booleans()),
                              "add_bias_kv": data.draw(st.booleans()), "add_zero_attn": data.draw(st.booleans())}
        kd, vd = data.draw(st.sampled_from([(2 * e, 2 * e), (3, 5)]))
        kw.update(kdim=kd, vdim=vd)
        first = kw["batch_first"]
        shapes = [[n, seq, 2 * e] if first else [seq, n, 2 * e], [n, s_, kd] if first else [s_, n, kd],
                  [n, s_, vd] if first else [s_, n, vd]]
        layer = {"name": "l", "op": kind, "from": ["q", "k", "v"], **kw}
        module = torch.nn.MultiheadAttention(**kw, device="meta").eval()
        fn: Any = lambda *xs: module(*xs)[0]  # noqa: E731
    elif kind == "scaled_dot_product_attention":
        ev = data.draw(st.integers(1, 4))
        shapes = [[n, 2, seq, e], [n, 2, s_, e], [n, 2, s_, ev]]
        layer = {"name": "l", "op": kind, "from": ["q", "k", "v"]}
        fn = torch.nn.functional.scaled_dot_product_attention
    else:
        b = data.draw(st.integers(1, 3))
        shapes = {"addmm": [[seq, e], [seq, s_], [s_, e]], "baddbmm": [[b, seq, e], [b, seq, s_], [b, s_, e]]}[kind]
        layer = {"name": "l", "op": kind, "from": ["q", "k", "v"]}
        fn = getattr(torch, kind)
    rep = one_layer(layer, inputs=dict(zip("qkv", shapes)))
    assert rep.ok, rep.diagnostics
    xs = [torch.zeros(sh, device="meta") for sh in shapes]
    with torch.no_grad():
        assert rep.costs()["l"].macs * 2 == torch_flops(fn, *xs), (kind, shapes, layer)


@SETTINGS
@given(st.integers(1, 3), st.booleans(), st.integers(1, 2), st.integers(1, 3), st.integers(4, 7))
def test_functional_conv_macs_are_flop_counter_halved(n: int, transposed: bool, g: int, k: int, size: int) -> None:
    x = [2, 2 * g, *([size] * n)]
    w = [2 * g, 3, *([k] * n)] if transposed else [3 * g, 2, *([k] * n)]
    op = f"conv_transpose{n}d" if transposed else f"conv{n}d"
    rep = one_layer({"name": "l", "op": op, "from": ["x", "w"], "groups": g, "stride": 2}, inputs={"x": x, "w": w})
    assert rep.ok, rep.diagnostics
    fn = getattr(torch.nn.functional, op)
    want = torch_flops(lambda a, b: fn(a, b, groups=g, stride=2), torch.zeros(x, device="meta"),
                       torch.zeros(w, device="meta"))
    assert rep.costs()["l"].macs * 2 == want


def test_flop_counter_ignores_what_the_docstring_says() -> None:
    """Bias is not counted by either; matrix-vector and Bilinear: FlopCounterMode counts 0."""
    x = torch.zeros(2, 3, 7, 7)
    with_bias = torch_flops(torch.nn.Conv2d(3, 4, 3), x)
    assert with_bias == torch_flops(torch.nn.Conv2d(3, 4, 3, bias=False), x) == 2 * 2 * 4 * 3 * 9 * 25
    assert torch_flops(torch.matmul, torch.zeros(4, 3), torch.zeros(3)) == 0
    rep = one_layer({"name": "l", "op": "matmul", "from": ["a", "b"]}, inputs={"a": [4, 3], "b": [3]})
    assert rep.costs()["l"].macs == 12
    rep = one_layer({"name": "l", "op": "Bilinear", "from": ["a", "b"], "in1_features": 3, "in2_features": 4,
                     "out_features": 5}, inputs={"a": ["N", 3], "b": ["N", 4]})
    assert rep.costs()["l"].macs == 60 * sym("N")
    assert rep.costs()["l"].flops == 120 * sym("N")


# --------------------------------------------------------------------------- receptive fields


def test_tutorial_stack_sees_16x16() -> None:
    """conv5 -> pool2 -> conv5 -> pool2: 5, then 6, then 6 + 4*2 = 14, then 14 + 2 = 16;
    one output of the second pool sees a 16x16 window, moving by 4, centred at 7.5."""
    c = report("lenet").costs()
    w = c["maxpool2d_1"].receptive_field
    assert w is not None
    assert w["H"].rf == w["W"].rf == 16
    assert w["H"].jump == 4 and w["H"].start == sympy.Rational(15, 2)
    assert [c[n].receptive_field["H"].rf for n in ("conv1", "maxpool2d", "conv2")] == [5, 6, 14]  # type: ignore[index]
    # the classifier sees every input position: its window is the used part of the input
    fc = c.at(H=32, W=32)["fc3"].receptive_field
    assert fc is not None and fc["H"].rf == 32 and fc["H"].jump is None


def _window_bounds(w: Any, i: int) -> tuple[Fraction, Fraction]:
    centre = Fraction(str(w.start)) + i * Fraction(str(w.jump))
    half = Fraction(int(w.rf) - 1, 2)
    return centre - half, centre + half


@st.composite
def chains(draw: st.DrawFn) -> list[dict[str, Any]]:
    layers = []
    for i in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "conv", "avgpool", "pad"]))
        k = [draw(st.integers(1, 4)), draw(st.integers(1, 4))]
        s = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
        if kind == "conv":
            layers.append({"name": f"l{i}", "op": "Conv2d", "in_channels": 1, "out_channels": 1, "kernel_size": k,
                           "stride": s, "padding": [draw(st.integers(0, 2)), draw(st.integers(0, 2))],
                           "dilation": [draw(st.integers(1, 2)), draw(st.integers(1, 2))]})
        elif kind == "avgpool":
            layers.append({"name": f"l{i}", "op": "AvgPool2d", "kernel_size": k, "stride": s,
                           "padding": [draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2))],
                           "ceil_mode": draw(st.booleans())})
        else:
            layers.append({"name": f"l{i}", "op": "ZeroPad2d",  # crops: see test_crop_moves_the_start
                           "padding": [draw(st.integers(0, 2)) for _ in range(4)]})
    return layers


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains(), st.integers(24, 40), st.integers(24, 40))
def test_receptive_fields_are_the_gradients_support(layers: list[dict[str, Any]], h: int, w: int) -> None:
    rep = shapeplan.check({"name": "Chain", "input": [1, 1, "H", "W"], "layers": layers})
    if not rep.ok or not rep.domain.contains(H=h, W=w):
        return
    model = build(rep).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0 if p.dim() > 1 else 0.0)
    x = (torch.rand(1, 1, h, w) + 0.5).requires_grad_()
    out = model(x)
    windows = rep.costs().at(H=h, W=w).layers[-1].receptive_field
    assert windows is not None
    checked = 0
    oh, ow = out.shape[-2:]
    for i in sorted({0, oh // 2, oh - 1}):
        for j in sorted({0, ow // 2, ow - 1}):
            (lo_h, hi_h), (lo_w, hi_w) = _window_bounds(windows["H"], i), _window_bounds(windows["W"], j)
            if lo_h < 0 or lo_w < 0 or hi_h > h - 1 or hi_w > w - 1:
                continue  # the window reaches into the padding: torch's support is clipped
            (g,) = torch.autograd.grad(out[0, 0, i, j], x, retain_graph=True)
            rows = g[0, 0].abs().sum(1).nonzero().flatten()
            cols = g[0, 0].abs().sum(0).nonzero().flatten()
            assert (rows.min().item(), rows.max().item()) == (lo_h, hi_h), (i, windows["H"])
            assert (cols.min().item(), cols.max().item()) == (lo_w, hi_w), (j, windows["W"])
            checked += 1
    assume(checked > 0)  # some window inside the input (else every one reaches into the padding)


def test_crop_moves_the_start() -> None:
    """A negative pad crops: F.pad(x, [-2, 1]) then a conv 3: element 0 reads input 2..3 (its
    window 1..3 starts in the pad at position 1, which the crop left of input 2)."""
    doc = {"name": "C", "input": [1, 1, "L"], "layers": [
        {"name": "crop", "op": "pad", "pad": [-2, 1]},
        {"name": "conv", "op": "Conv1d", "in_channels": 1, "out_channels": 1, "kernel_size": 3, "bias": False}]}
    rep = shapeplan.check(doc)
    win = rep.costs().at(L=12)["conv"].receptive_field["L"]  # type: ignore[index]
    assert (win.rf, win.jump, win.start) == (3, 1, 3)
    model = build(rep).double()
    with torch.no_grad():
        model.conv.weight.fill_(1.0)
    spans = _support_per_output(model, 12)
    assert spans[0] == (2, 4) and spans[5] == (7, 9)


def _support_per_output(module: torch.nn.Module, n_in: int) -> list[tuple[int, int]]:
    x = (torch.rand(1, 1, n_in, dtype=torch.float64) + 0.5).requires_grad_()
    out = module(x)
    spans = []
    for o in range(out.shape[-1]):
        (g,) = torch.autograd.grad(out[0, 0, o], x, retain_graph=True)
        nz = g[0, 0].nonzero().flatten()
        spans.append((int(nz.min()), int(nz.max())) if len(nz) else (0, -1))
    return spans


@pytest.mark.parametrize("k, s, p, d", [(3, 2, 0, 1), (3, 2, 1, 1), (4, 2, 1, 1), (2, 2, 0, 1), (5, 3, 2, 2),
                                        (3, 1, 1, 2), (1, 3, 0, 1), (4, 3, 3, 1)])
def test_conv_transpose_window_is_the_widest_gradient_support(k: int, s: int, p: int, d: int) -> None:
    m = torch.nn.ConvTranspose1d(1, 1, k, stride=s, padding=p, dilation=d, bias=False).double()
    with torch.no_grad():
        m.weight.fill_(1.0)
    rep = one_layer({"name": "l", "op": "ConvTranspose1d", "in_channels": 1, "out_channels": 1, "kernel_size": k,
                     "stride": s, "padding": p, "dilation": d}, shape=[1, 1, "L"])
    win = rep.costs().at(L=20)["l"].receptive_field["L"]  # type: ignore[index]
    spans = _support_per_output(m, 20)
    interior = [hi - lo + 1 for lo, hi in spans[k * d:-k * d]]
    assert max(interior) == win.rf and win.jump == sympy.Rational(1, s)
    widest, centre = transposed_taps(k, s, p, d)
    assert widest + 1 == win.rf and centre == Fraction(str(win.start))
    lo, hi = spans[0]
    if lo == 0 and hi - lo + 1 == win.rf:  # output 0's inputs all inside the input: its centre
        assert Fraction(lo + hi, 2) == centre


@pytest.mark.parametrize("mode, scale, taps", [("nearest", 2.0, 1), ("nearest", 3.0, 1), ("linear", 2.0, 2),
                                               ("linear", 0.5, 2), ("nearest", 0.5, 1)])
def test_upsample_window_is_the_widest_gradient_support(mode: str, scale: float, taps: int) -> None:
    m = torch.nn.Upsample(scale_factor=scale, mode=mode)
    rep = one_layer({"name": "l", "op": "Upsample", "scale_factor": scale, "mode": mode}, shape=[1, 1, "L"])
    win = rep.costs().at(L=16)["l"].receptive_field["L"]  # type: ignore[index]
    spans = _support_per_output(m, 16)
    assert max(hi - lo + 1 for lo, hi in spans) == win.rf == taps
    assert win.jump == 1 / sympy.Rational(Fraction(scale))
    lo, hi = spans[0]
    assert Fraction(lo + hi, 2) == Fraction(str(win.start)) or mode == "linear"


def test_adaptive_window_is_exact() -> None:
    for m in range(1, 40):
        for o in range(1, 12):
            want = max(-(-(i + 1) * m // o) - (i * m // o) for i in range(o))
            assert adaptive_window(m, o) == want, (m, o)
            assert evaluate(adaptive_window(sym("M"), o), {"M": m}) == want, (m, o)


def test_adaptive_pool_after_flatten_sees_the_whole_input() -> None:
    """VGG's AdaptiveAvgPool2d(7) + Flatten + Linear: the classifier sees every input position."""
    c = report("vgg11").costs()
    for h in (32, 100, 224, 300):
        at = c.at(H=h, W=h)
        pool5 = at["features.20"].receptive_field  # the last MaxPool2d
        head = at["classifier.6"].receptive_field
        assert pool5 is not None and head is not None
        m = h // 32
        assert head["H"].rf == pool5["H"].rf + (m - 1) * pool5["H"].jump
        avg = at["avgpool"].receptive_field
        assert avg is not None and avg["H"].rf == pool5["H"].rf + (adaptive_window(m, 7) - 1) * 32


def test_merges_take_the_hull_and_mixing_ops_the_whole_dim() -> None:
    doc = {"name": "M", "input": ["N", 3, "H", "W"], "layers": [
        {"name": "a", "op": "Conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"name": "b", "op": "Conv2d", "in_channels": 4, "out_channels": 4, "kernel_size": 5, "padding": 2},
        {"name": "s", "op": "add", "from": ["a", "b"]},
        {"name": "c", "op": "cat", "from": ["a", "s"], "dim": 1},
        {"name": "sm", "op": "softmax", "dim": -1},
        {"name": "t", "op": "transpose", "dim0": 2, "dim1": 3},
        {"name": "p", "op": "Conv2d", "in_channels": 8, "out_channels": 8, "kernel_size": [3, 1], "padding": [1, 0]},
        {"name": "f", "op": "flatten", "start_dim": 2},
        {"name": "mean", "op": "mean", "dim": 2},
    ]}
    c = shapeplan.check(doc).costs().at(H=20, W=30)

    def rf(name: str) -> dict[str, Any]:
        w = c[name].receptive_field
        assert w is not None
        return {k: (v.rf, v.jump, v.start) for k, v in w.items()}

    assert rf("s") == rf("c") == rf("b") == {"H": (7, 1, 0), "W": (7, 1, 0)}  # 3x3 then 5x5, the hull
    # softmax over W: every position sees all 30 columns (and the 3 of padding on each side)
    whole_w = (36, 0, sympy.Rational(29, 2))
    assert rf("sm") == {"H": (7, 1, 0), "W": whole_w}
    # after the transpose W is dim 2: the [3, 1] kernel slides over W, where it adds nothing
    p = shapeplan.check({**doc, "layers": doc["layers"][:7] + [{**doc["layers"][6], "name": "q",
                                                                "kernel_size": [1, 3], "padding": [0, 1]}]})
    assert rf("p") == {"H": (7, 1, 0), "W": whole_w}
    q = p.costs().at(H=20, W=30)["q"].receptive_field
    assert q is not None and (q["H"].rf, q["H"].jump) == (9, 1)
    assert rf("f") == {"H": (7, None, 0), "W": (36, None, sympy.Rational(29, 2))}  # folded: no jump
    assert rf("mean") == {"H": (26, None, sympy.Rational(19, 2)), "W": (36, None, sympy.Rational(29, 2))}


def test_every_op_has_a_receptive_field_rule() -> None:
    assert set(REGISTRY) <= set(RULES), sorted(set(REGISTRY) - set(RULES))


@pytest.mark.parametrize("name", GOOD)
def test_examples_have_known_windows(name: str) -> None:
    c = report(name).costs()
    assert all(lc.receptive_field is not None for lc in c.layers), name
    assert all(set(lc.receptive_field) == {"H", "W"} for lc in c.layers if lc.receptive_field is not None)


# --------------------------------------------------------------------------- memory


def test_alias_rules_match_torch_storages() -> None:
    doc = {"name": "A", "input": [2, 3, 4, 5], "layers": [
        {"name": "conv", "op": "Conv2d", "in_channels": 3, "out_channels": 3, "kernel_size": 1},
        {"name": "relu", "op": "ReLU", "inplace": True},
        {"name": "drop", "op": "Dropout", "p": 0.3},
        {"name": "ident", "op": "Identity"},
        {"name": "flat", "op": "flatten", "start_dim": 2},
        {"name": "perm", "op": "permute", "dims": [0, 2, 1]},
        {"name": "resh", "op": "reshape", "shape": [2, -1]},
        {"name": "view", "op": "view", "shape": [2, 3, 20]},
        {"name": "tr", "op": "transpose", "dim0": 1, "dim1": 2},
        {"name": "cont", "op": "contiguous"},
        {"name": "cont2", "op": "contiguous"},
        {"name": "unsq", "op": "unsqueeze", "dim": 0},
        {"name": "sig", "op": "sigmoid"},
        {"name": "fdrop", "op": "dropout", "p": 0.5, "training": False},
        {"name": "relu2", "op": "relu"},
        {"name": "item", "op": "getitem", "index": [0, 0, "1:3"]},
        {"name": "resh2", "op": "reshape", "shape": [-1]},
        {"name": "item2", "op": "getitem", "index": ["...", "1:"]},
        {"name": "resh3", "op": "reshape", "shape": [-1]},
        {"name": "unsq2", "op": "unsqueeze", "dim": 0},
        {"name": "exp", "op": "expand", "size": [3, -1]},
        {"name": "det", "op": "detach"},
        {"name": "resh4", "op": "reshape", "shape": [-1]},
        {"name": "narrow", "op": "narrow", "dim": 0, "start": 1, "length": 4},
        {"name": "flo", "op": "float"},
        {"name": "half", "op": "half"},
    ]}
    rep = shapeplan.check(doc)
    assert rep.ok
    model = build(rep, trace=True).eval()
    trace: dict[str, torch.Tensor] = {}
    x = torch.rand(2, 3, 4, 5)
    with torch.no_grad():
        model(x, _trace=trace)
    costs = rep.costs()
    prev = x
    for li in rep.layers:
        out = trace[li.name]
        shares = out.untyped_storage().data_ptr() == prev.untyped_storage().data_ptr()
        assert costs[li.name].allocates is (not shares), li.name
        prev = out


def test_peak_by_hand() -> None:
    """x (N*3*H*W) -> a = conv 1x1 (8 channels) -> b = relu(a) -> c = conv(b) 8 -> s = add(a, c)."""
    doc = {"name": "P", "input": ["N", 3, "H", "W"], "layers": [
        {"name": "a", "op": "Conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 1},
        {"name": "b", "op": "ReLU"},
        {"name": "c", "op": "Conv2d", "in_channels": 8, "out_channels": 8, "kernel_size": 1},
        {"name": "s", "op": "add", "from": ["a", "c"]},
        {"name": "r", "op": "ReLU", "inplace": True},
    ]}
    c = shapeplan.check(doc).costs()
    N, H, W = sym("N"), sym("H"), sym("W")
    e = N * H * W
    steps = dict(c.steps)
    # a: x + a; b: x + a + b (a is still needed by s); c: x + a + b + c, then b is freed;
    # s: x + a + c + s, then a and c are freed; r: in place, x + s
    assert steps == {"a": 4 * 11 * e, "b": 4 * 19 * e, "c": 4 * 27 * e, "s": 4 * 27 * e, "r": 4 * 11 * e}
    assert c.peak_bytes == 108 * e
    assert c.input_bytes == 12 * e
    half = shapeplan.check(doc).costs(dtype="float16")
    assert half.peak_bytes == 54 * e and half.itemsize == DTYPES["float16"] == 2
    assert c.at(N=2, H=5, W=7).peak_bytes == 108 * 70
    assert [lc.allocates for lc in c.layers] == [True, True, True, True, False]


def test_peak_keeps_every_step_it_cannot_prove_smaller() -> None:
    H, W = sym("H"), sym("W")
    values = [4 * H * W, 3 * H * W + 5, 2 * floordiv(H, 2) * W, H * W + 100 * floordiv(H, 4)]
    p = peak(values, {"H": 2, "W": 1})
    for h in range(2, 60, 3):
        for w in range(1, 40, 4):
            env = {"H": h, "W": w}
            assert evaluate(p, env) == max(evaluate(v, env) for v in values)
    assert surely_nonnegative(H - floordiv(H + 3, 4))
    assert not surely_nonnegative(floordiv(H, 2) - 1)
    assert surely_nonnegative(floordiv(H, 2) - 1, {"H": 2})


@pytest.mark.parametrize("name", ["lenet", "unet"])
def test_peak_formula_evaluates_like_the_steps(name: str) -> None:
    c = report(name).costs()
    p = c.peak_bytes
    assert p is not None
    for env in ({"N": 1, "H": 32, "W": 32}, {"N": 3, "H": 64, "W": 48}, {"N": 2, "H": 224, "W": 224}):
        at = c.at(**env)
        assert at.peak_bytes == max(b for _, b in at.steps) == evaluate(p, env)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fuzz_networks())
def test_random_networks_have_whole_costs(spec: dict[str, Any]) -> None:
    try:
        rep = shapeplan.check(spec)
    except shapeplan.InputError:
        return
    if not rep.ok:
        return
    small = rep.domain.smallest()
    assert small is not None
    c = rep.costs().at(**small)
    assert all(isinstance(v, int) for v in c.totals().values())
    # the inputs live throughout, and a new output is live during its layer
    assert c.peak_bytes >= c.input_bytes + max((lc.bytes for lc in c.layers if lc.allocates), default=0)
    assert all(lc.receptive_field is not None for lc in c.layers)
    json.dumps(rep.to_json(at=small))


# --------------------------------------------------------------------------- API, JSON, CLI


def test_costs_json_keeps_the_old_keys() -> None:
    doc = report("lenet").to_json(dtype="float16", at={"H": 32, "W": 32})
    assert {"network", "file", "ok", "inputs", "layers", "outputs", "total_params", "domain", "diagnostics"} <= set(doc)
    conv1 = doc["layers"][0]
    assert conv1["params"] == "156" and conv1["costs"]["params"] == "156"
    assert conv1["costs"]["macs"] == "150*N*(H - 4)*(W - 4)"
    assert conv1["costs"]["at"]["macs"] == "117600*N"
    assert conv1["costs"]["receptive_field"]["H"] == {"rf": "5", "jump": "1", "start": "2"}
    assert doc["costs"]["dtype"] == "float16" and "FlopCounterMode" in doc["costs"]["convention"]
    assert doc["costs"]["at"]["totals"]["params"] == 61706


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_cli_default_table_is_unchanged() -> None:
    r = run("check", str(EX / "lenet.yaml"))
    assert r.exit_code == 0
    header = r.stdout.splitlines()[1].split()
    assert header == ["layer", "op", "output", "shape", "params"]
    assert "MACs" not in r.stdout and "memory" not in r.stdout


def test_cli_columns_and_at() -> None:
    r = run("check", str(EX / "lenet.yaml"), "--columns", "shape,params,macs,memory,rf", "--at", "H=32,W=32,N=1")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[1].split() == ["layer", "op", "output", "shape", "params", "MACs", "memory", "RF"]
    pool = next(line for line in lines if line.startswith("maxpool2d_1"))
    assert pool.split()[-3:] == ["16", "x", "16"] and "(1, 16, 5, 5)" in pool
    conv1 = next(line for line in lines if line.startswith("conv1"))
    assert "117,600" in conv1 and "18,816" in conv1  # 6*28*28 floats
    assert "MACs: 30*N*(5*(H - 4)*(W - 4)" in r.stdout and "= 416,520 at H=32, W=32, N=1" in r.stdout
    assert "peak activation memory (float32): 4*N*(H*W + 12*(H - 4)*(W - 4)) = 41,728 bytes" in r.stdout


def test_cli_dtype_and_json() -> None:
    r = run("check", str(EX / "lenet.yaml"), "-f", "json", "--dtype", "bfloat16", "--at", "H=16,W=16")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["costs"]["itemsize"] == 2
    assert doc["layers"][0]["costs"]["bytes"] == "12*N*(H - 4)*(W - 4)"
    assert doc["costs"]["at"]["totals"]["input_bytes"] == "512*N"


@pytest.mark.parametrize("args, text", [
    (["--at", "H=15"], "not a valid input size"),
    (["--at", "Q=15"], "does not have"),
    (["--at", "H15"], "NAME=SIZE"),
    (["--columns", "shape,bogus"], "unknown column"),
    (["--dtype", "int4"], "int4"),
])
def test_cli_bad_cost_options_exit_2(args: list[str], text: str) -> None:
    r = run("check", str(EX / "lenet.yaml"), *args)
    assert r.exit_code == 2
    assert text in r.output


def test_cli_help_states_the_convention() -> None:
    r = run("check", "--help")
    assert r.exit_code == 0
    flat = " ".join(r.stdout.split())
    assert "FLOPs = 2 x MACs" in flat and "bias excluded" in flat

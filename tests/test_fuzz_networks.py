"""Differential fuzzing of whole networks: random CNN graphs (chains with skip connections),
checked symbolically once, then run in torch at every input size in a range.  The domain
must say "valid" exactly where torch runs, and every layer's shape must equal torch's."""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shapeplan
from shapeplan.dims import evaluate
from shapeplan.emit import build


@st.composite
def networks(draw):
    layers = []
    c = draw(st.integers(1, 3))
    c_in = c
    names = ["x"]
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["conv", "convt", "maxpool", "avgpool", "up", "bn", "relu", "skip"]))
        name = f"l{i}"
        k = draw(st.integers(1, 5))
        s = draw(st.integers(1, 3))
        if kind == "conv":
            out = draw(st.integers(1, 3))
            layers.append({"name": name, "op": "Conv2d", "in_channels": "auto", "out_channels": out,
                           "kernel_size": k, "stride": s, "padding": draw(st.integers(0, 2)),
                           "dilation": draw(st.integers(1, 2))})
            c = out
        elif kind == "convt":
            out = draw(st.integers(1, 3))
            layers.append({"name": name, "op": "ConvTranspose2d", "in_channels": "auto", "out_channels": out,
                           "kernel_size": k, "stride": s, "padding": draw(st.integers(0, 2)),
                           "output_padding": draw(st.integers(0, s - 1))})
            c = out
        elif kind in ("maxpool", "avgpool"):
            layers.append({"name": name, "op": "MaxPool2d" if kind == "maxpool" else "AvgPool2d", "kernel_size": k,
                           "stride": s, "padding": draw(st.integers(0, k // 2)), "ceil_mode": draw(st.booleans())})
        elif kind == "up":
            layers.append({"name": name, "op": "Upsample", "scale_factor": draw(st.sampled_from([2.0, 0.5, 1.5])),
                           "mode": "nearest"})
        elif kind == "bn":
            layers.append({"name": name, "op": "BatchNorm2d", "num_features": "auto"})
        elif kind == "relu":
            layers.append({"name": name, "op": "ReLU"})
        else:
            # a residual merge with an earlier tensor of the same channel count, or a cat
            src = draw(st.sampled_from(names))
            layers.append({"name": name, "op": "cat", "from": [names[-1], src], "dim": 1})
            c = c + (c_in if src == "x" else next(
                lay for lay in reversed(layers) if lay["name"] == src).get("_c", c))
        layers[-1]["_c"] = c
        names.append(name)
    for lay in layers:
        lay.pop("_c", None)
    return {"name": "Fuzz", "input": [1, c_in, "H", 7], "layers": layers}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_domain_and_shapes_agree_with_torch(spec):
    try:
        rep = shapeplan.check(spec)
    except shapeplan.InputError:
        return  # a drawn argument combination torch would reject at construction
    if not rep.ok:
        return  # emit refuses networks with errors; the op tests cover invalid layers
    c_in = spec["input"][1]
    model = build(rep, trace=True).eval()
    for h in range(1, 26):
        valid = rep.domain.contains(H=h)
        trace: dict = {}
        try:
            with torch.no_grad():
                model(torch.zeros(1, c_in, h, 7), _trace=trace)
            ran = True
        except RuntimeError:
            ran = False
        assert valid == ran, (spec, h, str(rep.domain))
        if ran:
            for name, t in trace.items():
                want = tuple(evaluate(d, {"H": h}) for d in rep.shapes[name])
                assert tuple(t.shape) == want, (name, h)

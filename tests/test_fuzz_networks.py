"""Differential fuzzing of whole networks against torch (the generator and the oracle are in
tests/netgen.py; tools/fuzz.py runs the same for longer).

A few thousand random networks (chains and DAGs, 1d/2d/3d, every op family, ``auto``
sizes, symbolic and concrete inputs), each checked once by shapeplan and run in torch at
several input sizes: shapeplan's "valid" must be exactly torch's "runs", and every layer's
shape must be torch's.  Deterministic: case i of the CI run is ``Random(f"ci:{i}")``.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import netgen
import pytest
import torch
from hypothesis import strategies as st

import shapeplan
from shapeplan.analysis.check import run_check
from shapeplan.backends.emit import build
from shapeplan.core.dims import evaluate, norm


@st.composite
def networks(draw: st.DrawFn) -> dict:
    """A random network (net.yaml data) as a hypothesis strategy, for other tests (test_costs)."""
    return netgen.generate(random.Random(draw(st.integers(0, 2**32 - 1))))


CASES = 3000
CHUNKS = 12
REGRESSIONS = Path(__file__).resolve().parent / "regressions"


def _run(i: int, totals: Counter) -> list[str]:
    rng = random.Random(f"ci:{i}")
    spec = netgen.generate(rng)
    out = netgen.compare(spec, rng)
    totals["cases"] += 1
    totals["loaded"] += out.loaded
    totals["sizes"] += out.sizes
    totals["layers"] += out.layers
    totals["valid"] += out.valid
    totals["invalid"] += out.invalid
    return [f"case ci:{i}: {d}\n  {spec}" for d in out.disagreements]


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_random_networks_agree_with_torch(chunk: int):
    totals: Counter = Counter()
    bad: list[str] = []
    for i in range(chunk, CASES, CHUNKS):
        bad += _run(i, totals)
    assert not bad, "\n".join(bad[:5])
    # the cases must exercise both verdicts, many layers and sizes
    n = CASES // CHUNKS
    assert totals["cases"] == n
    assert totals["valid"] > 1.5 * n and totals["invalid"] > 0.8 * n, totals
    assert totals["layers"] > 5 * n, totals


def test_generator_covers_the_op_families_and_shapes():
    ops: Counter = Counter()
    dims: Counter = Counter()
    kinds: Counter = Counter()
    for i in range(600):
        spec = netgen.generate(random.Random(f"ci:{i}"))
        rank = len(spec["input"])
        dims[rank - 2] += 1
        kinds["symbolic" if any(isinstance(v, str) for v in spec["input"][2:]) else "concrete"] += 1
        for lay in spec["layers"]:
            ops[lay["op"]] += 1
            if isinstance(lay.get("from"), list):
                kinds["merge"] += 1
            elif "from" in lay:
                kinds["branch"] += 1
            if "auto" in lay.values():
                kinds["auto"] += 1
    assert set(dims) == {1, 2, 3}
    assert min(kinds.values()) > 30, kinds
    for family in ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose2d", "MaxPool2d", "AvgPool1d", "LPPool2d",
                   "AdaptiveAvgPool2d", "BatchNorm2d", "InstanceNorm1d", "GroupNorm", "LayerNorm",
                   "LocalResponseNorm", "Softmax", "GLU", "PReLU", "ZeroPad2d", "ReflectionPad1d",
                   "ReplicationPad3d", "CircularPad2d", "pad", "Upsample", "interpolate", "PixelShuffle",
                   "PixelUnshuffle", "ChannelShuffle", "Flatten", "Linear", "add", "mul", "sub", "cat", "stack",
                   "mean", "amax", "transpose", "unsqueeze", "squeeze", "unflatten", "Dropout"):
        assert ops[family] > 0, family


def test_emitted_modules_run_like_the_oracle():
    """For a sample of valid cases, shapeplan's own emitted module (traced) gives the shapes."""
    done = 0
    for i in range(400):
        rng = random.Random(f"emit:{i}")
        spec = netgen.generate(rng)
        try:
            rep = run_check(shapeplan.load(spec))
        except shapeplan.InputError:
            continue
        if not rep.ok:
            continue
        env = rep.domain.smallest()
        if env is None:
            continue
        model = build(rep, sizes=env, trace=True).eval()
        xs = [torch.zeros(tuple(evaluate(norm(d), env) for d in s)) for s in rep.network.inputs.values()]
        trace: dict = {}
        with torch.no_grad():
            model(*xs, _trace=trace)
        for name, t in trace.items():
            assert tuple(t.shape) == tuple(evaluate(norm(d), env) for d in rep.shapes_at(**env)[name]), (spec, name)
        done += 1
        if done >= 40:
            break
    assert done >= 40


def test_shrink_finds_a_small_case():
    """The shrinker keeps a property while removing layers and simplifying arguments."""
    spec = netgen.generate(random.Random("shrink"), max_layers=7)
    spec["layers"].append({"name": "big", "op": "Conv2d" if len(spec["input"]) == 4 else "Identity"})

    def has_big(s: dict, env: dict) -> bool:
        return any(lay["name"] == "big" for lay in s["layers"])

    small, _ = netgen.shrink(spec, {}, has_big)
    assert [lay["name"] for lay in small["layers"]] == ["big"]


def test_regression_file_round_trip(tmp_path: Path):
    spec = {"name": "Fuzz", "input": [2, 1, "L"], "layers": [{"name": "l1", "op": "ReLU"}]}
    text = netgen.to_yaml(spec, {"L": 3}, "a note\non two lines")
    assert netgen.read_sizes(text) == {"L": 3}
    net = shapeplan.load(text)
    assert [la.name for la in net.layers] == ["l1"]


REGRESSION_FILES = sorted(REGRESSIONS.glob("*.yaml"))


@pytest.mark.parametrize("path", REGRESSION_FILES, ids=[p.name for p in REGRESSION_FILES])
def test_regressions(path: Path):
    """Cases where shapeplan once disagreed with torch (found by the fuzzer, shrunk), at the
    sizes written in the file and at more sizes around them."""
    text = path.read_text()
    sizes = netgen.read_sizes(text)
    out = netgen.compare(text, envs=[sizes] if sizes else None)
    assert out.loaded
    assert not out.disagreements, out.disagreements
    more = netgen.compare(text, random.Random(path.name), n_sizes=12)
    assert not more.disagreements, more.disagreements
    assert out.sizes + more.sizes > 0

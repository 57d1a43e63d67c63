"""from_torch on the fixture architectures (tests/fixtures): the imported network's domain
and output shapes equal torch's, size by size, and the round trip through net.yaml and the
emitted module keeps every layer shape and the parameter count."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import shapeplan
from shapeplan.analysis.check import Report
from shapeplan.core.dims import evaluate
from tests.fixtures.torch_models import INFO, build, output_shapes

TRACEABLE = [name for name, info in INFO.items() if info.traceable]
_CACHE: dict[str, tuple[torch.nn.Module, Report]] = {}


def imported(name: str) -> tuple[torch.nn.Module, Report]:
    if name not in _CACHE:
        model = build(name, "cpu")  # small widths: cpu forwards are faster than meta ones here
        net = shapeplan.from_torch(model, ("N", INFO[name].in_channels, "H", "W"))
        _CACHE[name] = (model, shapeplan.check(net))
    return _CACHE[name]


def predicted_outputs(rep: Report, env: dict[str, int]) -> list[tuple[int, ...]]:
    return [tuple(int(evaluate(d, env)) for d in shape) for shape in rep.outputs if shape is not None]


def flat_outputs(out: Any) -> list[tuple[int, ...]]:
    if isinstance(out, tuple) and all(isinstance(d, int) for d in out):
        return [out]
    if isinstance(out, dict):
        return [s for v in out.values() for s in flat_outputs(v)]
    return [s for v in out for s in flat_outputs(v)]


@pytest.mark.parametrize("name", TRACEABLE)
def test_domain_and_outputs_equal_torch(name: str) -> None:
    model, rep = imported(name)
    info = INFO[name]
    assert rep.ok, [d.render() for d in rep.errors]
    # the stated valid set (checked against torch by tests/test_fixtures.py), over a wide range
    for s in range(1, 301):
        assert rep.domain.contains(H=s, W=s) == info.valid(s), (name, s, str(rep.domain))
    # real forward passes: square and not, inside and outside, batch 2
    sizes = [(s, s) for s in (1, 2, 5, 15, 16, 17, 29, 31, 32, 33)] + [(17, 40), (40, 17), (63, 64), (224, 224),
                                                                        (225, 223)]
    small = rep.domain.smallest()
    if small:
        sizes.append((small["H"], small["W"]))
    for h, w in sizes:
        env = {"N": 2, "H": h, "W": w}
        try:
            with torch.no_grad():
                out = model(torch.zeros(2, info.in_channels, h, w))
            error = None
        except Exception as e:  # noqa: BLE001 - any error means "does not run"
            error, out = f"{type(e).__name__}: {e}", None
        assert rep.domain.contains(**env) == (error is None), (name, h, w, error, str(rep.domain))
        if out is not None:
            assert predicted_outputs(rep, env) == flat_outputs(output_shapes(out)), (name, h, w)


@pytest.mark.parametrize("name", TRACEABLE)
def test_round_trip_keeps_shapes_and_parameters(name: str) -> None:
    model, rep = imported(name)
    back = shapeplan.check(shapeplan.load(shapeplan.to_yaml(rep.network)))
    assert back.shapes == rep.shapes
    with torch.device("meta"):
        rebuilt = shapeplan.build(back)
    # modules that forward does not use in eval mode (auxiliary classifiers) are left out, with a note
    unused = {d.message.split("'")[1] for d in rep.diagnostics if d.code == "unused-module"}
    expected = sum(p.numel() for n, p in model.named_parameters() if n.split(".")[0] not in unused)
    assert sum(p.numel() for p in rebuilt.parameters()) == expected == rep.total_params
    assert unused == ({"aux1", "aux2"} if name == "googlenet" else {"AuxLogits"} if name == "inception_v3" else set())
    small = rep.domain.smallest()
    assert small is not None
    v = shapeplan.validate(back, sizes=[small, {**small, "H": small["H"] + 1}], device="meta")
    assert v.ok, [r.to_json() for r in v.disagreements]

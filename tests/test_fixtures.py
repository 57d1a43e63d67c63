"""The fixture models of tests/fixtures: they trace with torch.fx.symbolic_trace (or fail
to, where documented), the traced GraphModule agrees with the module, they build and run on
the meta device, and each model's documented set of valid square sizes holds.

The full scan of every size in 1..128 on CPU and meta (what the notes in
fixtures/torch_models.py were derived from) takes minutes on two cores: set
SHAPEPLAN_SLOW_FIXTURES=1 to run it."""

from __future__ import annotations

import os

import pytest
import torch
import torch.fx
from fixtures import INFO, MODELS, build, example_sizes, forward_error, run_at, valid_sizes

TRACEABLE = [name for name, info in INFO.items() if info.traceable]
NOT_TRACEABLE = [name for name, info in INFO.items() if not info.traceable]


def _probe_sizes(name: str, hi: int = 128) -> list[int]:
    """Small sizes, 64, and the sizes on both sides of every change of the documented predicate."""
    valid = INFO[name].valid
    probes = {1, 2, 3, 64}
    for s in range(2, hi + 1):
        if valid(s) != valid(s - 1):
            probes |= {s - 2, s - 1, s, s + 1}
    return sorted(p for p in probes if p >= 1)


def _last_invalid(name: str, hi: int = 100) -> int | None:
    bad = [s for s in range(1, hi) if not INFO[name].valid(s)]
    return bad[-1] if bad else None


def _error_type(error: str | None) -> str | None:
    return None if error is None else error.split(":", 1)[0]


def test_registry_is_consistent():
    assert set(MODELS) == set(INFO)
    assert len(TRACEABLE) >= 29 and NOT_TRACEABLE == ["tutorial_net_old"]
    for name, info in INFO.items():
        assert info.output in ("tensor", "dict"), name
        assert example_sizes(name, 2), name


@pytest.mark.parametrize("name", TRACEABLE)
def test_symbolic_trace_matches_module(name: str):
    info = INFO[name]
    model = build(name)
    traced = torch.fx.symbolic_trace(model)
    assert isinstance(traced, torch.fx.GraphModule)
    sizes = example_sizes(name, 2)
    assert len(set(sizes)) == 2
    for size in sizes:
        expected = run_at(model, info.in_channels, size)
        assert isinstance(expected, dict) == (info.output == "dict")
        assert run_at(traced, info.in_channels, size) == expected
    # the traced graph rejects what the module rejects, with the same error
    bad = _last_invalid(name)
    if bad is not None:
        error = forward_error(model, info.in_channels, bad)
        assert error is not None
        assert forward_error(traced.forward, info.in_channels, bad) == error


@pytest.mark.parametrize("name", NOT_TRACEABLE)
def test_untraceable_models_raise_trace_error(name: str):
    model = build(name)
    with pytest.raises(torch.fx.proxy.TraceError):
        torch.fx.symbolic_trace(model)
    size = example_sizes(name, 1)[0]
    assert run_at(model, INFO[name].in_channels, size) == (1, 10)


@pytest.mark.parametrize("name", list(MODELS))
def test_meta_device_forward(name: str):
    info = INFO[name]
    meta = build(name, "meta")
    assert all(p.is_meta for p in meta.parameters())
    size = example_sizes(name, 1)[0]
    assert run_at(meta, info.in_channels, size, device="meta") == run_at(build(name), info.in_channels, size)


@pytest.mark.parametrize("name", list(MODELS))
def test_documented_valid_sizes(name: str):
    probes = _probe_sizes(name)
    assert valid_sizes(name, probes) == [s for s in probes if INFO[name].valid(s)]


@pytest.mark.parametrize(
    "name", ["tutorial_net", "vgg11_bn", "inception_v3", "convnext", "hrnet", "unet_strict"]
)
def test_meta_rejects_like_cpu(name: str):
    """Meta and CPU forward passes fail at the same sizes with the same exception type (linear,
    pool, conv, broadcast and cat errors; the wording of some messages differs)."""
    info = INFO[name]
    cpu, meta = build(name), build(name, "meta")
    bad = _last_invalid(name, 80)
    assert bad is not None
    sizes = [bad - 1, bad, bad + 1]
    errors = [(forward_error(cpu, info.in_channels, s), forward_error(meta, info.in_channels, s, "meta"))
              for s in sizes]
    assert any(c is not None for c, _ in errors)
    assert [_error_type(c) for c, _ in errors] == [_error_type(m) for _, m in errors]


@pytest.mark.skipif(not os.environ.get("SHAPEPLAN_SLOW_FIXTURES"), reason="slow: set SHAPEPLAN_SLOW_FIXTURES=1")
@pytest.mark.parametrize("name", list(MODELS))
def test_full_scan_of_valid_sizes(name: str):
    sizes = range(1, 129)
    expected = [s for s in sizes if INFO[name].valid(s)]
    assert valid_sizes(name, sizes) == expected
    assert valid_sizes(name, sizes, device="meta") == expected

"""torch's scaled sizes, ``int(double(n) * s)`` (shapeplan.core.scaled): the exact split
``n*p//q - [n in M]`` checked at every size up to 2**24 and at random sizes up to 2**40, and
whole networks with decimal scales (0.7, 1.4, 2.3, 0.35, ...) compared with torch's CPU at
every size of a range: the domain and every layer's shape, with ``recompute_scale_factor``
True, False and None, through convolutions, merges and nested resizes."""

from __future__ import annotations

import random

import netgen
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import shapeplan
from shapeplan.analysis.check import run_check
from shapeplan.core.scaled import SCALE_LIMIT, scale_int, scale_split

torch.set_num_threads(1)

ONE_DECIMAL = [k / 10 for k in range(1, 51)]
MORE = [0.35, 0.65, 0.07, 0.77, 1.23, 2.35, 4.75, 0.123, 0.015, 3.14, 1.05, 0.85, 1.15, 6.3, 7.7, 9.9, 0.99, 0.45]


def _check_split(s: float, top: int) -> int:
    split = scale_split(s)
    assert split is not None, s
    r, misses = split
    p, q = r.numerator, r.denominator
    n = np.arange(0, top + 1, dtype=np.int64)
    torch_ = (n.astype(np.float64) * s).astype(np.int64)  # double product, truncated: torch's arithmetic
    member = np.zeros(top + 1, dtype=bool)
    for seg in misses.segs:
        assert seg.hi is not None and seg.residues == frozenset({0}) and seg.period in (1, q)
        if seg.lo <= top:
            member[seg.lo: min(seg.hi, top) + 1: seg.period] = True
    assert np.array_equal(torch_, (n * p) // q - member), s
    return int(member.sum())


@pytest.mark.parametrize("s", [0.7, 1.4, 2.3, 0.35, 1.15])
def test_split_exact_every_size_to_2_24(s: float) -> None:
    assert _check_split(s, 2**24) > 0


def test_split_exact_more_scales() -> None:
    missed = {s: _check_split(s, 2**20) for s in ONE_DECIMAL + MORE}
    assert missed[0.35] > 0 and missed[0.45] == 0  # some decimals need the misses, most do not
    assert sorted(s for s in ONE_DECIMAL if missed[s]) == [0.7, 1.4, 2.3, 2.8, 4.1, 4.6]


def test_split_known_misses() -> None:
    split = scale_split(0.7)
    assert split is not None
    r, misses = split
    assert (r.numerator, r.denominator) == (7, 10)
    assert [v for v in range(400) if v in misses] == [90, 170, 180, 330, 340, 350, 360]
    assert int(90 * 0.7) == 62 and int(170 * 0.7) == 118  # torch's own arithmetic
    assert scale_split(0.0) is None and scale_split(-0.7) is None


def test_split_exact_at_large_sizes() -> None:
    """Random sizes and the ends of every run of misses, up to SCALE_LIMIT = 2**40."""
    rng = random.Random(3)
    for s in [0.7, 1.4, 2.3, 0.35, 4.7, 0.77, 3.7, 0.017, 6.3, 2.9, 1.7]:
        split = scale_split(s)
        assert split is not None
        r, misses = split
        p, q = r.numerator, r.denominator
        ns = [rng.randrange(SCALE_LIMIT) for _ in range(3000)] + [q * rng.randrange(SCALE_LIMIT // q)
                                                                  for _ in range(3000)]
        for seg in misses.segs:
            ns += [x for x in (seg.lo, seg.lo - q, seg.hi, seg.hi + q) if 0 <= x <= SCALE_LIMIT]
        for n in ns:
            assert scale_int(n, s) == n * p // q - (n in misses), (s, n)
    # torch computes the same product on its meta device, at sizes no CPU tensor could have
    for s, n in [(0.7, 2**36 + 90 * 2**20), (2.3, 10**11), (0.35, 180 * 10**8)]:
        got = F.interpolate(torch.empty(1, 1, n, device="meta"), scale_factor=s).shape[-1]
        assert got == scale_int(n, s)


# --------------------------------------------------------------------------- whole networks against torch


def _compare(spec: dict, sizes: list[dict[str, int]]) -> None:
    """shapeplan's verdict and every layer's shape equal torch's CPU forward at each size."""
    out = netgen.compare(spec, envs=sizes)
    assert out.loaded and not out.disagreements, out.disagreements[:3]
    assert out.valid > 0 and out.sizes == len(sizes)


SCALES = [0.7, 1.4, 2.3, 0.35, 0.3, 1.7, 0.9]


@pytest.mark.parametrize("s", SCALES)
@pytest.mark.parametrize("recompute", [None, True, False])
def test_resize_then_conv_and_unshuffle(s: float, recompute: bool | None) -> None:
    spec = {"name": "S", "input": [1, 2, "L"], "layers": [
        {"name": "up", "op": "interpolate", "scale_factor": s, "recompute_scale_factor": recompute},
        {"name": "c", "op": "Conv1d", "in_channels": 2, "out_channels": 2, "kernel_size": 3, "stride": 2},
    ]}
    _compare(spec, [{"L": n} for n in range(1, 260)])
    spec2 = {"name": "S", "input": [1, 1, "H", 4], "layers": [
        {"name": "up", "op": "Upsample", "scale_factor": [s, 2.0], "recompute_scale_factor": recompute,
         "mode": "bilinear"},
        {"name": "p", "op": "PixelUnshuffle", "downscale_factor": 2, "from": "up"},
    ]}
    _compare(spec2, [{"H": n} for n in range(1, 200)])
    spec3 = {"name": "S", "input": [1, 2, "H", 5], "layers": [  # area: an adaptive pool to int(H*s)
        {"name": "up", "op": "interpolate", "scale_factor": [s, 1.4], "mode": "area"},
        {"name": "c", "op": "Conv2d", "in_channels": 2, "out_channels": 1, "kernel_size": [3, 1], "stride": [3, 1]},
    ]}
    _compare(spec3, [{"H": n} for n in range(1, 200)])


@pytest.mark.parametrize("s", [0.7, 2.3, 0.35])
def test_merges_and_nested_scales(s: float) -> None:
    """An add of a decimal-scaled branch with a strided one: valid exactly where torch's sizes
    agree (or one is 1, a broadcast); and a resize of a resize."""
    spec = {"name": "M", "input": [1, 1, "H", 2], "layers": [
        {"name": "a", "op": "interpolate", "scale_factor": [s, 1.0]},
        {"name": "b", "op": "Conv2d", "from": "x", "in_channels": 1, "out_channels": 1, "kernel_size": 1,
         "stride": [2, 1]},
        {"name": "m", "op": "add", "from": ["a", "b"]},
    ]}
    _compare(spec, [{"H": n} for n in range(1, 200)])
    spec = {"name": "N", "input": [1, 1, "H"], "layers": [
        {"name": "a", "op": "interpolate", "scale_factor": s},
        {"name": "b", "op": "interpolate", "scale_factor": 1.4, "mode": "linear"},
        {"name": "c", "op": "interpolate", "scale_factor": 0.7, "from": "x"},
        {"name": "m", "op": "add", "from": ["b", "c"]},
    ]}
    _compare(spec, [{"H": n} for n in range(1, 400)])


def test_large_sizes_decided_by_the_domain() -> None:
    """At sizes too large to run, the domain agrees with torch's arithmetic (checked above)."""
    spec = {"name": "L", "input": [1, 1, "H"], "layers": [
        {"name": "a", "op": "interpolate", "scale_factor": 0.7},
        {"name": "c", "op": "Conv1d", "in_channels": 1, "out_channels": 1, "kernel_size": 2, "stride": 2},
        {"name": "u", "op": "interpolate", "scale_factor": 2.0},
        {"name": "m", "op": "add", "from": ["u", "a"]},
    ]}
    rep = run_check(shapeplan.load(spec))
    rng = random.Random(0)
    for n in [rng.randrange(2, 2**36) for _ in range(2000)] + [10 * rng.randrange(1, 2**30) for _ in range(2000)]:
        a = scale_int(n, 0.7)
        want = a >= 2 and 2 * ((a - 2) // 2 + 1) == a  # the add needs equal sizes (neither is 1 here)
        assert rep.domain.contains(H=n) == want, n

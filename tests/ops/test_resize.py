"""Resize rules against torch: Upsample, UpsamplingNearest2d/Bilinear2d, F.interpolate (+ the
deprecated F.upsample*), PixelShuffle / PixelUnshuffle, at random arguments and sizes,
including the sizes and arguments where torch raises (empty dims, zero output sizes, wrong
rank for a mode, align_corners / antialias misuse), and torch's floating-point output size
``int(n * scale_factor)`` for many scales and sizes."""

from __future__ import annotations

import random
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from shapeplan.core.dims import floordiv, sym
from shapeplan.ops import REGISTRY
from shapeplan.ops.ctx import ArgError
from shapeplan.ops.params import MAX_INT
from shapeplan.ops.resize import MODES, exact_ratio
from tests.oracle import apply_rule, evaluate_rule, predict, predict_symbolic, torch_shape

torch.set_num_threads(1)

SPATIAL = {3: ("L",), 4: ("H", "W"), 5: ("D", "H", "W")}
RANK_OF = {"linear": 3, "bilinear": 4, "bicubic": 4, "lanczos": 4, "trilinear": 5}
# scales: exact in binary, exact via a small rational, and inexact ones (0.7, 2.3, 0.35)
SCALES = [0.5, 2.0, 1.5, 0.25, 0.75, 3.0, 0.375, 1.125, 1 / 3, 2 / 3, 0.7, 1.3, 0.1, 0.9, 2.3, 0.35, 1.7, 0.0,
          -0.5, 1e-3]


def names_for(shape: Sequence[int]) -> tuple[str, ...]:
    r = len(shape)
    if r in SPATIAL:
        return ("N", "C", *SPATIAL[r])
    if r >= 3:  # pixel shuffle: (*, C, H, W)
        return (*(f"B{i}" for i in range(r - 3)), "C", "H", "W")
    return tuple(f"X{i}" for i in range(r))


def _scales_of(kwargs: dict[str, Any], rank: int) -> list[float]:
    s = kwargs.get("scale_factor")
    if s is None:
        return []
    return list(s) if isinstance(s, (list, tuple)) else [s] * max(rank - 2, 0)


def check(op: str, shape: Sequence[int], args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None,
          mask: Sequence[bool] | None = None) -> tuple[int, ...] | None:
    """predict == torch, and the symbolic rule (positive dims as symbols) agrees at these sizes."""
    kwargs = kwargs or {}
    want = torch_shape(op, [shape], args, kwargs)
    got = predict(op, [shape], args, kwargs)
    assert got == want, f"{op}{tuple(shape)} {args} {kwargs}: predicted {got}, torch {want}"
    names = names_for(shape)
    mask = list(mask) if mask is not None else [True] * len(shape)
    sym_shape = [nm if (v >= 1 and m) else v for v, nm, m in zip(shape, names, mask, strict=True)]
    env = {nm: v for v, nm in zip(shape, names, strict=True)}
    got_sym = predict_symbolic(op, [sym_shape], env, args, kwargs)
    assert got_sym == want, f"{op}{tuple(sym_shape)} at {env} {args} {kwargs}: symbolic {got_sym}, torch {want}"
    return want


def symbolic_rule(op: str, shape: Sequence[Any], args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None):
    """The rule once with symbols: (output shape, requirements); RuleError propagates."""
    return apply_rule(op, [shape], args, kwargs)


# --------------------------------------------------------------------------- strategies


@st.composite
def resize_input(draw: Any, ranks: Sequence[int] = (3, 4, 5)) -> tuple[tuple[int, ...], list[bool]]:
    rank = draw(st.sampled_from(list(ranks)))
    big = {2: 8, 3: 12, 4: 9, 5: 5, 6: 3}[rank]
    dims = [draw(st.integers(0, 2)), draw(st.integers(0, 3)) if draw(st.integers(0, 6)) == 0 else draw(st.integers(1, 3))]
    dims = dims[: min(rank, 2)]
    dims += [draw(st.integers(0, big)) if draw(st.integers(0, 8)) == 0 else draw(st.integers(1, big))
             for _ in range(rank - len(dims))]
    return tuple(dims), [draw(st.booleans()) for _ in dims]


def _size_arg(draw: Any, n: int) -> Any:
    vals = [draw(st.integers(0, 9)) if draw(st.integers(0, 6)) == 0 else draw(st.integers(1, 9)) for _ in range(n)]
    form = draw(st.integers(0, 5))
    if form == 0:
        return vals[0]
    if form == 1:  # sometimes the wrong length
        return vals + [draw(st.integers(1, 5))] if draw(st.booleans()) else vals[:-1]
    return vals


def _scale_arg(draw: Any, n: int) -> Any:
    digits = draw(st.integers(1, 4))
    scale = st.one_of(st.sampled_from(SCALES), st.integers(1, 16).map(lambda k: k / 8),
                      st.floats(0.05, 4.0, allow_nan=False).map(lambda f: round(f, digits)))
    vals = [draw(scale) for _ in range(n)]
    form = draw(st.integers(0, 5))
    if form == 0:
        return vals[0]
    if form == 1:
        return vals + [2.0] if draw(st.booleans()) else vals[:-1]
    return vals


@st.composite
def interpolate_case(draw: Any, rank: int, modes: Sequence[str] = MODES, antialias: bool = True,
                     recompute: bool = True) -> dict[str, Any]:
    n = max(rank - 2, 1)
    kw: dict[str, Any] = {}
    which = draw(st.integers(0, 20))
    if which < 10:
        kw["size"] = _size_arg(draw, n)
    elif which < 20:
        kw["scale_factor"] = _scale_arg(draw, n)
    else:  # both or neither: torch raises
        if draw(st.booleans()):
            kw["size"], kw["scale_factor"] = 3, 2.0
    fits = [m for m in modes if RANK_OF.get(m, rank) == rank]
    mode = draw(st.sampled_from(fits if fits and draw(st.integers(0, 4)) else list(modes)))  # mostly a fitting mode
    if mode != "nearest" or draw(st.booleans()):
        kw["mode"] = mode
    if draw(st.integers(0, 2)) == 0 or mode == "lanczos" and draw(st.integers(0, 3)):
        kw["align_corners"] = draw(st.sampled_from([None, False, True] if mode != "lanczos" else [False, True]))
    if recompute and draw(st.integers(0, 2)) == 0:
        kw["recompute_scale_factor"] = draw(st.sampled_from([None, False, True]))
    if antialias and (mode in ("bilinear", "bicubic", "lanczos") and draw(st.integers(0, 2)) or
                      draw(st.integers(0, 12)) == 0):
        kw["antialias"] = draw(st.booleans()) if mode != "lanczos" else draw(st.integers(0, 5)) > 0
    return kw


# --------------------------------------------------------------------------- interpolate


@pytest.mark.parametrize("rank", [3, 4, 5])
def test_interpolate(rank: int) -> None:
    @settings(max_examples={3: 250, 4: 250, 5: 120}[rank], deadline=None)
    @given(st.data())
    def run(data: Any) -> None:
        shape, mask = data.draw(resize_input((rank,)))
        kw = data.draw(interpolate_case(rank))
        check("interpolate", shape, kwargs=kw, mask=mask)

    run()


def test_interpolate_wrong_rank() -> None:
    @settings(max_examples=40, deadline=None)
    @given(resize_input((2, 6)), interpolate_case(4))
    def run(x: Any, kw: dict[str, Any]) -> None:
        check("interpolate", x[0], kwargs=kw, mask=x[1])

    run()


@pytest.mark.parametrize("op", ["Upsample", "upsample"])
def test_upsample(op: str) -> None:
    @settings(max_examples=150, deadline=None)
    @given(st.data())
    def run(data: Any) -> None:
        shape, mask = data.draw(resize_input())
        kw = data.draw(interpolate_case(len(shape), antialias=False, recompute=op == "Upsample"))
        if op == "Upsample" and isinstance(kw.get("scale_factor"), list):
            kw["scale_factor"] = tuple(kw["scale_factor"])  # nn.Upsample takes a tuple (float(list) fails)
        check(op, shape, kwargs=kw, mask=mask)

    run()


@pytest.mark.parametrize("op", ["UpsamplingNearest2d", "UpsamplingBilinear2d", "upsample_nearest",
                                "upsample_bilinear"])
def test_upsampling_fixed_mode(op: str) -> None:
    @settings(max_examples=80, deadline=None)
    @given(st.data())
    def run(data: Any) -> None:
        shape, mask = data.draw(resize_input())
        n = len(shape) - 2
        kw: dict[str, Any] = {}
        if data.draw(st.booleans()):
            kw["size"] = _size_arg(data.draw, n)
        if data.draw(st.integers(0, 5)) or not kw:
            kw["scale_factor"] = _scale_arg(data.draw, n)
            if op[0].isupper() and isinstance(kw["scale_factor"], list):
                kw["scale_factor"] = tuple(kw["scale_factor"])
        check(op, shape, kwargs=kw, mask=mask)

    run()


def test_interpolate_examples() -> None:
    assert check("interpolate", (1, 2, 5, 7), kwargs={"scale_factor": 2}) == (1, 2, 10, 14)
    assert check("interpolate", (1, 2, 5, 7), kwargs={"size": 3}) == (1, 2, 3, 3)
    assert check("interpolate", (1, 2, 5, 7), kwargs={"size": [3, 4], "mode": "bilinear"}) == (1, 2, 3, 4)
    assert check("interpolate", (1, 2, 5, 7), kwargs={"size": [3]}) is None  # length must match
    assert check("interpolate", (1, 2, 5, 7), kwargs={"scale_factor": 0.1}) is None  # output 0
    assert check("interpolate", (1, 2, 5, 7), kwargs={"scale_factor": 0.1, "mode": "area"}) == (1, 2, 0, 0)
    assert check("interpolate", (0, 2, 5, 7), kwargs={"size": 3}) == (0, 2, 3, 3)  # empty batch is fine
    assert check("interpolate", (1, 0, 5, 7), kwargs={"size": 3}) is None  # empty channels are not
    assert check("interpolate", (1, 0, 5, 7), kwargs={"size": 3, "mode": "area"}) == (1, 0, 3, 3)
    assert check("interpolate", (1, 1, 0, 7), kwargs={"size": 1, "mode": "area"}) == (1, 1, 1, 1)  # plain mean
    assert check("interpolate", (1, 1, 0, 7), kwargs={"size": 2, "mode": "area"}) is None
    # area on 5D is adaptive_avg_pool3d: empty channels only pass on its plain-mean path (all outputs 1)
    assert check("interpolate", (1, 0, 2, 3, 2), kwargs={"scale_factor": 0.5, "mode": "area"}) == (1, 0, 1, 1, 1)
    assert check("interpolate", (1, 0, 4, 4, 4), kwargs={"scale_factor": 0.5, "mode": "area"}) is None
    assert check("interpolate", (1, 0, 4, 4), kwargs={"scale_factor": 0.5, "mode": "area"}) == (1, 0, 2, 2)
    assert check("interpolate", (1, 2, 5, 7), kwargs={"size": 3, "align_corners": False}) is None
    assert check("interpolate", (1, 2, 5), kwargs={"size": 3, "mode": "bilinear"}) is None
    assert check("interpolate", (1, 2, 5, 5), kwargs={"size": 3, "mode": "lanczos"}) is None
    assert check("interpolate", (1, 2, 5, 5), kwargs={"size": 3, "mode": "lanczos", "antialias": True}) == (1, 2, 3, 3)
    assert check("interpolate", (1, 2, 5, 5), kwargs={"size": 3, "recompute_scale_factor": True}) is None
    assert check("interpolate", (1, 2, 90), kwargs={"scale_factor": 0.7}) == (1, 2, 62)  # not 63
    assert check("Upsample", (1, 2, 5, 5), kwargs={"size": 3, "scale_factor": 0}) == (1, 2, 3, 3)  # 0 -> None
    assert check("interpolate", (1, 2, 5, 5), kwargs={"size": 3, "scale_factor": 0.0}) is None


def test_positional_order() -> None:
    # Upsample(size, scale_factor, mode, align_corners, recompute_scale_factor)
    assert check("Upsample", (1, 1, 4, 4), [None, 1.5, "bilinear", True, True]) == (1, 1, 6, 6)
    # F.interpolate(input, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias)
    assert check("interpolate", (1, 1, 4, 4), [None, 0.5, "bicubic", False, None, True]) == (1, 1, 2, 2)
    assert check("PixelShuffle", (1, 8, 2, 2), [2]) == (1, 2, 4, 4)
    assert check("pixel_unshuffle", (1, 2, 4, 6), [2]) == (1, 8, 2, 3)


def test_symbolic_size_expressions() -> None:
    rule = symbolic_rule("interpolate", ["N", "C", "H", "W"], kwargs={"size": ["H // 2", "W * 2 - 3"]})
    for h in range(1, 12):
        for w in range(1, 5):
            env = {"N": 1, "C": 2, "H": h, "W": w}
            try:  # (a negative size is an ArgError for shapeplan's binder, so call torch directly)
                want = tuple(F.interpolate(torch.zeros(1, 2, h, w), size=[h // 2, 2 * w - 3]).shape)
            except RuntimeError:
                want = None
            assert evaluate_rule(rule, env) == want, env
    rule = symbolic_rule("Upsample", ["N", "C", "H", "W"], kwargs={"size": "H - 3", "mode": "area"})
    for h in range(1, 9):
        want = torch_shape("Upsample", [(2, 3, h, 4)], kwargs={"size": max(h - 3, 0), "mode": "area"})
        assert evaluate_rule(rule, {"N": 2, "C": 3, "H": h, "W": 4}) == (want if h >= 3 else None)


def test_symbolic_scale_formula() -> None:
    H = sym("H")
    out, _ = symbolic_rule("interpolate", [1, 1, "H"], kwargs={"scale_factor": 1.5})
    assert out[2] == floordiv(3 * H, 2) and str(out[2]) == "(3*H)//2"
    out, _ = symbolic_rule("interpolate", [1, 1, "H"], kwargs={"scale_factor": 2.0})
    assert out[2] == 2 * H
    out, _ = symbolic_rule("interpolate", [1, 1, "H"], kwargs={"scale_factor": 0.3})
    assert str(out[2]) == "(3*H)//10"  # exact at every size
    # 0.7 is not (7*H)//10 at every size: torch's product itself, decided exactly
    out, reqs = symbolic_rule("interpolate", [1, 1, "H"], kwargs={"scale_factor": 0.7})
    assert str(out[2]) == "int(H*0.7)"
    assert evaluate_rule((out, reqs), {"H": 90}) == (1, 1, 62) and evaluate_rule((out, reqs), {"H": 80}) == (1, 1, 56)
    out, _ = symbolic_rule("interpolate", [1, 1, "H"], kwargs={"scale_factor": -0.7})
    assert str(out[2]) == "-int(H*0.7)"


# --------------------------------------------------------------------------- torch's size arithmetic


def _torch_out(n: int, s: float, device: str = "cpu") -> int | None:
    try:
        return int(F.interpolate(torch.empty(1, 1, n, device=device), scale_factor=s).shape[-1])
    except RuntimeError:
        return None


def test_scale_formula_against_torch_many_sizes() -> None:
    """torch's size is int(double(n) * s); the symbolic formula matches it exactly when offered."""
    rng = random.Random(0)
    scales = sorted(set(SCALES + [k / 8 for k in range(1, 33)] + [k / 10 for k in range(1, 40)] + [1 / 3, 2 / 3, 1 / 7]
                        + [round(rng.uniform(0.05, 5), rng.randint(1, 3)) for _ in range(40)]))
    sizes = list(range(1, 130))
    for s in scales:
        rule = symbolic_rule("interpolate", [1, 1, "L"], kwargs={"scale_factor": s})
        for n in sizes:
            want = _torch_out(n, s)  # the CPU's answer: whether it runs, and the size
            got = predict("interpolate", [(1, 1, n)], kwargs={"scale_factor": s})
            assert (None if got is None else got[-1]) == want, (s, n)
            g = evaluate_rule(rule, {"L": n})
            assert (None if g is None else g[-1]) == want, (s, n)
    # the meta kernel computes the size as the CPU one does, on a sample (including 0.7 at 90); the
    # large sizes below are checked on meta only
    for s, n in [(0.7, 90), (0.7, 10), (2.3, 50), (0.35, 180), (1 / 3, 99), (1.3, 77)]:
        assert _torch_out(n, s) == _torch_out(n, s, "meta") == int(n * s)


def test_scale_formula_large_sizes() -> None:
    """exact_ratio's promise, checked far past the sizes a tensor can have: int(n*s) == n*p//q."""
    rng = random.Random(1)
    scales = [k / d for d in (2, 3, 4, 5, 6, 7, 8, 10, 16, 20, 100) for k in range(1, 3 * d)]
    scales += [rng.uniform(0.01, 8) for _ in range(60)]
    accepted = 0
    for s in scales:
        r = exact_ratio(s)
        if r is None:
            continue
        accepted += 1
        p, q = r.numerator, r.denominator
        ns = [rng.randrange(0, MAX_INT) for _ in range(300)] + [q * rng.randrange(1, MAX_INT // q) for _ in range(300)]
        ns += [q * m for m in range(1, 2000)]
        for n in ns:
            assert int(n * s) == n * p // q, (s, r, n)
    assert accepted > 300
    # meta tensors let torch itself confirm the formula at large sizes
    for s in (0.5, 1.5, 1 / 3, 1.3, 0.7):
        for n in (10**6, 3 * 10**7 + 7, 2**30 + 1, 90 * 10**6):
            assert _torch_out(n, s, "meta") == int(n * s)


def test_exact_ratio_known() -> None:
    assert exact_ratio(0.5) == Fraction(1, 2) and exact_ratio(1.5) == Fraction(3, 2)
    assert exact_ratio(1 / 3) == Fraction(1, 3) and exact_ratio(1.3) == Fraction(13, 10)
    assert exact_ratio(0.7) is None and int(90 * 0.7) == 62  # torch: 62, floor(90*7/10) = 63


# --------------------------------------------------------------------------- pixel shuffle


@st.composite
def shuffle_case(draw: Any, unshuffle: bool) -> tuple[tuple[int, ...], list[bool], int]:
    rank = draw(st.integers(2, 5)) if draw(st.integers(0, 7)) == 0 else draw(st.integers(3, 5))
    r = draw(st.integers(-1, 3)) if draw(st.integers(0, 5)) == 0 else draw(st.integers(1, 3))
    dims = [draw(st.integers(0, 12)) if draw(st.integers(0, 8)) == 0 else draw(st.integers(1, 12)) for _ in range(rank)]
    if rank >= 3 and r >= 1 and draw(st.integers(0, 3)):  # mostly sizes torch accepts
        if unshuffle:
            dims[-2] = r * draw(st.integers(0 if draw(st.integers(0, 8)) == 0 else 1, 12 // r))
            dims[-1] = r * draw(st.integers(0 if draw(st.integers(0, 8)) == 0 else 1, 12 // r))
        else:
            dims[-3] = r * r * draw(st.integers(0 if draw(st.integers(0, 8)) == 0 else 1, 3))
    return tuple(dims), [draw(st.booleans()) for _ in dims], r


@pytest.mark.parametrize("op", ["PixelShuffle", "pixel_shuffle", "PixelUnshuffle", "pixel_unshuffle"])
def test_pixel_shuffle(op: str) -> None:
    @settings(max_examples=150, deadline=None)
    @given(shuffle_case("nshuffle" in op.lower()))
    def run(case: Any) -> None:
        shape, mask, r = case
        check(op, shape, [r], mask=mask)

    run()


def test_pixel_unshuffle_empty_is_returned_as_is() -> None:
    # torch's CPU kernel clones an empty input (after its checks), shape unchanged
    assert check("pixel_unshuffle", (1, 2, 0, 4), [2]) == (1, 2, 0, 4)
    assert check("PixelUnshuffle", (0, 2, 4, 6), [2]) == (0, 2, 4, 6)
    assert check("pixel_unshuffle", (1, 0, 4, 5), [2]) is None
    assert check("pixel_shuffle", (1, 0, 3, 3), [2]) == (1, 0, 6, 6)


def test_symbolic_pixel_shuffle_conditions() -> None:
    rule = symbolic_rule("PixelUnshuffle", ["N", "C", "H", "W"], [3])
    assert [r.cond.kind for r in rule[1]] == ["dvd", "dvd"]
    rule = symbolic_rule("PixelShuffle", ["N", "C", "H", "W"], [2])
    assert [r.cond.kind for r in rule[1]] == ["dvd"]
    assert evaluate_rule(rule, {"N": 1, "C": 12, "H": 3, "W": 5}) == (1, 3, 6, 10)


# --------------------------------------------------------------------------- arguments


def test_bad_arguments() -> None:
    for kw in ({"mode": "cubic"}, {"size": -1}, {"size": [2, "H +"]}, {"scale_factor": "x"},
               {"scale_factor": float("nan")}, {"align_corners": 1}):
        with pytest.raises(ArgError):
            predict("interpolate", [(1, 1, 4, 4)], kwargs={"size": 2, **kw} if "size" not in kw else kw)


def test_no_parameters() -> None:
    for name, mod in [("Upsample", torch.nn.Upsample(scale_factor=2)), ("PixelShuffle", torch.nn.PixelShuffle(2)),
                      ("PixelUnshuffle", torch.nn.PixelUnshuffle(2)),
                      ("UpsamplingNearest2d", torch.nn.UpsamplingNearest2d(scale_factor=2)),
                      ("UpsamplingBilinear2d", torch.nn.UpsamplingBilinear2d(scale_factor=2))]:
        assert REGISTRY[name].param_count is None
        assert sum(p.numel() for p in mod.parameters()) == 0

"""Pooling rules against torch: MaxPool / AvgPool / LPPool / AdaptiveAvgPool / AdaptiveMaxPool
(1d/2d/3d, modules and F.* functions), at random arguments and sizes, including the sizes
and arguments where torch raises (empty dims, windows that do not fit, padding > k/2)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shapeplan.core.dims import evaluate, fmt, sym
from shapeplan.ops import REGISTRY
from shapeplan.ops.ctx import ArgError, RuleError
from tests.oracle import apply_rule, evaluate_rule, predict, predict_symbolic, torch_shape

# Tiny tensors: torch's intra-op thread pool costs ~100x the work itself on a busy machine.
torch.set_num_threads(1)

AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
MAX_SIZE = {1: 16, 2: 12, 3: 8}


# --------------------------------------------------------------------------- helpers


def names_for(shape: Sequence[int], n: int) -> tuple[str, ...]:
    if len(shape) == n + 2:
        return ("N", "C", *AXES[n])
    if len(shape) == n + 1:
        return ("C", *AXES[n])
    return tuple(f"X{i}" for i in range(len(shape)))  # a wrong rank


def check(op: str, shape: Sequence[int], args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None,
          n: int = 2, mask: Sequence[bool] | None = None) -> tuple[int, ...] | None:
    """predict == torch, and the symbolic rule (positive dims as symbols) agrees at these sizes."""
    kwargs = kwargs or {}
    want = torch_shape(op, [shape], args, kwargs)
    got = predict(op, [shape], args, kwargs)
    assert got == want, f"{op}{tuple(shape)} {args} {kwargs}: predicted {got}, torch {want}"
    names = names_for(shape, n)
    mask = mask if mask is not None else [True] * len(shape)
    # symbols are positive integers: only dims >= 1 become symbols
    sym_shape = [nm if (v >= 1 and m) else v for v, nm, m in zip(shape, names, mask, strict=True)]
    env = {nm: v for v, nm in zip(shape, names, strict=True)}
    got_sym = predict_symbolic(op, [sym_shape], env, args, kwargs)
    assert got_sym == want, f"{op}{tuple(sym_shape)} at {env} {args} {kwargs}: symbolic {got_sym}, torch {want}"
    return want


def symbolic_rule(op: str, shape: Sequence[Any], args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None):
    """The rule once with symbols: (output shape, requirements), or None when it fails outright."""
    try:
        return apply_rule(op, [shape], args, kwargs)
    except RuleError:
        return None


@st.composite
def input_shape(draw: Any, n: int, min_size: int = 0) -> tuple[tuple[int, ...], list[bool]]:
    batched = draw(st.booleans())
    spatial = [draw(st.integers(min_size, MAX_SIZE[n])) for _ in range(n)]
    c = draw(st.integers(0, 3)) if draw(st.integers(0, 9)) == 0 else draw(st.integers(1, 3))
    lead = [draw(st.integers(0, 2)), c] if batched else [c]
    shape = (*lead, *spatial)
    mask = [draw(st.booleans()) for _ in shape]
    return shape, mask


def per_dim(draw: Any, n: int, values: st.SearchStrategy[int]) -> Any:
    """An int, or a list of n ints (sometimes a 1-list where torch repeats it)."""
    vals = [draw(values) for _ in range(n)]
    form = draw(st.integers(0, 2))
    if form == 0 or n == 1 and form == 1:
        return vals[0]
    return vals


# --------------------------------------------------------------------------- MaxPool


@st.composite
def maxpool_case(draw: Any, n: int) -> dict[str, Any]:
    k = [draw(st.integers(1, 5)) for _ in range(n)]
    kw: dict[str, Any] = {"kernel_size": k if n > 1 and draw(st.booleans()) or len(set(k)) > 1 else k[0]}
    if draw(st.booleans()):
        kw["stride"] = per_dim(draw, n, st.integers(1, 4))
    if draw(st.booleans()):
        # mostly within torch's limit k//2, sometimes one over
        kw["padding"] = [draw(st.integers(0, ki // 2 + (draw(st.integers(0, 5)) == 0))) for ki in k]
    if draw(st.booleans()):
        kw["dilation"] = per_dim(draw, n, st.integers(1, 3))
    if draw(st.booleans()):
        kw["ceil_mode"] = draw(st.booleans())
    return kw


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("functional", [False, True])
def test_maxpool(n: int, functional: bool) -> None:
    op = f"max_pool{n}d" if functional else f"MaxPool{n}d"

    @settings(max_examples=100 if n < 3 else 60, deadline=None)
    @given(maxpool_case(n), input_shape(n))
    def run(kw: dict[str, Any], x: tuple[tuple[int, ...], list[bool]]) -> None:
        check(op, x[0], kwargs=kw, n=n, mask=x[1])

    run()


def test_maxpool_positional_order() -> None:
    # MaxPool2d(kernel_size, stride, padding, dilation, return_indices, ceil_mode);
    # F.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    assert check("MaxPool2d", (1, 2, 7, 7), [2, 2, 0, 1, False, True]) == (1, 2, 4, 4)
    assert check("max_pool2d", (1, 2, 7, 7), [2, 2, 0, 1, True, False]) == (1, 2, 4, 4)


# --------------------------------------------------------------------------- AvgPool


@st.composite
def avgpool_case(draw: Any, n: int) -> dict[str, Any]:
    k = [draw(st.integers(1, 5)) for _ in range(n)]
    kw: dict[str, Any] = {"kernel_size": k if len(set(k)) > 1 or draw(st.booleans()) and n > 1 else k[0]}
    if draw(st.booleans()):
        kw["stride"] = per_dim(draw, n, st.integers(1, 4))
    if draw(st.booleans()):
        kw["padding"] = [draw(st.integers(0, ki // 2 + (draw(st.integers(0, 5)) == 0))) for ki in k]
    if draw(st.booleans()):
        kw["ceil_mode"] = draw(st.booleans())
    if draw(st.booleans()):
        kw["count_include_pad"] = draw(st.booleans())
    if n > 1 and draw(st.booleans()):
        kw["divisor_override"] = draw(st.sampled_from([None, -2, 1, 3]))
    return kw


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("functional", [False, True])
def test_avgpool(n: int, functional: bool) -> None:
    op = f"avg_pool{n}d" if functional else f"AvgPool{n}d"

    @settings(max_examples=100 if n < 3 else 60, deadline=None)
    @given(avgpool_case(n), input_shape(n))
    def run(kw: dict[str, Any], x: tuple[tuple[int, ...], list[bool]]) -> None:
        check(op, x[0], kwargs=kw, n=n, mask=x[1])

    run()


def test_avgpool3d_needs_input_at_least_kernel() -> None:
    # avg_pool3d checks input >= kernel before padding; avg_pool2d does not
    assert check("AvgPool3d", (1, 1, 2, 5, 5), [3], {"padding": 1}, n=3) is None
    assert check("AvgPool3d", (1, 1, 2, 5, 5), [3], {"stride": 2, "ceil_mode": True}, n=3) is None
    assert check("AvgPool2d", (1, 1, 2, 5), [3], {"padding": 1}) == (1, 1, 1, 2)
    assert check("AvgPool2d", (1, 1, 2, 5), [3], {"stride": 2, "ceil_mode": True}) == (1, 1, 1, 2)


def test_divisor_override_zero_fails() -> None:
    assert check("AvgPool2d", (1, 1, 4, 4), [2], {"divisor_override": 0}) is None
    assert check("avg_pool3d", (1, 1, 4, 4, 4), [2], {"divisor_override": 0}, n=3) is None


# --------------------------------------------------------------------------- LPPool


@st.composite
def lppool_case(draw: Any, n: int) -> tuple[list[Any], dict[str, Any]]:
    norm_type = draw(st.sampled_from([1, 2, 3, 0.5, 1.5, -1]))
    k = [draw(st.integers(1, 4)) for _ in range(n)]
    kernel: Any = k[0] if n == 1 or len(set(k)) == 1 and draw(st.booleans()) else k
    kw: dict[str, Any] = {}
    if draw(st.booleans()):
        kw["stride"] = per_dim(draw, n, st.integers(1, 3))
    if draw(st.booleans()):
        kw["ceil_mode"] = draw(st.booleans())
    return [norm_type, kernel], kw


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("functional", [False, True])
def test_lppool(n: int, functional: bool) -> None:
    op = f"lp_pool{n}d" if functional else f"LPPool{n}d"

    @settings(max_examples=40, deadline=None)
    @given(lppool_case(n), input_shape(n))
    def run(case: tuple[list[Any], dict[str, Any]], x: tuple[tuple[int, ...], list[bool]]) -> None:
        check(op, x[0], case[0], case[1], n=n, mask=x[1])

    run()


def test_lppool_bad_arguments() -> None:
    # norm_type=0: torch divides 1.0 / norm_type (ZeroDivisionError) at every size
    assert predict("LPPool2d", [(1, 1, 4, 4)], [0, 2]) is None
    assert predict("lp_pool1d", [(1, 1, 4)], [0, 2]) is None
    # lp_pool1d multiplies the result by kernel_size: torch only takes an int there
    assert torch_shape("LPPool1d", [(1, 1, 9)], [2, 3]) == (1, 1, 3)
    with pytest.raises(ArgError):
        predict("LPPool1d", [(1, 1, 9)], [2, [3]])
    # norm_type=inf (a max pool in torch) cannot be written back as Python source: rejected
    with pytest.raises(ArgError):
        predict("LPPool2d", [(1, 1, 4, 4)], [float("inf"), 2])


# --------------------------------------------------------------------------- the ceil_mode rule, exhaustively


@pytest.mark.parametrize("op", ["MaxPool1d", "AvgPool1d"])
def test_window_rule_grid_1d(op: str) -> None:
    """Every small (k, s, p, d, ceil_mode) at n = 0..16: torch's pooling_output_shape incl. the
    dropped last window, the padding limit, out >= 1 and n >= 1; symbolic rule evaluated too."""
    cases = 0
    for k, s, d, ceil in itertools.product(range(1, 6), range(1, 5), range(1, 4) if op == "MaxPool1d" else [1],
                                           [False, True]):
        for p in range(0, k // 2 + 2):
            kw: dict[str, Any] = {"kernel_size": k, "stride": s, "padding": p, "ceil_mode": ceil}
            if op == "MaxPool1d":
                kw["dilation"] = d
            rule = symbolic_rule(op, (2, "L"), kwargs=kw)
            for length in range(0, 17):
                want = torch_shape(op, [(2, length)], kwargs=kw)
                assert predict(op, [(2, length)], kwargs=kw) == want, (kw, length)
                if length >= 1:
                    assert evaluate_rule(rule, {"L": length}) == want, (kw, length)
                cases += 1
    assert cases > 2000


def test_ceil_mode_drop_matches_torch_formula() -> None:
    """The branch-free ceil_mode output equals torch's pooling_output_shape_pad_lr."""
    from shapeplan.ops.pool import window_output

    def torch_formula(n: int, k: int, p: int, s: int, d: int) -> int:
        out = (n + 2 * p - d * (k - 1) - 1 + (s - 1)) // s + 1
        if (out - 1) * s >= n + p:
            out -= 1
        return out

    L = sym("L")
    for k, s, d in itertools.product(range(1, 8), range(1, 7), range(1, 4)):
        for p in range(0, k // 2 + 1):
            sym_out, least = window_output(L, k, s, p, d, True)
            for n in range(1, 40):
                want = torch_formula(n, k, p, s, d)
                assert window_output(n, k, s, p, d, True)[0] == want
                assert evaluate(sym_out, {"L": n}) == want
                assert (want >= 1) == (n >= least)


# --------------------------------------------------------------------------- adaptive pools


@st.composite
def adaptive_case(draw: Any, n: int) -> Any:
    one = st.sampled_from([1, 1, 2, 3, 5, 0] + ([None, None] if n > 1 else []))
    if n == 1:
        return draw(one) if draw(st.booleans()) else [draw(one)]
    if draw(st.integers(0, 2)) == 0:
        return draw(st.sampled_from([1, 2, 3, 0]))
    return [draw(one) for _ in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("functional", [False, True])
def test_adaptive(n: int, kind: str, functional: bool) -> None:
    op = f"adaptive_{kind}_pool{n}d" if functional else f"Adaptive{kind.capitalize()}Pool{n}d"

    @settings(max_examples=60, deadline=None)
    @given(adaptive_case(n), input_shape(n), st.booleans())
    def run(out_size: Any, x: tuple[tuple[int, ...], list[bool]], zero_spatial: bool) -> None:
        shape = list(x[0])
        if zero_spatial:  # make empty inputs common: torch's checks differ between these ops
            shape[-1 - (len(shape) % n)] = 0
        check(op, tuple(shape), [out_size], n=n, mask=x[1])

    run()


def test_adaptive_avg_mean_path() -> None:
    # every output size 1: torch takes a mean and checks nothing, even on empty inputs
    assert check("AdaptiveAvgPool2d", (1, 1, 0, 3), [1]) == (1, 1, 1, 1)
    assert check("AdaptiveAvgPool2d", (1, 1, 0, 3), [2]) is None
    assert check("AdaptiveAvgPool2d", (1, 1, 0, 1), [[1, None]]) == (1, 1, 1, 1)
    assert check("AdaptiveAvgPool2d", (1, 1, 0, 2), [[1, None]]) is None
    assert check("AdaptiveMaxPool2d", (1, 1, 0, 3), [1]) is None
    # channels may be empty for adaptive_avg_pool2d, not for adaptive_max_pool2d
    assert check("AdaptiveAvgPool2d", (1, 0, 3, 3), [2]) == (1, 0, 2, 2)
    assert check("AdaptiveMaxPool2d", (1, 0, 3, 3), [2]) is None
    assert check("AdaptiveAvgPool3d", (1, 0, 3, 3, 3), [2], n=3) is None
    # a symbolic output size with a None: the mean path depends on the size of the kept dim
    rule = symbolic_rule("AdaptiveAvgPool2d", (1, 1, 0, "W"), [[1, None]])
    for w in range(1, 5):
        assert evaluate_rule(rule, {"W": w}) == torch_shape("AdaptiveAvgPool2d", [(1, 1, 0, w)], [[1, None]])


def test_adaptive_bad_output_size() -> None:
    for op in ("AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "AdaptiveAvgPool2d", "adaptive_max_pool3d"):
        with pytest.raises(ArgError):
            predict(op, [(1, 1, 4, 4, 4)], [None])
    with pytest.raises(ArgError):
        predict("AdaptiveAvgPool1d", [(1, 1, 4)], [[None]])
    with pytest.raises(ArgError):
        predict("AdaptiveAvgPool2d", [(1, 1, 4, 4)], [[4]])  # torch: "output_size must be 2"
    with pytest.raises(ArgError):
        predict("AdaptiveAvgPool2d", [(1, 1, 4, 4)], [-1])


def test_adaptive_symbolic_output_size() -> None:
    rule = symbolic_rule("AdaptiveAvgPool2d", ("N", 3, "H", "W"), [["H // 2", None]])
    assert rule is not None
    out, reqs = rule
    assert [fmt(d) for d in out] == ["N", "3", "H//2", "W"]
    assert reqs == []


# --------------------------------------------------------------------------- failures and formulas


def test_return_indices_gives_the_values() -> None:
    """return_indices=True: torch returns (values, indices); the layer is the values, and the
    emitted call takes them ([0]), as a YAML user means it."""
    import shapeplan

    for op, shape, args, kw in [
        ("MaxPool2d", (1, 1, 5, 4), [2], {"return_indices": True}),
        ("max_pool1d", (1, 1, 5), [2], {"return_indices": True}),
        ("AdaptiveMaxPool2d", (1, 1, 4, 4), [2], {"return_indices": True}),
        ("adaptive_max_pool3d", (1, 1, 4, 4, 4), [2], {"return_indices": True}),
        ("max_pool2d", (1, 1, 1, 4), [2], {"return_indices": True}),  # too small: invalid, as in torch
    ]:
        want = torch_shape(op, [shape], args, kw)
        assert predict(op, [shape], args, kw) == want, op
        layer = {"op": op, "args": list(args), **kw}
        net = shapeplan.load({"input": list(shape), "layers": [layer]})
        if want is not None:
            assert tuple(shapeplan.build(net)(torch.rand(shape)).shape) == want


def test_padding_limit() -> None:
    # torch: padding <= kernel_size // 2, whatever the dilation (pad 1 fails for k=1, d=5)
    assert check("MaxPool2d", (1, 1, 30, 30), [3], {"padding": 1, "dilation": 2}) == (1, 1, 10, 10)
    assert check("MaxPool2d", (1, 1, 30, 30), [3], {"padding": 2, "dilation": 2}) is None
    assert check("MaxPool1d", (1, 1, 30), [1], {"padding": 1, "dilation": 5}, n=1) is None
    assert check("MaxPool3d", (1, 1, 9, 9, 9), [4], {"padding": 2, "dilation": 2}, n=3) == (1, 1, 2, 2, 2)
    assert check("AvgPool2d", (1, 1, 9, 9), [[4, 2]], {"padding": [2, 1]}) == (1, 1, 3, 5)
    assert check("AvgPool2d", (1, 1, 9, 9), [[4, 2]], {"padding": [2, 2]}) is None


def test_formulas() -> None:
    x = ("N", 3, "H", "W")
    cases = [
        ("MaxPool2d", [2], {}, "H//2"),
        ("MaxPool2d", [3, 2, 1], {"ceil_mode": True}, "H//2 + 1"),
        ("MaxPool2d", [2], {"ceil_mode": True}, "(H + 1)//2"),
        ("MaxPool2d", [3, 2], {}, "(H + 1)//2 - 1"),
        ("AvgPool2d", [3, 1, 1], {}, "H"),
    ]
    for op, args, kw, want in cases:
        rule = symbolic_rule(op, x, args, kw)
        assert rule is not None
        assert fmt(rule[0][2]) == want, (op, args, kw)
    # the only requirement of MaxPool2d(2) is H, W >= 2 (symbols are positive: no emptiness checks)
    rule = symbolic_rule("MaxPool2d", x, [2])
    assert rule is not None
    assert [(r.cond.kind, fmt(r.cond.lhs), fmt(r.cond.rhs)) for r in rule[1]] == [("ge", "H", "2"), ("ge", "W", "2")]
    rule = symbolic_rule("MaxPool2d", x, [3, 2, 1], {"ceil_mode": True})
    assert rule is not None and rule[1] == []


def test_rank_errors() -> None:
    assert check("MaxPool2d", (4, 4), [2]) is None
    assert check("MaxPool2d", (1, 1, 1, 4, 4), [2]) is None
    assert check("AvgPool1d", (4,), [2], n=1) is None
    assert check("AdaptiveAvgPool2d", (5, 6), [[2, 2]]) is None
    assert check("AdaptiveMaxPool1d", (1, 1, 1, 6), [2], n=1) is None


def test_no_parameters() -> None:
    for name in ("MaxPool2d", "AvgPool3d", "LPPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool3d"):
        assert REGISTRY[name].param_count is None
        args = [2] if not name.startswith("LP") else [2, 3]
        assert sum(p.numel() for p in getattr(torch.nn, name)(*args).parameters()) == 0

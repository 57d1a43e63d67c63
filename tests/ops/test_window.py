"""F.unfold / nn.Unfold (registry name im2col / Unfold), F.fold / nn.Fold and Tensor.unfold
against torch at random sizes and arguments, including the ones where torch raises; the
symbolic rule is checked at the same sizes."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shapeplan.ops import REGISTRY
from tests.oracle import predict, predict_symbolic, symbolize, torch_call_source, torch_shape


def check(op: str, shape: list[int], args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None,
          mask: list[bool] | None = None) -> Any:
    kwargs = kwargs or {}
    want = torch_shape(op, [shape if shape else [()]], args, kwargs)  # type: ignore[list-item]
    got = predict(op, [shape], args, kwargs)
    src = torch_call_source(op, 1, args, kwargs)
    assert got == want, f"{src} at {shape}: predicted {got}, torch {want}"
    sym_shapes, env = symbolize([shape], None if mask is None else [mask])
    got_sym = predict_symbolic(op, sym_shapes, env, args, kwargs)
    assert got_sym == want, f"{src} at {sym_shapes} {env}: symbolic {got_sym}, torch {want}"
    return want


PAIR = st.one_of(st.integers(-1, 3), st.lists(st.integers(-1, 3), min_size=2, max_size=2))


@st.composite
def window_kwargs(draw: Any) -> dict[str, Any]:
    """dilation / padding / stride, mostly valid (an invalid value one time in eight)."""
    kw: dict[str, Any] = {}
    for name, lo, hi in (("dilation", 1, 2), ("padding", 0, 2), ("stride", 1, 2)):
        if draw(st.booleans()):
            bad = draw(st.integers(0, 7)) == 0
            lo = lo - 1 if bad else lo
            kw[name] = draw(st.one_of(st.integers(lo, hi), st.lists(st.integers(lo, hi), min_size=2, max_size=2)))
    return kw


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["im2col", "Unfold"]), st.data())
def test_unfold(op: str, data: Any) -> None:
    rank = data.draw(st.sampled_from([3, 4, 4, 4, 2, 5]))
    shape = [data.draw(st.integers(1, 7) if data.draw(st.integers(0, 9)) else st.integers(0, 1)) for _ in range(rank)]
    kernel = data.draw(st.one_of(st.integers(0, 3), st.lists(st.integers(1, 3), min_size=2, max_size=2)))
    check(op, shape, (kernel,), data.draw(window_kwargs()), mask=[data.draw(st.booleans()) for _ in shape])


@st.composite
def fold_case(draw: Any) -> tuple[list[int], Any, Any, dict[str, Any]]:
    kh, kw_ = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = [kh, kw_]
    out = [draw(st.integers(1, 6) if draw(st.integers(0, 9)) else st.just(0)) for _ in range(2)]
    kw = draw(window_kwargs())
    # mostly a consistent input: C*kh*kw planes and the number of blocks
    c = draw(st.integers(0, 2))

    def n_blocks(i: int) -> int:
        def pick(name: str, default: int) -> int:
            v = kw.get(name, default)
            return v[i] if isinstance(v, list) else v
        d, p, s = pick("dilation", 1), pick("padding", 0), pick("stride", 1)
        if s <= 0:
            return 1
        return (out[i] + 2 * p - d * (kernel[i] - 1) - 1) // s + 1
    planes = c * kh * kw_ + draw(st.sampled_from([0, 0, 0, 1]))
    length = max(0, n_blocks(0) * n_blocks(1)) + draw(st.sampled_from([0, 0, 0, 1]))
    shape = [planes, length]
    if draw(st.booleans()):
        shape = [draw(st.integers(0, 2)), *shape]
    return shape, out, kernel, kw


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["fold", "Fold"]), fold_case(), st.data())
def test_fold(op: str, case: tuple[list[int], Any, Any, dict[str, Any]], data: Any) -> None:
    shape, out, kernel, kw = case
    check(op, shape, (out, kernel), kw, mask=[data.draw(st.booleans()) for _ in shape])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 7), max_size=4), st.integers(-4, 3), st.integers(-1, 5), st.integers(-1, 3), st.data())
def test_tensor_unfold(shape: list[int], dim: int, size: int, step: int, data: Any) -> None:
    check("unfold", shape, (dim, size, step), mask=[data.draw(st.booleans()) for _ in shape])


def test_examples() -> None:
    env = {"N": 2, "H": 10, "W": 12}
    assert predict_symbolic("im2col", [["N", 3, "H", "W"]], env, (3,), {"padding": 1}) == (2, 27, 120)
    assert predict_symbolic("fold", [["N", 27, "L"]], {"N": 2, "L": 120}, ([10, 12], 3), {"padding": 1}) \
        == (2, 3, 10, 12)
    assert predict_symbolic("fold", [["N", 27, "L"]], {"N": 2, "L": 119}, ([10, 12], 3), {"padding": 1}) is None
    assert predict_symbolic("unfold", [["N", "L"]], {"N": 2, "L": 9}, (1, 4, 2)) == (2, 3, 4)
    assert torch_call_source("im2col", 1, (3,)) == "F.unfold(x0, kernel_size=(3, 3))"
    assert torch_call_source("unfold", 1, (1, 4, 2)) == "x0.unfold(dimension=1, size=4, step=2)"
    assert REGISTRY["Unfold"].kind == "module" and REGISTRY["fold"].torch_name == "F.fold"

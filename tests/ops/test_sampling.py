"""F.grid_sample, F.affine_grid, torch.any / all, torch.diff, the divide / multiply / subtract
aliases and bernoulli against torch at random sizes, including the ones where torch raises;
the symbolic rule is checked at the same sizes."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.oracle import predict, predict_symbolic, symbolize, torch_call_source, torch_shape

SHAPE = st.lists(st.integers(0, 4), max_size=4)


def check(op: str, shapes: list[list[int]], args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None,
          mask: list[list[bool]] | None = None) -> Any:
    kwargs = kwargs or {}
    want = torch_shape(op, [s if s else [()] for s in shapes], args, kwargs)  # type: ignore[misc]
    got = predict(op, shapes, args, kwargs)
    src = torch_call_source(op, len(shapes), args, kwargs)
    assert got == want, f"{src} at {shapes}: predicted {got}, torch {want}"
    sym, env = symbolize(shapes, mask)
    got_sym = predict_symbolic(op, sym, env, args, kwargs)
    assert got_sym == want, f"{src} at {sym} {env}: symbolic {got_sym}, torch {want}"
    return want


def _near(draw: Any, v: int) -> int:
    return v if draw(st.integers(0, 7)) else draw(st.integers(0, 4))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([2, 3]), st.data())
def test_grid_sample(n: int, data: Any) -> None:
    draw = data.draw
    batch = draw(st.integers(0, 2))
    x = [batch, draw(st.integers(0, 2)), *(_near(draw, 3) for _ in range(n))]
    g = [_near(draw, batch), *(draw(st.integers(0, 3)) for _ in range(n)), _near(draw, n)]
    if draw(st.integers(0, 9)) == 0:
        g = g[1:]
    kw = {"mode": draw(st.sampled_from(["bilinear", "nearest", "bicubic"])), "align_corners": draw(st.booleans())}
    check("grid_sample", [x, g], (), kw, mask=[[draw(st.booleans()) for _ in s] for s in (x, g)])


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([2, 3]), st.data())
def test_affine_grid(n: int, data: Any) -> None:
    draw = data.draw
    size = [draw(st.integers(0, 3)) if draw(st.integers(0, 5)) == 0 else draw(st.integers(1, 3))
            for _ in range(n + 2)]
    if draw(st.integers(0, 9)) == 0:
        size = size[1:]
    theta = [_near(draw, size[0]), _near(draw, n), _near(draw, n + 1)]
    want = torch_shape("affine_grid", [theta], (size,), {"align_corners": False})
    assert predict("affine_grid", [theta], (size,), {"align_corners": False}) == want
    # the size as size expressions
    names = {f"S{i}": v for i, v in enumerate(size) if v >= 1}
    sym_size = [f"S{i}" if v >= 1 else v for i, v in enumerate(size)]
    sym_theta, env = symbolize([theta])
    assert predict_symbolic("affine_grid", sym_theta, {**env, **names}, (sym_size,), {"align_corners": False}) \
        == want


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["any", "all"]), SHAPE, st.one_of(st.none(), st.integers(-3, 3),
       st.lists(st.integers(-3, 3), max_size=2)), st.booleans(), st.data())
def test_any_all(op: str, shape: list[int], dim: Any, keepdim: bool, data: Any) -> None:
    kw = {"dim": dim, "keepdim": keepdim} if dim is not None or data.draw(st.booleans()) else {}
    if dim is None and kw.get("keepdim"):
        kw = {}
    check(op, [shape], (), kw, mask=[[data.draw(st.booleans()) for _ in shape]])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=0, max_size=3), st.integers(-1, 4), st.integers(-3, 2), st.data())
def test_diff(shape: list[int], n: int, dim: int, data: Any) -> None:
    shapes = [shape]
    for _ in range(data.draw(st.integers(0, 2))):  # prepend, append
        t = list(shape)
        if t and -len(t) <= dim < len(t):
            t[dim] = data.draw(st.integers(0, 2))
        if t and data.draw(st.integers(0, 7)) == 0:
            t[0] += 1
        shapes.append(t)
    check("diff", shapes, (), {"n": n, "dim": dim}, mask=[[data.draw(st.booleans()) for _ in s] for s in shapes])


def test_aliases_and_bernoulli() -> None:
    assert check("divide", [[2, 3], [3]]) == (2, 3)
    assert check("multiply", [[2, 3]], (), {"other": 2}) == (2, 3)
    assert check("subtract", [[2, 3], [3]], (), {"alpha": 2}) == (2, 3)
    assert check("divide", [[2, 3], [2]]) is None
    assert check("bernoulli", [[2, 3]]) == check("bernoulli", [[2, 3]], (), {"p": 0.5}) == (2, 3)

"""The exact-set machinery against brute force: quasi-affine tables, univariate conditions,
products over several symbols, and set algebra."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

import shapeplan
from shapeplan.analysis.domain.boxes import apply_condition
from shapeplan.analysis.domain.quasi import quasi_affine, univariate
from shapeplan.core.conditions import Cond, dvd, eq, ge
from shapeplan.core.dims import ceildiv, dmax, dmin, evaluate, floordiv, norm, sym
from shapeplan.core.sets import USet

H, W = sym("H"), sym("W")
LIMIT = 300


@st.composite
def size_fn(draw, s=H, depth=4):
    """A random CNN-like size function of one symbol: conv/pool/upsample/ceil steps."""
    e = s
    for _ in range(draw(st.integers(1, depth))):
        kind = draw(st.sampled_from(["conv", "ceil", "up", "pool_ceil", "add"]))
        k = draw(st.integers(1, 7))
        st_ = draw(st.integers(1, 4))
        p = draw(st.integers(0, 3))
        if kind == "conv":
            e = floordiv(e + 2 * p - (k - 1) - 1, st_) + 1
        elif kind == "ceil":
            e = ceildiv(e + p - k, st_) + 1
        elif kind == "up":
            e = norm(e * draw(st.integers(1, 3)))
        elif kind == "pool_ceil":
            a = ceildiv(e + 2 * p - k, st_)
            b = floordiv(e + p - 1, st_)
            e = dmin(a, b) + 1
        else:
            e = norm(e + draw(st.integers(-5, 5)))
    return e


def brute(cond: Cond, name: str, lo: int = 1, hi: int = LIMIT) -> set[int]:
    return {x for x in range(lo, hi + 1) if cond.holds_at({name: x})}


@settings(max_examples=300, deadline=None)
@given(size_fn())
def test_quasi_affine_table_matches_evaluation(e):
    if isinstance(e, int):
        return
    qa = quasi_affine(e, "H")
    for x in range(-5, 200):
        assert qa.at(x) == evaluate(e, {"H": x}), (e, x)


@settings(max_examples=300, deadline=None)
@given(size_fn(), st.integers(-3, 40), st.sampled_from(["ge", "eq", "le"]))
def test_univariate_threshold_and_equality_are_exact(e, c, kind):
    cond = ge(e, c) if kind == "ge" else eq(e, c) if kind == "eq" else ge(c, e)
    got = univariate(cond, "H")
    want = brute(cond, "H")
    assert {x for x in range(1, LIMIT + 1) if x in got} == want


@settings(max_examples=300, deadline=None)
@given(size_fn(), size_fn())
def test_equal_branches_give_exact_congruences(e1, e2):
    """The add/cat condition between two branches of the same input."""
    cond = eq(e1, e2)
    if cond.concrete() is not None:
        assert all(cond.holds_at({"H": x}) == cond.concrete() for x in range(1, 60))
        return
    got = univariate(cond, "H")
    assert {x for x in range(1, LIMIT + 1) if x in got} == brute(cond, "H")


@settings(max_examples=200, deadline=None)
@given(size_fn(), st.integers(1, 12))
def test_divisibility_is_exact(e, m):
    cond = dvd(e, m)
    if cond.concrete() is not None:
        return
    got = univariate(cond, "H")
    assert {x for x in range(1, LIMIT + 1) if x in got} == brute(cond, "H")


@settings(max_examples=60, deadline=None)
@given(size_fn(H, 3), size_fn(W, 3), st.integers(1, 4), st.integers(1, 120))
def test_product_constraint_boxes_are_exact(fh, fw, c, target):
    """Linear after Flatten: c * f(H) * g(W) == target, with f, g >= 1 required first."""
    boxes = [{"H": USet.range(1), "W": USet.range(1)}]
    boxes = apply_condition(boxes, ge(fh, 1))
    boxes = apply_condition(boxes, ge(fw, 1))
    cond = eq(norm(c * fh * fw), target)
    boxes = apply_condition(boxes, cond)
    n = 60
    fh_vals = {h: evaluate(fh, {"H": h}) for h in range(1, n)}
    fw_vals = {w: evaluate(fw, {"W": w}) for w in range(1, n)}
    for h, w in itertools.product(range(1, n), range(1, n)):
        a, b = fh_vals[h], fw_vals[w]
        want = a >= 1 and b >= 1 and c * a * b == target
        got = any(h in bx["H"] and w in bx["W"] for bx in boxes)
        assert got == want, (h, w)


def test_lenet_domain_is_the_three_boxes():
    f = floordiv(floordiv(H - 4, 2) - 4, 2)
    g = floordiv(floordiv(W - 4, 2) - 4, 2)
    boxes = [{"H": USet.range(16), "W": USet.range(16)}]
    boxes = apply_condition(boxes, eq(16 * f * g, 400))
    got = sorted((b["H"].describe("H"), b["W"].describe("W")) for b in boxes)
    assert got == [
        ("H in [112, 115]", "W in [16, 19]"),
        ("H in [16, 19]", "W in [112, 115]"),
        ("H in [32, 35]", "W in [32, 35]"),
    ]


@st.composite
def usets(draw):
    segs = []
    for _ in range(draw(st.integers(0, 3))):
        p = draw(st.sampled_from([1, 2, 3, 4, 6, 8]))
        res = draw(st.sets(st.integers(0, p - 1), min_size=1))
        lo = draw(st.integers(-5, 60))
        hi = draw(st.one_of(st.none(), st.integers(lo, 120)))
        segs.append(USet.periodic(p, res, lo, hi))
    out = USet()
    for s in segs:
        out = out | s
    return out


@settings(max_examples=300, deadline=None)
@given(usets(), usets())
def test_set_algebra(a, b):
    rng = range(-10, 200)
    members_a = {x for x in rng if x in a}
    members_b = {x for x in rng if x in b}
    assert {x for x in rng if x in (a & b)} == members_a & members_b
    assert {x for x in rng if x in (a | b)} == members_a | members_b
    if members_a:
        assert a.min() == min(members_a)
    first = list(itertools.islice(itertools.takewhile(lambda x: x < 200, a.values()), 50))
    assert first == sorted(members_a)[:50]
    assert a.count(-10, 199) == len(members_a)


def test_descriptions():
    assert USet.range(32, 35).describe("H") == "H in [32, 35]"
    assert USet.range(29).describe("H") == "H >= 29"
    assert USet.periodic(32, [0], 64).describe("H") == "H = 32k, k >= 2"
    assert USet.periodic(4, [0, 1], 4).describe("H") == "H mod 4 in {0, 1}, H >= 4"
    assert (USet.range(1, 3) | USet.periodic(4, [0], 4)).describe("H") == "H in [1, 3] or H = 4k, k >= 1"
    assert USet.range(7, 7).describe("H") == "H = 7"
    assert not USet.range(5, 4)


def test_min_max_rates_and_symbol_products_fall_back():
    import pytest

    from shapeplan.analysis.domain.quasi import NotAnalysable

    with pytest.raises(NotAnalysable):
        univariate(ge(dmax(H, 2 * H - 10), 5), "H")
    with pytest.raises(NotAnalysable):
        univariate(eq(H * H, 16), "H")


def test_box_membership_equals_evaluating_every_condition():
    """contains() answers from the exact boxes; the conditions themselves must agree."""
    import pathlib

    for path in sorted(pathlib.Path(__file__).resolve().parents[1].joinpath("examples").glob("*.yaml")):
        if "bad" in path.stem:
            continue
        dom = shapeplan.check(path).domain
        assert dom.exact
        for h in range(1, 130):
            for w in (1, 16, 17, 32, 35, 64, 113):
                env = {"N": 2, "H": h, "W": w}
                assert dom.contains(**env) == dom._holds(env), (path.stem, env)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(-5, 20), st.one_of(st.none(), st.integers(0, 40)), st.integers(1, 12),
                          st.sets(st.integers(0, 11), min_size=1)), min_size=1, max_size=4),
       st.one_of(st.none(), st.integers(-10, 30)), st.integers(-10, 70))
def test_set_members_in_order(segs, start, x):
    """A set's members listed in order (merged over its segments), and the nearest member on
    either side of a size, are those found by testing every size."""
    from shapeplan.core.sets import Seg

    parts = [Seg(lo, None if span is None else lo + span, p, frozenset(r % p for r in rs)) for lo, span, p, rs in segs]
    u = USet(parts)
    members = [v for v in range(-20, 1200) if v in u]
    lo = u.min() if start is None else start
    want = [v for v in members if lo is not None and v >= lo][:30]
    assert list(itertools.islice(u.values(start), 30)) == want
    for seg in parts:
        mine = [v for v in range(-20, 1200) if seg.contains(v)]
        assert seg.first_at_or_after(x) == next((v for v in mine if v >= x), None)
        assert seg.last_at_or_before(x) == next((v for v in reversed(mine) if v <= x), None)

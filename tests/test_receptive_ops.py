"""Receptive fields through the reordering / indexing / attention ops, against torch's
gradients: the window of an output element is the set of input positions whose gradient is
non-zero (positive weights, positive inputs), per input axis; where the rule says "unknown"
(roll or cumsum along an axis) the report has no window."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
import torch

import shapeplan
from shapeplan.backends.emit import build

CONV = {"name": "conv", "op": "Conv2d", "in_channels": 2, "out_channels": 2, "kernel_size": 3}


def _report(layers: list[dict[str, Any]]) -> shapeplan.Report:
    rep = shapeplan.check({"name": "R", "input": [1, 2, "H", "W"], "layers": [CONV, *layers]})
    assert rep.ok, rep.diagnostics
    return rep


def _support(rep: shapeplan.Report, h: int, w: int, index: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    model = build(rep).double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0 if p.dim() > 1 else 0.0)
    x = (torch.rand(1, 2, h, w, dtype=torch.float64) + 0.5).requires_grad_()
    out = model(x)
    (g,) = torch.autograd.grad(out[index], x)
    g = g.abs().sum((0, 1))
    rows, cols = g.sum(1).nonzero().flatten(), g.sum(0).nonzero().flatten()
    return (int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max()))


def _bounds(w: Any, i: int) -> tuple[int, int]:
    jump = Fraction(str(w.jump)) if w.jump is not None else Fraction(0)
    centre = Fraction(str(w.start)) + i * jump
    half = Fraction(int(w.rf) - 1, 2)
    lo, hi = centre - half, centre + half
    assert lo.denominator == 1 and hi.denominator == 1, (w, i)
    return int(lo), int(hi)


@pytest.mark.parametrize("layers, index, axes", [
    # movedim C to the end, then a sum over W (dim 2 after the move): H keeps its window, W is all of it
    ([{"op": "movedim", "source": 1, "destination": 3}, {"op": "sum", "dim": 2}], (0, 4, 1), {"H": 4, "W": 0}),
    ([{"op": "swapaxes", "axis0": 1, "axis1": 3}, {"op": "sum", "dim": 2, "keepdim": True}], (0, 3, 0, 0),
     {"H": 0, "W": 3}),
    ([{"op": "repeat_interleave", "repeats": 2, "dim": 3}], (0, 0, 3, 4), {"H": 3, "W": 4}),
    ([{"op": "flip", "dims": [1]}, {"op": "tile", "dims": [1, 1]}], (0, 1, 6, 2), {"H": 6, "W": 2}),
    ([{"op": "diagonal", "dim1": 0, "dim2": 1}], (3, 5, 0), {"H": 3, "W": 5}),
    ([{"op": "masked_fill", "from": ["conv", "conv"], "value": 0.0}], (0, 0, 2, 2), {"H": 2, "W": 2}),
    # im2col, then the sum over each block's values: block 0 (the grid is folded into L)
    ([{"op": "im2col", "kernel_size": 3, "stride": 2}, {"op": "sum", "dim": 1}], (0, 0), {"H": 0, "W": 0}),
    ([{"op": "unfold", "dimension": 2, "size": 4, "step": 3}, {"op": "sum", "dim": -1}], (0, 1, 2, 5),
     {"H": 2, "W": 5}),
])
def test_windows_are_the_gradients_support(layers: list[dict[str, Any]], index: tuple[int, ...],
                                           axes: dict[str, int]) -> None:
    if layers[0]["op"] == "masked_fill":
        layers = [{"name": "m", "op": "gt", "other": 100.0}, {**layers[0], "from": ["conv", "m"]}]
    rep = _report(layers)
    h, w = 12, 11
    windows = rep.costs().at(H=h, W=w).layers[-1].receptive_field
    assert windows is not None
    got = _support(rep, h, w, index)
    assert got == (_bounds(windows["H"], axes["H"]), _bounds(windows["W"], axes["W"])), windows


@pytest.mark.parametrize("op", [{"op": "roll", "shifts": [2], "dims": [3]}, {"op": "cumsum", "dim": 2},
                                {"op": "gather", "dim": 3, "from": ["conv", "conv"]},
                                {"op": "flip", "dims": [-1]}])
def test_moving_elements_along_an_axis_makes_its_window_unknown(op: dict[str, Any]) -> None:
    layers: list[dict[str, Any]] = [op]
    if op["op"] == "gather":
        layers = [{"name": "i", "op": "argsort", "dim": 3}, {**op, "from": ["conv", "i"]}]
    rep = _report(layers)
    assert rep.costs().layers[-1].receptive_field is None


def test_sorting_mixes_the_dim() -> None:
    """sort / topk (like amax): each output's value depends on every input along the dim (its
    gradient does not show it: it flows to the one element selected)."""
    for op in ({"op": "sort", "dim": 3}, {"op": "topk", "k": 2, "dim": -1}, {"op": "argmax", "dim": 3}):
        windows = _report([op]).costs().at(H=12, W=11).layers[-1].receptive_field
        assert windows is not None and (windows["W"].rf, windows["W"].jump) == (11, 0 if op["op"] != "argmax" else None)
        assert (windows["H"].rf, windows["H"].jump) == (3, 1)


def test_moving_other_dims_keeps_the_windows() -> None:
    rep = _report([{"op": "roll", "shifts": [1], "dims": [1]}, {"op": "cumsum", "dim": 1}])
    windows = rep.costs().at(H=9, W=9).layers[-1].receptive_field
    assert windows is not None and windows["H"].rf == 3 and windows["W"].jump == 1


TOKENS = [{"name": "f", "op": "flatten", "start_dim": 2}, {"name": "t", "op": "transpose", "dim0": 1, "dim1": 2}]


@pytest.mark.parametrize("attn", [
    {"op": "scaled_dot_product_attention", "from": ["t", "t", "t"]},
    {"op": "MultiheadAttention", "embed_dim": 2, "num_heads": 1, "batch_first": True, "from": ["t", "t", "t"]},
])
def test_attention_sees_every_token(attn: dict[str, Any]) -> None:
    rep = _report([*TOKENS, attn])
    h, w = 9, 8
    windows = rep.costs().at(H=h, W=w).layers[-1].receptive_field
    assert windows is not None
    assert (windows["H"].rf, windows["W"].rf) == (h, w)  # the whole input
    assert _support(rep, h, w, (0, 5, 0)) == ((0, h - 1), (0, w - 1))


def test_einsum_keeps_the_letters_it_outputs() -> None:
    rep = _report([{"name": "e", "op": "einsum", "equation": "bchw,bchw->bhw", "from": ["conv", "conv"]}])
    windows = rep.costs().at(H=12, W=11).layers[-1].receptive_field
    assert windows is not None and (windows["H"].rf, windows["H"].jump, windows["W"].rf) == (3, 1, 3)
    assert _support(rep, 12, 11, (0, 4, 6)) == ((4, 6), (6, 8))


def test_functional_conv_window_is_the_modules() -> None:
    rep = _report([{"name": "w", "op": "Parameter", "shape": [2, 2, 3, 3]},
                   {"name": "fc", "op": "conv2d", "from": ["conv", "w"], "stride": 2, "padding": 1}])
    windows = rep.costs().at(H=12, W=11).layers[-1].receptive_field
    assert windows is not None and (windows["H"].rf, windows["H"].jump) == (5, 2)
    assert _support(rep, 12, 11, (0, 0, 2, 2)) == (_bounds(windows["H"], 2), _bounds(windows["W"], 2))

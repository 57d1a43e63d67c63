"""flat_features: static in_features for a Linear, checked against real forward passes."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings
from hypothesis import strategies as st

import shapeplan
from shapeplan.core.dims import evaluate, fmt


def tutorial_convs() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2))


def real_features(layers: nn.Module, shape: tuple[int, ...]) -> int:
    with torch.no_grad():
        return int(layers.eval()(torch.zeros(1, *shape)).flatten(1).shape[1])


def test_tutorial_stack():
    convs = tutorial_convs()
    assert shapeplan.flat_features(convs, (1, 32, 32)) == 400
    assert shapeplan.flat_features(convs, ("N", 1, 32, 32)) == 400
    assert shapeplan.flat_features(list(convs), [1, 32, 32]) == 400
    f = shapeplan.flat_features(convs, ("C", "H", "W"))
    assert fmt(f) == "16*(H//4 - 3)*(W//4 - 3)"
    for h, w in [(16, 16), (32, 32), (36, 32), (57, 90)]:
        assert evaluate(f, {"H": h, "W": w, "C": 1}) == real_features(convs, (1, h, w))


def test_invalid_input_is_an_error_not_a_guess():
    with pytest.raises(shapeplan.InputError, match="in_channels=1"):
        shapeplan.flat_features(tutorial_convs(), (3, 32, 32))
    with pytest.raises(shapeplan.ShapeplanError):
        shapeplan.flat_features(tutorial_convs(), (1, 8, 8))


def test_unknown_module_is_refused():
    class MyConv(nn.Conv2d):
        pass

    with pytest.raises(shapeplan.InputError, match="no shape rule"):
        shapeplan.flat_features([MyConv(1, 2, 3)], (1, 8, 8))


@st.composite
def stacks(draw):
    mods, c = [], draw(st.integers(1, 3))
    c0 = c
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "maxpool", "avgpool", "bn", "relu"]))
        if kind == "conv":
            k = draw(st.integers(1, 5))
            out = draw(st.integers(1, 4))
            mods.append(nn.Conv2d(c, out, k, stride=draw(st.integers(1, 3)), padding=draw(st.integers(0, k // 2)),
                                  dilation=draw(st.integers(1, 2))))
            c = out
        elif kind in ("maxpool", "avgpool"):
            k = draw(st.integers(1, 4))
            cls = nn.MaxPool2d if kind == "maxpool" else nn.AvgPool2d
            mods.append(cls(k, stride=draw(st.integers(1, 3)), padding=draw(st.integers(0, k // 2)),
                            ceil_mode=draw(st.booleans())))
        elif kind == "bn":
            mods.append(nn.BatchNorm2d(c))
        else:
            mods.append(nn.ReLU())
    return c0, nn.Sequential(*mods)


@settings(max_examples=60, deadline=None)
@given(stacks(), st.integers(1, 30), st.integers(1, 30))
def test_random_stacks_match_torch(stack, h, w):
    c, layers = stack
    f = shapeplan.flat_features(layers, (c, "H", "W"))
    try:
        want = real_features(layers, (c, h, w))
    except RuntimeError:
        want = None
    if want is not None:
        assert evaluate(f, {"H": h, "W": w}) == want

"""net.yaml front end and the check API: blocks, expect, expressions, symbols, locations."""

from __future__ import annotations

import pytest
import sympy

import shapeplan
from shapeplan.core.dims import fmt, sym
from shapeplan.core.errors import InputError
from shapeplan.core.expr import ExprError, parse_size

BLOCKY = """
name: Tiny
input: [N, 3, H, W]
blocks:
  unit:
    params: {c: null, stride: 1}
    layers:
      - {name: conv, op: Conv2d, in_channels: auto, out_channels: c * 2, kernel_size: 3, stride: stride, padding: 1}
      - {name: act, op: ReLU}
layers:
  - {name: stem, block: unit, c: 4}
  - {name: body, block: unit, repeat: 3, c: 4, stride: 2}
  - {name: pool, op: AdaptiveAvgPool2d, output_size: 1}
  - {name: flat, op: Flatten}
  - {name: fc, op: Linear, in_features: auto, out_features: 5}
"""


def test_blocks_scope_names_and_substitute_params():
    rep = shapeplan.check(BLOCKY)
    assert rep.ok
    names = [li.name for li in rep.layers]
    assert names[:2] == ["stem.conv", "stem.act"]
    assert "body.0.conv" in names and "body.2.act" in names
    assert rep.shapes["stem.conv"] == (sym("N"), 8, sym("H"), sym("W"))
    assert fmt(rep.shapes["body.2.conv"][2]) == "(H + 7)//8"
    assert rep.outputs == [(sym("N"), 5)]


def test_expect_is_checked_and_restricts_the_domain():
    base = "input: [N, 3, H, W]\nlayers:\n  - {op: Conv2d, in_channels: 3, out_channels: 8, kernel_size: 3, %s}\n"
    good = shapeplan.check(base % "padding: 1, expect: [N, 8, H, W]")
    assert good.ok and not good.diagnostics
    bad = shapeplan.check(base % "expect: [N, 8, H, W]")
    assert not bad.ok
    assert any(d.code == "expect" and d.severity == "error" for d in bad.diagnostics)
    some = shapeplan.check(base % "stride: 2, expect: [N, 8, 5, _]")
    assert some.ok
    assert str(some.domain) == "N >= 1, H in [11, 12], W >= 3"


def test_size_expressions_are_whitelisted():
    H = sym("H")
    assert parse_size("H // 2 + 1") == (H // 2 + 1 if False else parse_size("(H + 2)//2"))
    assert parse_size("2*(H - 1) % 4") is not None
    for bad in ["__import__('os')", "H / 2", "H ** 2", "H // 0", "lambda: 1", "H.real", "1e5", "", "(" * 40 + "H"]:
        with pytest.raises(ExprError):
            parse_size(bad)


def test_symbol_bounds_and_pins():
    text = "input: [N, 3, H, W]\nsymbols: {H: {min: 40, max: 50}, W: 33}\nlayers:\n  - {op: MaxPool2d, kernel_size: 2}\n"
    rep = shapeplan.check(text)
    assert str(rep.domain) == "N >= 1, H in [40, 50], W = 33"
    assert rep.domain.contains(H=40, W=33) and not rep.domain.contains(H=39)
    assert rep.domain.smallest() == {"N": 1, "H": 40, "W": 33}


def test_unknown_symbol_in_contains_is_an_error():
    rep = shapeplan.check("examples/lenet.yaml")
    with pytest.raises(ValueError):
        rep.domain.contains(Q=3)


def test_diagnostic_locations_point_at_the_key():
    text = "input: [N, 3, H, W]\nlayers:\n  - {name: c, op: Conv2d, in_channels: 4, out_channels: 8, kernel_size: 3}\n"
    rep = shapeplan.check(text)
    (d,) = rep.errors
    assert d.code == "in-channels" and d.layer == "c"
    assert (d.location.line, d.location.col) == (3, 27)
    assert "set in_channels: 3" in d.hint


def test_input_errors_collect_every_problem():
    text = "input: [N, 3, H, W]\nlayers:\n  - {op: Conv2d, out_channels: 8, kernel_size: 3}\n  - {op: Nope}\n"
    with pytest.raises(shapeplan.InputError) as e:
        shapeplan.load(text)
    codes = [d.code for d in e.value.diagnostics]
    assert codes == ["bad-argument", "unknown-op"]
    assert e.value.diagnostics[0].location.line == 3


def test_shapes_are_sympy_with_the_input_names():
    rep = shapeplan.check("examples/lenet.yaml")
    feats = rep.shapes["flatten"][1]
    assert isinstance(feats, sympy.Expr)
    assert {s.name for s in feats.free_symbols} == {"H", "W"}
    assert feats.subs({sym("H"): 32, sym("W"): 32}) == 400


def test_dict_and_multiple_inputs():
    net = {
        "name": "Two",
        "inputs": {"a": ["N", 3, "H", "W"], "b": ["N", 5, "H", "W"]},
        "layers": [
            {"name": "m", "op": "cat", "from": ["a", "b"], "dim": 1},
            {"name": "c", "op": "Conv2d", "in_channels": "auto", "out_channels": 2, "kernel_size": 1},
        ],
    }
    rep = shapeplan.check(net)
    assert rep.ok and rep.shapes["m"][1] == 8


def test_negative_symbol_pin_is_an_input_error():
    with pytest.raises(InputError) as e:
        shapeplan.load("input: [N, 3, H, W]\nsymbols: {H: -3}\nlayers:\n  - {op: ReLU}\n")
    (d,) = e.value.diagnostics
    assert d.code == "bad-symbols" and d.location is not None and d.location.line == 2

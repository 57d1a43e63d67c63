"""solve: unknowns found by exact enumeration, auto values, the filled YAML, the CLI."""

from __future__ import annotations

from typer.testing import CliRunner

import shapeplan
from shapeplan.analysis.solve import filled_yaml, solve
from shapeplan.cli import app

NET = """input: [N, 3, H, W]
layers:
  - {name: c1, op: Conv2d, in_channels: auto, out_channels: 8, kernel_size: 5, padding: solve, expect: [N, 8, H, W]}
  - {name: c2, op: Conv2d, in_channels: auto, out_channels: 8, kernel_size: 3, stride: 2, padding: solve,
     expect: [N, 8, (H + 1) // 2, (W + 1) // 2]}
  - {name: fc, op: Linear, in_features: auto, out_features: 4}
"""


def test_padding_that_keeps_the_size():
    res = solve(shapeplan.load(NET))
    assert res.ok
    assert res.solutions[0].values == {("c1", "padding"): 2, ("c2", "padding"): 1}
    assert len(res.solutions) == 1  # no other padding keeps the size for every H
    assert res.auto[("c2", "in_channels")] == 8


def test_no_solution_says_so():
    res = solve(shapeplan.load(NET.replace("kernel_size: 5", "kernel_size: 4")))
    assert not res.ok and not res.solutions
    (d,) = res.diagnostics
    assert d.code == "no-solution" and "c1.padding" in d.message


def test_out_features_from_expect():
    text = "input: [N, 20]\nlayers:\n  - {name: fc, op: Linear, in_features: 20, out_features: solve, expect: [N, 7]}\n"
    res = solve(shapeplan.load(text))
    assert [s.values for s in res.solutions] == [{("fc", "out_features"): 7}]


def test_filled_yaml_loads_back_to_the_same_shapes():
    res = solve(shapeplan.load(NET))
    text, skipped = filled_yaml(NET, res)
    assert "solve" not in text
    assert "padding: 2" in text and "in_channels: 3" in text and "in_channels: 8" in text
    # fc's in_features is (W + 1)//2: it depends on the input size, so it stays auto
    assert "in_features: auto" in text and any("fc.in_features" in s for s in skipped)
    rep = shapeplan.check(text)
    assert rep.ok and rep.shapes == res.solutions[0].report.shapes


def test_cli_solve(tmp_path):
    f = tmp_path / "n.yaml"
    f.write_text(NET)
    out = tmp_path / "o.yaml"
    r = CliRunner().invoke(app, ["solve", str(f), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "c1.padding = 2" in r.stdout
    assert shapeplan.check(out).ok
    bad = tmp_path / "b.yaml"
    bad.write_text(NET.replace("kernel_size: 5", "kernel_size: 4"))
    r = CliRunner().invoke(app, ["solve", str(bad)])
    assert r.exit_code == 1 and "error[no-solution]" in r.stderr


def test_no_solution_says_which_value_would_be_needed():
    text = ("input: [N, 3, H, W]\nlayers:\n  - {name: conv3, op: Conv2d, in_channels: 3, out_channels: 8, "
            "kernel_size: 4, padding: solve, expect: [N, 8, H, W]}\n")
    res = solve(shapeplan.load(text))
    assert not res.solutions
    (d,) = res.diagnostics
    assert "conv3.padding would have to be 3/2 = 1.5" in d.message and "not an integer" in d.message
    # a needed value outside the range tried is reported as such
    res = solve(shapeplan.load(text.replace("kernel_size: 4", "kernel_size: 41")), ranges={"padding": (0, 4)})
    assert "conv3.padding would have to be 20" in res.diagnostics[0].message


def test_partial_solutions_when_an_expect_holds_only_at_some_sizes():
    text = ("input: [N, 3, H, W]\nlayers:\n"
            "  - {name: down, op: Conv2d, in_channels: 3, out_channels: 8, kernel_size: 3, stride: 2, "
            "padding: solve, expect: [N, 8, H//2, W//2]}\n")
    res = solve(shapeplan.load(text))
    assert res.ok and all(s.restricts for s in res.solutions)
    values = [s.values[("down", "padding")] for s in res.solutions]
    assert values[:2] == [0, 1]
    dom0, dom1 = (s.report.domain for s in res.solutions[:2])
    assert dom0.contains(H=7, W=9) and not dom0.contains(H=8, W=9)  # padding 0: odd sizes
    assert dom1.contains(H=8, W=10) and not dom1.contains(H=7, W=10)  # padding 1: even sizes
    assert any(d.code == "partial-solution" for d in res.diagnostics)


def test_auto_is_a_number_when_its_symbols_are_pinned_in_symbols():
    text = ("input: [N, 1, H, W]\nsymbols: {H: 32, W: 32}\nlayers:\n"
            "  - {op: Conv2d, in_channels: 1, out_channels: 6, kernel_size: 5}\n  - {op: Flatten}\n"
            "  - {name: fc1, op: Linear, in_features: auto, out_features: 10}\n")
    res = solve(shapeplan.load(text))
    assert res.auto[("fc1", "in_features")] == 6 * 28 * 28
    assert not any(d.code == "auto-symbolic" for d in res.report.diagnostics)
    assert "nn.Linear(in_features=4704" in shapeplan.emit(shapeplan.load(text))

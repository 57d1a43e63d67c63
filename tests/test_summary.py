"""Notebooks: `shapeplan.summary` (the table in one call, torchinfo's depth) and the Report's HTML."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

import shapeplan
from shapeplan.render.summary import rows

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"


def test_summary_of_a_yaml_network_prints_and_returns_the_report() -> None:
    out = io.StringIO()
    rep = shapeplan.summary(EX / "lenet.yaml", file=out)
    assert isinstance(rep, shapeplan.Report) and rep.ok
    text = out.getvalue()
    assert text.splitlines()[0].startswith("Net (")
    assert "flatten      Flatten    (N, 16*(H//4 - 3)*(W//4 - 3))" in text
    assert "valid inputs: N >= 1, H >= 16, W >= 16" in text


def test_summary_of_the_tutorial_net(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        from tutorial_net import Net
    finally:
        sys.path.remove(str(ROOT / "docs"))
    rep = shapeplan.summary(Net(), ("N", 1, "H", "W"))
    text = capsys.readouterr().out
    assert "fc1           Linear      (N, 120)" in text and "parameters: 61,706" in text
    assert "H in [32, 35], W in [32, 35]" in text
    assert rep.at(N=1, H=32, W=32)["fc3"] == (1, 10)
    shapeplan.summary(Net(), ("N", 1, "H", "W"), at={"N": 4, "H": 32, "W": 32})
    assert "fc3           Linear      (4, 10)" in capsys.readouterr().out


def test_depth_groups_layers_by_module_like_torchinfo(capsys: pytest.CaptureFixture[str]) -> None:
    torchvision = pytest.importorskip("torchvision")
    model = torchvision.models.resnet18()
    rep = shapeplan.summary(model, depth=1)
    text = capsys.readouterr().out
    line = next(t for t in text.splitlines() if t.startswith("layer2 "))
    assert line.split()[1] == "Sequential" and "(N, 128, (H + 7)//8, (W + 7)//8)" in line
    assert "525,568" in line  # every parameter of layer2
    assert "layer2.0" not in text and "layer2.0.conv1" not in text
    two = {r.name: r for r in rows(rep, 2, model)}
    assert two["layer2.0"].kind == "BasicBlock" and two["layer2.0"].depth == 2 and "layer2.0.conv1" not in two
    three = {r.name: r for r in rows(rep, 3, model)}
    assert three["layer2.0.downsample"].kind == "Sequential" and "layer2.0.conv1" in three
    assert sum(r.params for r in rows(rep, 1, model) if r.depth == 1) == sum(p.numel() for p in model.parameters())
    with pytest.raises(ValueError):
        shapeplan.summary(model, depth=0)


def test_report_html_has_the_table_domain_and_escaped_diagnostics(tmp_path: Path) -> None:
    bad = tmp_path / "<i>bad&.yaml"
    bad.write_text((EX / "lenet_bad.yaml").read_text())
    html = shapeplan.check(bad)._repr_html_()
    assert "<table>" in html and "<td style=\"text-align:left\">fc1</td>" in html
    assert "&lt;i&gt;bad&amp;.yaml" in html and "<i>bad" not in html
    assert "error[in-features]" in html and "valid inputs: none (see the errors)" in html
    good = shapeplan.check(EX / "lenet.yaml")._repr_html_()
    assert "valid inputs: N &gt;= 1, H &gt;= 16, W &gt;= 16" in good and "16*(H//4 - 3)*(W//4 - 3)" in good


def test_summary_is_exported() -> None:
    assert {"summary", "symbols"} <= set(shapeplan.__all__)

"""Fix-its: a merge whose branches never agree gets the one-argument edit that makes them
agree, and the edit is right (the edited network checks clean and runs in torch)."""

from __future__ import annotations

import torch

import shapeplan
from shapeplan.backends.emit import build

NET = """
name: Fx
input: [N, 3, H, W]
layers:
  - {name: stem, op: Conv2d, in_channels: 3, out_channels: 8, kernel_size: 3, padding: 1}
  - {name: a, op: Conv2d, in_channels: 8, out_channels: 8, kernel_size: 3, padding: 1}
  - {name: b, op: Conv2d, from: stem, in_channels: 8, out_channels: 8, kernel_size: 3}
  - {name: merge, op: MERGE, from: [a, b]}
"""


def test_add_of_branches_that_never_agree_suggests_padding() -> None:
    rep = shapeplan.check(NET.replace("MERGE", "add"))
    # the branches agree nowhere; torch broadcasts only at H = W = 3 (where b is 1x1): every
    # size the merge removes is explained, with the edit that makes the branches agree
    assert str(rep.domain) == "N >= 1, H = 3, W = 3"
    errs = [d for d in rep.diagnostics if d.layer == "merge"]
    assert errs and all("set b padding=1" in (d.hint or "") for d in errs)
    fixed = shapeplan.check(NET.replace("MERGE", "add").replace("kernel_size: 3}", "kernel_size: 3, padding: 1}"))
    assert fixed.ok and str(fixed.domain) == "N >= 1, H >= 1, W >= 1"
    m = build(fixed).eval()
    assert tuple(m(torch.zeros(1, 3, 5, 7)).shape) == (1, 8, 5, 7)


def test_cat_of_strided_branches_suggests_edits_that_work() -> None:
    # ceil(H/2) (3x3/2, pad 1) vs floor((H-1)/2) (3x3/2, no pad): they differ by 1 at every size
    text = """
name: Cat
input: [N, 3, H, W]
layers:
  - {name: a, op: Conv2d, in_channels: 3, out_channels: 4, kernel_size: 3, stride: 2, padding: 1}
  - {name: b, op: Conv2d, from: x, in_channels: 3, out_channels: 4, kernel_size: 3, stride: 2}
  - {name: merge, op: cat, from: [a, b], dim: 1}
"""
    rep = shapeplan.check(text)
    errs = [d for d in rep.errors if d.layer == "merge"]
    assert errs
    hint = errs[0].hint or ""
    fixes = [p for p in hint.split("; or ") if p.startswith("set ")]
    assert fixes, hint
    for part in fixes:  # every suggested edit, applied, gives a network that checks clean and runs
        layer, assignment = part[4:].split(" (")[0].split(" ")
        param, value = assignment.split("=")
        edited = _set(text, layer, param, value)
        fixed = shapeplan.check(edited)
        assert fixed.ok, (part, [d.render() for d in fixed.errors])
        m = build(fixed).eval()
        h, w = fixed.domain.smallest()["H"], fixed.domain.smallest()["W"]  # type: ignore[index]
        assert m(torch.zeros(1, 3, h, w)).shape[1] == 8


def _set(text: str, layer: str, param: str, value: str) -> str:
    out = []
    for line in text.splitlines():
        if f"{{name: {layer}," in line:
            parts = [p for p in line.rstrip("}").split(", ") if not p.startswith(f"{param}:")]
            line = ", ".join(parts) + f", {param}: {value}}}"
        out.append(line)
    return "\n".join(out) + "\n"


def test_no_fixit_when_nothing_simple_works() -> None:
    text = NET.replace("MERGE", "add").replace("out_channels: 8, kernel_size: 3}", "out_channels: 4, kernel_size: 3}")
    rep = shapeplan.check(text)
    assert rep.errors
    assert not any("set " in (d.hint or "") for d in rep.errors if d.code == "broadcast" and "4" in d.message)

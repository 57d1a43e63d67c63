"""The torch bridge: from_torch, to_yaml, emit/build, validate, and their CLI commands.

Every claim is compared with torch itself: the imported network's shapes and domain with
real forward passes, the emitted module with the prediction, the round trip with the
original module's layer shapes and parameter count.
"""

from __future__ import annotations

import ast
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
import sympy
import torch
import torch.nn.functional as F
from torch import nn
from typer.testing import CliRunner

import shapeplan
from shapeplan.backends.validate import Mismatch, _compare, choose_sizes
from shapeplan.cli import app
from shapeplan.core.dims import evaluate, sym
from tests.fixtures.classic import Net as TutorialNet  # the tutorial's Net, as written there

ROOT = Path(__file__).resolve().parent.parent
H, W = sym("H"), sym("W")


def torch_runs(module: nn.Module, shape: tuple[int, ...], device: str = "cpu") -> bool:
    """Does a forward pass at ``shape`` run?  The CPU's answer by default (meta's may differ)."""
    try:
        with torch.no_grad():
            module(torch.empty(*shape, device=device))
    except Exception:  # noqa: BLE001 - any error is "does not run"
        return False
    return True


def test_tutorial_net_domain_and_formula() -> None:
    net = shapeplan.from_torch(TutorialNet(), ("N", 1, "H", "W"))
    rep = shapeplan.check(net)
    assert rep.ok
    assert [li.name for li in rep.layers][:3] == ["conv1", "relu", "pool"]
    features = rep.shapes["flatten"][1]  # what fc1 receives
    assert isinstance(features, sympy.Expr) and features.free_symbols == {H, W}
    assert evaluate(features, {"H": 32, "W": 32}) == 400
    assert evaluate(features, {"H": 36, "W": 32}) == 480
    dom = rep.domain
    assert dom.smallest() == {"N": 1, "H": 32, "W": 32}
    assert "H in [32, 35], W in [32, 35]" in str(dom)
    assert dom.contains(H=16, W=112) and dom.contains(H=115, W=19)  # the other factorisations of 400
    assert any(d.code == "in-features" for d in rep.diagnostics)  # a note on fc1
    m = TutorialNet().eval()
    for h in range(1, 130, 3):
        for w in (17, 32, 35, 36, 113):
            assert dom.contains(N=1, H=h, W=w) == torch_runs(m, (1, 1, h, w)), (h, w)


def test_round_trip_to_yaml_and_build_keeps_shapes_and_params() -> None:
    module = TutorialNet()
    net = shapeplan.from_torch(module, ("N", 1, "H", "W"))
    text = shapeplan.to_yaml(net)
    back = shapeplan.load(text)
    assert shapeplan.check(back).shapes == shapeplan.check(net).shapes
    built = shapeplan.build(back).eval()
    assert sum(p.numel() for p in built.parameters()) == sum(p.numel() for p in module.parameters())
    out = built(torch.zeros(2, 1, 32, 32))
    assert tuple(out.shape) == (2, 10)


def test_emit_lenet_example_runs() -> None:
    src = shapeplan.emit(shapeplan.load(ROOT / "examples" / "lenet.yaml"))
    ast.parse(src)
    ns: dict[str, Any] = {}
    exec(compile(src, "<emit>", "exec"), ns)  # noqa: S102 - our own generated source
    classes = [v for v in ns.values() if isinstance(v, type) and issubclass(v, nn.Module) and v is not nn.Module]
    assert len(classes) == 1
    assert tuple(classes[0]()(torch.zeros(1, 1, 32, 32)).shape) == (1, 10)


class Branchy(nn.Module):
    """Functions, methods, operators, sizes and a dict output, as real heads use them."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.body = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
        self.head = nn.Conv2d(16, 4, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        size = x.shape[-2:]
        y = self.stem(x)
        z = self.body(y) + y
        z = torch.cat([z, y * 2], dim=1)
        out = F.interpolate(self.head(z), size=size, mode="bilinear", align_corners=False)
        n = out.size(0)
        return OrderedDict(out=out, flat=out.view(n, -1).mean(1))


def test_sizes_operators_and_dict_outputs() -> None:
    net = shapeplan.from_torch(Branchy(), ("N", 3, "H", "W"))
    rep = shapeplan.check(net)
    assert rep.ok, rep.diagnostics
    assert [str(d) for d in rep.outputs[0]] == ["N", "4", "H", "W"]
    assert len(rep.outputs) == 2
    names = {li.name for li in rep.layers}
    assert {"stem", "body.0", "body.1", "body.2", "head"} <= names
    m = Branchy().eval()
    for h in range(1, 40, 3):
        assert rep.domain.contains(N=2, H=h, W=h + 1) == torch_runs(m, (2, 3, h, h + 1), "cpu")


def test_meta_device_module() -> None:
    with torch.device("meta"):
        m = TutorialNet()
    rep = shapeplan.check(shapeplan.from_torch(m, ("N", 1, 32, 32)))
    assert rep.ok and rep.outputs == [(sym("N"), 10)]


def test_unsupported_module_is_named() -> None:
    class WithLSTM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.LSTM(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.rnn(x)[0]

    with pytest.raises(shapeplan.InputError) as e:
        shapeplan.from_torch(WithLSTM(), ("T", "N", 4))
    assert "rnn" in str(e.value) and "LSTM" in str(e.value)


def test_unsupported_function_is_named() -> None:
    class Fft(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.fft.fft2(x).real

    with pytest.raises(shapeplan.InputError) as e:
        shapeplan.from_torch(Fft(), ("N", 3, "H", "W"))
    assert "fft2" in str(e.value)


def test_untraceable_module_is_a_clear_error() -> None:
    class Branch(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum() > 0:
                return x
            return -x

    with pytest.raises(shapeplan.InputError) as e:
        shapeplan.from_torch(Branch(), ("N", 3))
    assert e.value.code == "trace" and "torch.fx" in str(e.value)


def test_validate_examples_agree_with_torch() -> None:
    for name in ("lenet", "unet", "hrnet_small"):
        v = shapeplan.validate(shapeplan.load(ROOT / "examples" / f"{name}.yaml"))
        assert v.ok, [r.to_json() for r in v.disagreements]
        assert any(r.predicted_valid for r in v.results) and any(not r.predicted_valid for r in v.results)


def test_validate_detects_a_wrong_prediction() -> None:
    rep = shapeplan.check(shapeplan.load(ROOT / "examples" / "lenet.yaml"))
    good = _compare(rep, {"N": 1, "H": 32, "W": 32}, "meta")
    assert good.agree
    rep.layers[0] = type(rep.layers[0])(rep.layers[0].name, rep.layers[0].op, rep.layers[0].inputs,
                                        (sym("N"), 7, H, W), rep.layers[0].params)
    bad = _compare(rep, {"N": 1, "H": 32, "W": 32}, "meta")
    assert not bad.agree and bad.mismatches[0] == Mismatch(rep.layers[0].name, (1, 7, 32, 32), (1, 6, 28, 28))


def test_validate_takes_the_cpus_verdict_where_meta_differs() -> None:
    """The meta device is not the CPU: it runs a bilinear resize to an empty output (the CPU
    raises) and raises on a reflect pad that leaves one padded dim empty (the CPU runs it).
    validate's verdict is the CPU's on every device; the meta device's own is a note."""
    down = shapeplan.load("name: Down\ninput: [N, 1, H, W]\nlayers:\n"
                          "  - {op: Upsample, scale_factor: 0.5, mode: bilinear}\n")
    crop = shapeplan.load("name: Crop\ninput: [N, 1, H, W]\nlayers:\n"
                          "  - {op: ReflectionPad2d, padding: [0, 0, -1, 0]}\n")
    x = torch.zeros(1, 1, 1, 4)
    assert not torch_runs(nn.Upsample(scale_factor=0.5, mode="bilinear"), (1, 1, 1, 4), "cpu")
    assert torch_runs(nn.Upsample(scale_factor=0.5, mode="bilinear"), (1, 1, 1, 4), "meta")
    assert tuple(nn.ReflectionPad2d([0, 0, -1, 0])(x).shape) == (1, 1, 0, 4)
    assert not torch_runs(nn.ReflectionPad2d([0, 0, -1, 0]), (1, 1, 1, 4), "meta")
    at = [{"N": 1, "H": 1, "W": 4}]
    for device in ("meta", "cpu"):
        (r,) = shapeplan.validate(down, at, device).results
        assert r.agree and not r.predicted_valid and not r.ran and "greater than 0" in (r.error or "")
        assert (r.device_note or "").startswith("meta ran where the CPU raises") if device == "meta" else not r.device_note
        (r,) = shapeplan.validate(crop, at, device).results
        assert r.agree and r.predicted_valid and r.ran and r.error is None and not r.mismatches
        assert (r.device_note or "").startswith("meta raised where the CPU runs") if device == "meta" else not r.device_note
    v = shapeplan.validate(down)  # the sizes chosen just outside the domain include H = 1
    assert v.ok and any(r.device_note for r in v.results)


def test_choose_sizes_covers_both_sides_of_the_domain() -> None:
    rep = shapeplan.check(shapeplan.load(ROOT / "examples" / "unet.yaml"))
    sizes = choose_sizes(rep, 12)
    inside = [s for s in sizes if rep.domain.contains(**s)]
    assert inside and len(inside) < len(sizes)
    assert rep.domain.smallest() in sizes


# ---------------------------------------------------------------------- CLI

runner = CliRunner()


def test_cli_emit_validate_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "net.py"
    r = runner.invoke(app, ["emit", str(ROOT / "examples" / "lenet.yaml"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    compile(out.read_text(), str(out), "exec")
    r = runner.invoke(app, ["validate", str(ROOT / "examples" / "lenet.yaml")])
    assert r.exit_code == 0 and "all agree" in r.output
    r = runner.invoke(app, ["validate", str(ROOT / "examples" / "lenet.yaml"), "--sizes", "N=1,H=32,W=32;N=1,H=31,W=32",
                            "--format", "json"])
    assert r.exit_code == 0 and '"agree": true' in r.output
    r = runner.invoke(app, ["validate", str(ROOT / "examples" / "lenet.yaml"), "--sizes", "H=x"])
    assert r.exit_code == 2
    r = runner.invoke(app, ["validate", str(ROOT / "examples" / "lenet.yaml"), "--device", "nowhere"])
    assert r.exit_code == 2 and "error[device]" in r.output
    mod = ROOT / "docs" / "tutorial_net.py"  # the "Neural Networks" tutorial's Net (F.max_pool2d)
    yml = tmp_path / "net.yaml"
    monkeypatch.setattr(sys, "path", list(sys.path))
    r = runner.invoke(app, ["import", f"{mod}:Net", "--input", "N,1,H,W", "-o", str(yml)])
    assert r.exit_code == 0, r.output
    rep = shapeplan.check(yml)
    assert rep.ok and "H in [32, 35]" in str(rep.domain)
    r = runner.invoke(app, ["import", f"{mod}:Nope"])
    assert r.exit_code == 2 and "Nope" in r.output
    r = runner.invoke(app, ["import", "no_such_module_xyz:Net"])
    assert r.exit_code == 2 and "cannot import" in r.output


@pytest.mark.parametrize("example", sorted(p.stem for p in (ROOT / "examples").glob("*.yaml") if "bad" not in p.stem))
def test_emitted_source_is_ruff_clean(example: str, tmp_path: Path) -> None:
    import shutil
    import subprocess

    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    src = shapeplan.emit(shapeplan.load(ROOT / "examples" / f"{example}.yaml"))
    f = tmp_path / f"{example}_net.py"
    f.write_text(src)
    r = subprocess.run([ruff, "check", "--isolated", "--select", "E,F,W,B,I,UP", "--line-length", "200", str(f)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


class Odds(nn.Module):
    """Reductions with indices, numbers on the left, split/unbind, view_as, a wrapped function."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(6, 1, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        a = x.max(1)[0] + torch.min(x, dim=1, keepdim=False).values
        b = 1 - x
        c = 2 / (x + 3)
        p, q = torch.split(x, [2, 4], dim=1)
        r = x.chunk(4, dim=1)[-1]
        u = x.unbind(1)[2]
        s = (self.scale * x).view_as(x)
        return a, b, c, p, q, r, u, s


def test_methods_operators_and_pieces_match_torch() -> None:
    m = Odds().eval()
    rep = shapeplan.check(shapeplan.from_torch(m, ("N", 6, "H", "W")))
    assert rep.ok, rep.diagnostics
    for h, w in [(1, 1), (3, 5), (8, 2)]:
        with torch.no_grad():
            outs = m(torch.rand(2, 6, h, w))
        env = {"N": 2, "H": h, "W": w}
        assert [tuple(int(evaluate(d, env)) for d in s) for s in rep.outputs] == [tuple(o.shape) for o in outs]
    back = shapeplan.check(shapeplan.load(shapeplan.to_yaml(rep.network)))
    assert back.shapes == rep.shapes
    built = shapeplan.build(back).eval()
    assert sum(p.numel() for p in built.parameters()) == 6
    got = built(torch.rand(2, 6, 3, 5))
    assert [tuple(o.shape) for o in got] == [tuple(o.shape) for o in m(torch.rand(2, 6, 3, 5))]


def test_wrapped_function_is_inlined() -> None:
    from tests.fixtures.common import StochasticDepth

    class Res(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)
            self.sd = StochasticDepth(0.2, "row")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.sd(self.conv(x))

    rep = shapeplan.check(shapeplan.from_torch(Res(), ("N", 4, "H", "W")))
    assert rep.ok and [li.op for li in rep.layers] == ["Conv2d", "add"]


def test_emit_and_validate_use_the_solved_values() -> None:
    text = ("input: [N, 3, H, W]\nlayers:\n"
            "  - {name: conv, op: Conv2d, in_channels: 3, out_channels: 8, kernel_size: 5, padding: solve, "
            "expect: [N, 8, H, W]}\n  - {name: head, op: Conv2d, in_channels: auto, out_channels: 2, kernel_size: 1}\n")
    src = shapeplan.emit(shapeplan.load(text))
    assert "padding=(2, 2)" in src and "in_channels=8" in src and "solve" not in src and "auto" not in src
    assert shapeplan.validate(shapeplan.load(text)).ok


class CBAMChannel(nn.Module):
    """CBAM's channel attention: pools whose window is the whole (symbolic) input."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.mlp = nn.Sequential(nn.Flatten(), nn.Linear(4, 2), nn.ReLU(), nn.Linear(2, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        a = F.avg_pool2d(x, (x.size(2), x.size(3)), stride=(x.size(2), x.size(3)))
        m = F.max_pool2d(x, x.size()[2:])
        att = torch.sigmoid(self.mlp(a) + self.mlp(m)).unsqueeze(2).unsqueeze(3).expand_as(x)
        return x * att


def test_pools_over_the_whole_input_are_global_pools() -> None:
    m = CBAMChannel().eval()
    rep = shapeplan.check(shapeplan.from_torch(m, ("N", 3, "H", "W")))
    assert rep.ok and str(rep.domain) == "N >= 1, H >= 3, W >= 3"
    assert {"adaptive_avg_pool2d", "adaptive_max_pool2d"} <= {li.op for li in rep.layers}
    for h, w in [(2, 5), (3, 3), (4, 9), (17, 6)]:
        assert rep.domain.contains(N=2, H=h, W=w) == torch_runs(m, (2, 3, h, w), "cpu")


def test_a_layer_that_fails_is_named_where_its_shape_is_needed() -> None:
    class Strided(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = F.avg_pool2d(x, x.size()[2:], stride=1, padding=1)  # not a global pool: no rule
            return y.view(y.size(0), -1)

    with pytest.raises(shapeplan.InputError) as e:
        shapeplan.from_torch(Strided(), ("N", 3, "H", "W"))
    text = str(e.value)
    assert "avg_pool2d" in text and "kernel_size" in text and "test_torch_bridge.py" in text

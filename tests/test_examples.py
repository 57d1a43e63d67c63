"""The example networks in examples/, checked and then run in torch.

For every example: it loads and checks clean (lenet_bad: one in-features error at fc1's
line); its known domain is what ``check`` finds; the module that ``shapeplan.backends.emit.build``
makes runs wherever ``rep.domain.contains`` says the net is valid, with every layer's
real shape equal to the predicted shape at those sizes, and raises wherever it says not.
Every example is compared at every H (and W) in a range (every k-th for the nets valid at
every size) and at squares up to 300, on the CPU: whether torch accepts a size is the CPU's
answer (the meta device skips some of the CPU kernels' checks and makes others; for these
examples it agrees at the sizes a test compares).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import shapeplan  # noqa: E402
from shapeplan.backends.emit import build  # noqa: E402
from shapeplan.core.dims import evaluate  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
GOOD = ["lenet", "resnet18", "unet", "hrnet_small", "vgg11", "mobilenet_v2", "strided"]
# what torch raises for a bad input size (anything else, e.g. a NameError in emitted code, is a bug)
TORCH_ERRORS = (RuntimeError, ValueError, IndexError)
SCAN = range(1, 71)  # the sizes scanned exhaustively on the CPU
# the full-width nets valid at every size (no edge of the domain to find): every k-th size
SCAN_STEP = {"mobilenet_v2": 5, "resnet18": 3}

# the domain of each example, worked out by hand from the architecture (for H; W is alike)
KNOWN_DOMAIN: dict[str, Callable[[int], bool]] = {
    "lenet": lambda h: h >= 16,  # conv5, pool2, conv5, pool2: ((h - 4) // 2 - 4) // 2 >= 1
    "resnet18": lambda h: True,  # pad-3 7x7/2 conv, pad-1 pool and convs, adaptive pool
    "unet": lambda h: h % 16 == 0,  # 4 floor-halvings, each undone exactly for `cat`
    "hrnet_small": lambda h: -(-h // 4) % 4 == 0,  # ceil(H/4), the 1/4 branch, is a multiple of 4
    "vgg11": lambda h: h >= 32,  # 5 MaxPool2d(2)
    "mobilenet_v2": lambda h: True,  # ceil-halvings only, adaptive pool
    # stem s = ceil(h/2); the ceil_mode pool gives floor((s-1)/2) (+1 - 1 dropped window) and the
    # conv floor((s-3)/2) + 1: equal iff s is odd, i.e. h mod 4 in {1, 2}; conv3 (dilated 3x3,
    # pad 1) needs pool2's floor((h+1)/8) + 1 >= 3, i.e. h >= 15, so h >= 17
    "strided": lambda h: h % 4 in (1, 2) and h >= 17,
}

# torchvision's parameter counts (sum(p.numel() for p in model.parameters()))
TORCHVISION_PARAMS = {"resnet18": 11_689_512, "vgg11": 132_863_336, "mobilenet_v2": 3_504_872}


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def path(name: str) -> Path:
    return EXAMPLES / f"{name}.yaml"


@functools.cache
def report(name: str) -> shapeplan.Report:
    return shapeplan.check(shapeplan.load(path(name)))


def is_lazy(m: Any) -> bool:
    return any(isinstance(x, torch.nn.modules.lazy.LazyModuleMixin) for x in m.modules())


@functools.cache
def module(name: str, device: str) -> Any:
    """The built module, in eval mode, on ``device`` ("cpu" or "meta").

    On the CPU the weights are allocated without their (slow, for VGG's 100M-weight Linear)
    random init and zeroed: values do not matter for shapes.  Lazy modules (a symbolic
    ``in_features: auto``) are built plainly: they size themselves at the first forward,
    so ``run`` builds a fresh one for every input size.
    """
    rep = report(name)
    with torch.device("meta"):
        m = build(rep, trace=True)
    if device == "cpu":
        if is_lazy(m):
            m = build(rep, trace=True)
        else:
            m = m.to_empty(device="cpu")
            with torch.no_grad():
                for t in [*m.parameters(), *m.buffers()]:
                    t.zero_()
    return m.eval()


def input_shape(rep: shapeplan.Report, env: dict[str, int]) -> tuple[int, ...]:
    return tuple(evaluate(d, env) for d in rep.network.inputs["x"])


def run(name: str, env: dict[str, int], device: str) -> dict[str, Any]:
    """Forward at the sizes ``env``; the trace of every layer's output."""
    rep = report(name)
    x = torch.zeros(input_shape(rep, env), device=device)
    m = module(name, device)
    if is_lazy(m):  # sized by its first input: one instance per input size
        with torch.device(device):
            m = build(rep, trace=True).eval()
    trace: dict[str, Any] = {}
    with torch.no_grad():
        m(x, _trace=trace)
    return trace


def shape_mismatches(name: str, env: dict[str, int], trace: dict[str, Any]) -> list[str]:
    rep = report(name)
    bad = []
    for li in rep.layers:
        assert li.shape is not None, f"{name}: {li.name} has no predicted shape"
        want = tuple(evaluate(d, env) for d in li.shape)
        if li.name not in trace:
            bad.append(f"{li.name}: not traced")
            continue
        got = tuple(trace[li.name].shape)
        if got != want:
            bad.append(f"{li.name} ({li.op}): torch {got}, predicted {want} = {li.shape}")
    return bad


def agree_at(name: str, env: dict[str, int], device: str) -> None:
    """Torch runs and matches every layer where the domain says valid, and raises elsewhere."""
    rep = report(name)
    valid = rep.domain.contains(**env)
    if valid:
        trace = run(name, env, device)
        bad = shape_mismatches(name, env, trace)
        assert not bad, f"{name} at {env} on {device}:\n  " + "\n  ".join(bad)
    else:
        with pytest.raises(TORCH_ERRORS):
            run(name, env, device)


def sample_sizes(name: str) -> tuple[list[dict[str, int]], list[dict[str, int]]]:
    """A few valid sizes (the smallest, a batch of 2, non-square ones, a medium one) and a few
    invalid ones (the smallest, one in the middle and the largest below 100)."""
    dom = report(name).domain
    small = dom.smallest()
    assert small is not None
    h0, w0 = small["H"], small["W"]
    hs = [h for h in range(1, 100) if dom.contains(N=1, H=h, W=w0)]
    ws = [w for w in range(1, 100) if dom.contains(N=1, H=h0, W=w)]
    inside = [
        small,
        {"N": 2, "H": h0, "W": w0},
        {"N": 1, "H": hs[1], "W": w0},
        {"N": 1, "H": h0, "W": ws[2]},
        {"N": 1, "H": hs[3], "W": ws[1]},
        {"N": 1, "H": next(h for h in hs if h >= 57), "W": next(w for w in ws if w >= 41)},  # a medium size
    ]
    bad_h = [h for h in range(1, 100) if h not in hs]
    bad_w = [w for w in range(1, 100) if w not in ws]
    outside = [{"N": 1, "H": h, "W": w0} for h in sorted({*bad_h[:1], *bad_h[len(bad_h) // 2:][:1], *bad_h[-1:]})]
    outside += [{"N": 2, "H": h0, "W": w} for w in bad_w[-1:]]
    return inside, outside


def fc1_line(name: str) -> int:
    for i, line in enumerate(path(name).read_text().splitlines(), 1):
        if re.search(r"name:\s*fc1\b", line):
            return i
    raise AssertionError("no fc1 in " + name)


# --------------------------------------------------------------------------- static checks


@pytest.mark.parametrize("name", GOOD)
def test_example_checks_clean(name: str) -> None:
    rep = report(name)
    assert rep.ok, "\n".join(d.render() for d in rep.diagnostics)
    assert not rep.errors
    assert rep.domain.exact, str(rep.domain)
    assert rep.domain.smallest() is not None
    assert set(rep.network.symbol_names()) == {"N", "H", "W"}
    assert all(li.shape is not None for li in rep.layers)


@pytest.mark.parametrize("name", GOOD)
def test_example_domain_is_the_known_one(name: str) -> None:
    dom = report(name).domain
    known = KNOWN_DOMAIN[name]
    for s in range(1, 200):
        assert dom.contains(N=1, H=s, W=s) == (known(s)), (name, s, str(dom))
    w0 = dom.smallest()["W"]  # type: ignore[index]
    h0 = dom.smallest()["H"]  # type: ignore[index]
    for s in range(1, 130):
        assert dom.contains(N=3, H=s, W=w0) == known(s), (name, "H", s)
        assert dom.contains(N=3, H=h0, W=s) == known(s), (name, "W", s)


def test_lenet_bad_reports_in_features_at_fc1() -> None:
    rep = report("lenet_bad")
    assert not rep.ok
    errors = rep.errors
    assert len(errors) == 1, [d.render() for d in errors]
    err = errors[0]
    assert err.code == "in-features"
    assert err.layer == "fc1"
    assert err.location is not None
    assert err.location.line == fc1_line("lenet_bad")
    assert "500" in err.message
    assert rep.domain.empty


def test_block_layer_names() -> None:
    names = {li.name for li in report("resnet18").layers}
    for n in ("conv1", "layer1.0.conv1", "layer1.1.bn2", "layer2.0.downsample.0", "layer2.0.downsample.1",
              "layer4.1.conv2", "avgpool", "fc"):
        assert n in names, n
    names = {li.name for li in report("mobilenet_v2").layers}
    for n in ("features.0.0", "features.1.conv.0.0", "features.3.conv.1.0", "features.3.add", "features.18.0",
              "classifier.1"):
        assert n in names, n
    names = {li.name for li in report("unet").layers}
    assert {"enc1.conv1", "bottleneck.relu2", "dec1.bn2", "up4", "cat4", "outc"} <= names


@pytest.mark.parametrize("name", sorted(TORCHVISION_PARAMS))
def test_param_count_is_torchvisions(name: str) -> None:
    rep = report(name)
    assert rep.total_params == TORCHVISION_PARAMS[name]
    m = module(name, "meta")
    assert sum(p.numel() for p in m.parameters()) == TORCHVISION_PARAMS[name]


@pytest.mark.parametrize("name", ["unet", "hrnet_small"])
def test_param_count_is_the_modules(name: str) -> None:
    assert report(name).total_params == sum(p.numel() for p in module(name, "meta").parameters())


def test_cli_exit_codes() -> None:
    from typer.testing import CliRunner

    from shapeplan.cli import app

    runner = CliRunner()
    for name in GOOD:
        res = runner.invoke(app, ["check", "-q", str(path(name))])
        assert res.exit_code == 0, (name, res.output)
    res = runner.invoke(app, ["check", "-q", str(path("lenet_bad"))])
    assert res.exit_code == 1, res.output
    assert f"lenet_bad.yaml:{fc1_line('lenet_bad')}:" in res.output
    assert "error[in-features]" in res.output


# --------------------------------------------------------------------------- torch runs


@pytest.mark.parametrize("name", GOOD)
def test_torch_agrees_at_sample_sizes(name: str) -> None:
    inside, outside = sample_sizes(name)
    for env in inside:
        assert report(name).domain.contains(**env)
        agree_at(name, env, "cpu")
    for env in outside:
        assert not report(name).domain.contains(**env)
        agree_at(name, env, "cpu")


@pytest.mark.parametrize("name", GOOD)
def test_torch_agrees_at_every_size(name: str) -> None:
    dom = report(name).domain
    small = dom.smallest()
    assert small is not None
    valid = 0
    scan = SCAN[::SCAN_STEP.get(name, 1)]
    for s in scan:
        for env in ({"N": 1, "H": s, "W": small["W"]}, {"N": 1, "H": small["H"], "W": s}):
            agree_at(name, env, "cpu")
            valid += dom.contains(**env)
    known = KNOWN_DOMAIN[name]
    assert valid == sum(known(s) for s in scan) * 2 > 0
    for s in range(SCAN.stop, 301, 9 * SCAN_STEP.get(name, 1)):  # and squares up to 300
        agree_at(name, {"N": 1, "H": s, "W": s}, "cpu")


@pytest.mark.parametrize("name", ["unet", "hrnet_small"])
def test_meta_raises_where_cpu_raises(name: str) -> None:
    """For these examples the meta device raises where the CPU raises, with the same exception
    type (its messages are worded differently).  Not so in general (see
    tests/test_torch_bridge.py::test_validate_takes_the_cpus_verdict_where_meta_differs): the
    comparisons with the prediction take the CPU's verdict."""
    small = report(name).domain.smallest()
    assert small is not None
    h0, w0 = small["H"], small["W"]
    sizes = [1, h0 - 1, h0, h0 + 1, h0 + 5, 2 * h0 - 1, 2 * h0]
    for h in sorted({s for s in sizes if s >= 1}):
        env = {"N": 1, "H": h, "W": w0}
        outcome = []
        for device in ("cpu", "meta"):
            try:
                trace = run(name, env, device)
                outcome.append({k: tuple(v.shape) for k, v in trace.items()})
            except TORCH_ERRORS as e:
                outcome.append(type(e))
        assert outcome[0] == outcome[1], (name, env, outcome)


@pytest.mark.parametrize("name", sorted(TORCHVISION_PARAMS))
def test_same_as_torchvision(name: str) -> None:
    """Where torchvision is installed: the same parameters under the same names, and the
    same output at every layer (hooks on torchvision's leaf modules)."""
    models = pytest.importorskip("torchvision.models")
    tv = getattr(models, name)().eval()
    ours = module(name, "cpu")
    # our attributes are the layer names with dots made underscores (layer1.0.conv1 -> layer1_0_conv1)
    want = {k.rsplit(".", 1)[0].replace(".", "_") + "." + k.rsplit(".", 1)[1]: v for k, v in tv.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in want.items()} == {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    ours.load_state_dict(want)
    seen: dict[str, tuple[int, ...]] = {}
    for mname, m in tv.named_modules():
        if mname and not list(m.children()):
            m.register_forward_hook(lambda m, i, o, mname=mname: seen.__setitem__(mname, tuple(o.shape)))
    x = torch.randn(2, 3, 45, 37)
    trace: dict[str, Any] = {}
    with torch.no_grad():
        expected = tv(x)
        got = ours(x, _trace=trace)
    assert {k: tuple(trace[k].shape) for k in seen} == seen
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    for t in [*ours.parameters(), *ours.buffers()]:  # leave the cached module as it was
        t.data.zero_()

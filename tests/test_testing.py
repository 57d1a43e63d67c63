"""shapeplan.testing: assert_shapes / assert_domain called directly, and the pytest plugin
(fixture ``shapeplan_check``, marker ``@pytest.mark.shapeplan``) through pytester.

The failure messages are part of the contract: the tests compare their text.  The
validation failures come from modules whose forward does something else at run time than
what torch.fx traced (a crop, a pad, a raise outside the traced graph), so that the real
forward pass disagrees with the prediction on purpose.
"""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest
import sympy
import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from shapeplan.core.dims import sym
from shapeplan.testing import assert_domain, assert_shapes, parse_shape

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
LENET = ("N", 1, "H", "W")
LENET_DOMAIN = ("N >= 1, H in [32, 35], W in [32, 35]; or N >= 1, H in [16, 19], W in [112, 115]; "
                "or N >= 1, H in [112, 115], W in [16, 19]")


class LeNet(nn.Module):
    """The LeNet of PyTorch's "Neural Networks" tutorial (fc1 sized for 32 x 32 inputs)."""

    def __init__(self, fc1_in: int = 16 * 5 * 5) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(fc1_in, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def _traced(x: object) -> bool:
    return isinstance(x, torch.fx.Proxy)


class CropsAtRunTime(nn.Module):
    """torch.fx sees two convs; the real forward crops a row of the input first."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _traced(x):
            x = x[:, :, 1:]
        return self.head(self.conv(x))


class PadsAtRunTime(nn.Module):
    """torch.fx sees a 5x5 conv (valid from 5 x 5); the real forward pads first."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _traced(x):
            x = F.pad(x, (2, 2, 2, 2))
            return self.conv(x)[:, :, 2:-2, 2:-2] if x.shape[-1] > 8 else self.conv(x)[:, :, :0]
        return self.conv(x)


class RaisesWhenWide(nn.Module):
    """A check outside the traced graph: the real forward refuses W > 100."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _traced(x) and x.shape[-1] > 100:
            raise ValueError(f"too wide: {x.shape[-1]}")
        return self.conv(x)


# ---------------------------------------------------------------------- assert_shapes


def test_passes_with_every_way_of_writing_a_shape():
    H = sympy.Symbol("H")  # a plain user symbol: matched to shapeplan's H by name
    rep = assert_shapes(LeNet(), LENET, {
        "x": ("N", 1, "H", "W"),
        "conv1": ("N", 6, "H - 4", "W - 4"),
        "max_pool2d": ("N", 6, "(H - 4)//2", "W//2 - 2"),       # the same formula, written differently
        "conv2": "(N, 16, H//2 - 6, W//2 - 6)",                 # the text shapeplan prints
        "flatten": ("N", "16*(H//4 - 3)*(W//4 - 3)"),
        "relu": ("N", 6, H - 4, "W - 4"),
        "fc3": "N, 10",
    })
    assert rep.ok and str(rep.domain) == LENET_DOMAIN
    assert rep.shapes["fc3"] == (sym("N"), 10)


def test_parse_shape():
    N, H = sym("N"), sym("H")
    assert parse_shape("(N,)") == (N,)
    assert parse_shape("()") == ()
    assert parse_shape("((H - 12)//4, 3)") == (parse_shape("H//4 - 3")[0], 3)
    assert parse_shape(torch.Size([2, 3])) == (2, 3)
    assert parse_shape([sympy.Symbol("N", positive=True) * 2]) == (2 * N,)
    assert parse_shape(("H + 1",)) == (H + 1,)
    with pytest.raises(TypeError, match="a size must be"):
        parse_shape((1.5,))
    with pytest.raises(TypeError, match="a shape must be"):
        parse_shape(3)  # type: ignore[arg-type]


def test_diff_shows_every_differing_layer_as_formulas():
    with pytest.raises(AssertionError) as e:
        assert_shapes(LeNet(), LENET, {
            "conv1": ("N", 6, "H - 4", "W - 4"),              # right: not listed
            "conv2": ("N", 16, "H//2 - 4", "W//2 - 6"),
            "flatten": ("N", 400),
            "fc3": ("N", 10, 1),
            "fc4": ("N", 10),
            "pool": ("N", 6, "H//2", "W//2"),
        })
    assert str(e.value) == (
        "LeNet: 5 layers differ from the expected shapes:\n"
        "  conv2:   expected (N, 16, H//2 - 4, W//2 - 6), got (N, 16, H//2 - 6, W//2 - 6)\n"
        "  flatten: expected (N, 400), got (N, 16*(H//4 - 3)*(W//4 - 3))\n"
        "  fc3:     expected (N, 10, 1), got (N, 10)\n"
        "  fc4:     expected (N, 10), but there is no such layer (did you mean 'fc3'?)\n"
        "  pool:    expected (N, 6, H//2, W//2), but there is no such layer (layers: x, conv1, relu, max_pool2d, "
        "conv2, relu_1, max_pool2d_1, flatten, fc1, relu_2, fc2, relu_3, ...)")


def test_shape_errors_are_reported_before_the_diff():
    with pytest.raises(AssertionError) as e:
        assert_shapes(LeNet(fc1_in=500), LENET, {"fc1": ("N", 100)})
    msg = str(e.value)
    assert msg.startswith("LeNet has shape errors:\n  error[in-features]: fc1 (Linear) expects in_features=500, "
                          "but its input has 16*(H//4 - 3)*(W//4 - 3) features"), msg
    assert "\n    hint: " in msg
    assert msg.endswith("LeNet: 1 layer differs from the expected shapes:\n"
                        "  fc1: expected (N, 100), got (N, 120)"), msg


def test_forward_disagreement_names_the_first_size_and_the_layer():
    with pytest.raises(AssertionError) as e:
        assert_shapes(CropsAtRunTime(), ("N", 1, "H", "W"), {"conv": ("N", 4, "H - 2", "W - 2")},
                      sizes=[{"N": 1, "H": 16, "W": 20}, {"N": 2, "H": 9, "W": 9}])
    assert str(e.value) == (
        "the forward pass of CropsAtRunTime on meta disagrees with shapeplan at N=1, H=16, W=20 "
        "(2 sizes tried; 1 more size disagrees):\n"
        "  predicted valid, torch ran\n"
        "  conv: predicted (1, 4, 14, 18), torch gives (1, 4, 13, 18)\n"
        "  head: predicted (1, 2, 14, 18), torch gives (1, 2, 13, 18)")


def test_forward_raising_inside_the_domain_is_a_failure():
    with pytest.raises(AssertionError) as e:
        assert_shapes(RaisesWhenWide(), ("N", 3, "H", "W"))  # the default sizes include a large W
    msg = str(e.value)
    assert re.match(r"the forward pass of RaisesWhenWide on meta disagrees with shapeplan at N=1, H=3, W=(\d+) "
                    r"\(\d+ sizes tried\):\n  predicted valid, torch raised ValueError: too wide: \1$", msg), msg
    assert int(re.findall(r"W=(\d+)", msg)[0]) > 100


def test_forward_running_outside_the_domain_is_a_failure():
    with pytest.raises(AssertionError) as e:
        assert_shapes(PadsAtRunTime(), ("N", 1, "H", "W"), sizes=[{"N": 1, "H": 9, "W": 9}, {"N": 1, "H": 3, "W": 3}])
    assert str(e.value) == (
        "the forward pass of PadsAtRunTime on meta disagrees with shapeplan at N=1, H=3, W=3 (2 sizes tried):\n"
        "  predicted invalid (valid inputs: N >= 1, H >= 5, W >= 5), torch ran")


def test_the_module_is_left_as_it_was():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    net.train()
    net[1].eval()  # mixed modes come back as they were
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert_shapes(net, ("N", 3, "H", "W"), {"layers.2": ("N", 4, "H - 2", "W - 2")})
    assert net.training and net[0].training and not net[1].training
    assert all(v.device.type == "cpu" and torch.equal(v, before[k]) for k, v in net.state_dict().items())
    assert not any(m._forward_hooks for m in net.modules())


def test_device_cpu_runs_real_tensors():
    rep = assert_shapes(LeNet(), LENET, {"fc3": ("N", 10)}, sizes=[{"N": 2, "H": 32, "W": 35}, {"N": 1, "H": 36, "W": 32}],
                        device="cpu")
    assert rep.domain.contains(H=32, W=35) and not rep.domain.contains(H=36, W=32)


def test_the_verdict_is_the_cpus_on_meta_too():
    """A bilinear resize to an empty output runs on meta and raises on the CPU, a reflect pad
    that leaves one padded dim empty raises on meta only: the CPU decides, for the module
    itself and for its net.yaml."""
    down = nn.Sequential(nn.Upsample(scale_factor=0.5, mode="bilinear"))
    sizes = [{"N": 1, "H": 1, "W": 4}, {"N": 2, "H": 3, "W": 4}]
    rep = assert_shapes(down, LENET, {"layers.0": ("N", 1, "H//2", "W//2")}, sizes=sizes)
    assert not rep.domain.contains(N=1, H=1, W=4)
    assert_shapes(down.to("meta"), LENET, sizes=sizes)  # a module on meta: zeros on the CPU for its verdict
    assert_shapes(rep.network, sizes=sizes)
    crop = nn.Sequential(nn.ReflectionPad2d([0, 0, -1, 0]))
    assert_shapes(crop, LENET, {"layers.0": ("N", 1, "H - 1", "W")}, sizes=[{"N": 1, "H": 1, "W": 4}])


def test_a_net_yaml_is_checked_with_its_emitted_module():
    rep = assert_shapes(ROOT / "examples" / "lenet.yaml", expected={"fc1": ("N", 120), "flatten": "(N, 16*(H//4 - 3)*(W//4 - 3))"})
    assert str(rep.domain) == "N >= 1, H >= 16, W >= 16"
    with pytest.raises(AssertionError, match=r"(?m)^  fc2: expected \(N, 80\), got \(N, 84\)$"):
        assert_shapes(str(ROOT / "examples" / "lenet.yaml"), expected={"fc2": ("N", 80)})


def test_usage_errors_are_not_assertion_errors():
    with pytest.raises(ValueError, match=r"expected\['fc1'\]: bad size expression 'H \+'"):
        assert_shapes(LeNet(), LENET, {"fc1": ("N", "H +")})
    with pytest.raises(TypeError, match="input_shape is required"):
        assert_shapes(LeNet())
    with pytest.raises(ValueError, match="sizes N=1, H=32 do not give W"):
        assert_shapes(LeNet(), LENET, sizes=[{"N": 1, "H": 32}])


def test_a_loop_over_sizes_is_followed():
    class Loops(LeNet):  # the pre-2021 tutorial's num_flat_features
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n = 1
            for s in x.size()[1:]:
                n *= s
            return x.view(-1, n)

    assert_shapes(Loops(), LENET, {"view": ("N", "H*W")})


def test_a_module_that_cannot_be_imported_fails_with_the_reason():
    class Values(LeNet):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum() > 0:
                return x
            return -x

    with pytest.raises(AssertionError, match=r"^shapeplan cannot import Values:\n  .*error\[trace\]: forward branches "
                                             r"on the values of a tensor"):
        assert_shapes(Values(), LENET)


# ---------------------------------------------------------------------- assert_domain


def test_assert_domain():
    rep = assert_domain(LeNet(), LENET, contains=[{"H": 32, "W": 35}, "H=16,W=115", "N=7,H=112,W=19"],
                        excludes=["H=36,W=32", {"H": 31}])
    assert rep.domain.smallest() == {"N": 1, "H": 32, "W": 32}
    with pytest.raises(AssertionError) as e:
        assert_domain(LeNet(), LENET, contains="H=36,W=36", excludes=[{"H": 16, "W": 112}, {"W": 33}])
    assert str(e.value) == (f"LeNet: valid inputs are {LENET_DOMAIN}\n"
                            "  H=36, W=36: expected valid, but it is not\n"
                            "  H=16, W=112: expected invalid, but it is valid\n"
                            "  W=33: expected invalid, but it is valid")
    with pytest.raises(AssertionError, match=r"^LeNet is valid at no input size\n  H=32, W=32: expected valid, but it is not\nLeNet has shape errors:\n"):
        assert_domain(LeNet(fc1_in=500), LENET, contains=["H=32,W=32"])
    with pytest.raises(ValueError, match="write NAME=INT"):
        assert_domain(LeNet(), LENET, contains=["H:32"])


# ---------------------------------------------------------------------- the pytest plugin


# this module as the plugin, whether or not its entry point is installed (-p no:shapeplan
# keeps the entry point from registering it a second time)
PLUGIN = ("-p", "no:shapeplan", "-p", "shapeplan.testing")


# the plugin module is already imported here, so pytest cannot rewrite its asserts (it has none)
QUIET = ("-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning")


def test_pyproject_declares_the_entry_point():
    text = (ROOT / "pyproject.toml").read_text()
    section = re.search(r"^\[project\.entry-points\.pytest11\]\n(.*?)(?:^\[|\Z)", text, re.S | re.M)
    assert section and re.search(r'^shapeplan = "shapeplan\.testing"$', section.group(1), re.M)


USER_TESTS = '''
import pytest
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.pool(self.conv(x))

@pytest.mark.shapeplan(("N", 3, "H", "W"), expected={"conv": ("N", 8, "H - 2", "W - 2")})
def test_marked(shapeplan_check):
    rep = shapeplan_check(Net())
    assert str(rep.domain) == "N >= 1, H >= 4, W >= 4"

@pytest.mark.shapeplan(input_shape=("N", 3, "H", "W"), expected={"pool": ("N", 8, "H//2", "W//2")})
def test_marked_wrong(shapeplan_check):
    shapeplan_check(Net())

@pytest.mark.shapeplan(input_shape=("N", 3, "H", "W"), expected={"pool": ("N", 8, "H//2", "W//2")})
def test_call_overrides_marker(shapeplan_check):
    shapeplan_check(Net(), expected={"pool": "(N, 8, H//2 - 1, W//2 - 1)"})

def test_fixture_alone(shapeplan_check):
    shapeplan_check(Net(), ("N", 3, "H", "W"), {"pool": ("N", 8, "H//2 - 1", "W//2 - 1")}, sizes=[{"N": 1, "H": 4, "W": 5}])

@pytest.mark.shapeplan(("N", 3, "H", "W"))
def test_marker_without_fixture():
    pass

@pytest.mark.shapeplan(("N", 3, "H", "W"))
def test_fixture_never_called(shapeplan_check):
    pass
'''


def test_plugin_fixture_and_marker(pytester: pytest.Pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_inprocess(*PLUGIN, *QUIET, "--strict-markers")
    result.assert_outcomes(passed=4, failed=1, errors=2)
    result.stdout.fnmatch_lines([
        "*_ test_marked_wrong _*",
        "E*AssertionError: Net: 1 layer differs from the expected shapes:",
        "E*  pool: expected (N, 8, H//2, W//2), got (N, 8, H//2 - 1, W//2 - 1)",
    ])
    result.stdout.fnmatch_lines(["*ERROR at setup of test_marker_without_fixture*",
                                 "*@pytest.mark.shapeplan gives the arguments of the shapeplan_check fixture*"])
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_fixture_never_called*",
                                 "*marked @pytest.mark.shapeplan but never calls shapeplan_check(module)*"])


def test_plugin_registers_the_marker(pytester: pytest.Pytester):
    result = pytester.runpytest_inprocess(*PLUGIN, *QUIET, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.shapeplan(input_shape=None, expected=None, *, sizes=None, "
                                 "device='meta'): default arguments of the shapeplan_check fixture*"])


def test_plugin_does_not_import_torch_unless_the_fixture_checks_a_module(pytester: pytest.Pytester):
    pytester.makepyfile(test_plain='''
        import sys

        def test_no_torch(request):
            check = request.getfixturevalue("shapeplan_check")
            assert callable(check)
            assert "torch" not in sys.modules

        def test_plain():
            assert "torch" not in sys.modules
    ''')
    result = pytester.runpytest_subprocess(*PLUGIN, *QUIET)
    result.assert_outcomes(passed=2)


def test_the_installed_entry_point_is_this_module():
    eps = [ep for ep in importlib.metadata.entry_points(group="pytest11") if ep.name == "shapeplan"]
    if not eps:
        pytest.skip("shapeplan's pytest11 entry point is not installed yet: pip install -e .")
    import shapeplan.testing

    assert eps[0].load() is shapeplan.testing

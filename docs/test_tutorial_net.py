# docs/test_tutorial_net.py: shape tests for the tutorial's Net, with shapeplan's pytest plugin
import pytest
from tutorial_net import Net

from shapeplan.testing import assert_domain


@pytest.mark.shapeplan(("N", 1, "H", "W"), expected={
    "conv1": ("N", 6, "H - 4", "W - 4"),
    "flatten": "(N, 16*(H//4 - 3)*(W//4 - 3))",
    "fc3": ("N", 10),
})
def test_shapes(shapeplan_check):
    shapeplan_check(Net())


def test_sizes():
    assert_domain(Net(), ("N", 1, "H", "W"), contains=["H=32,W=32", "H=35,W=35", "H=16,W=112"],
                  excludes=["H=28,W=28", "H=36,W=36"])

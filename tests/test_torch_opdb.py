"""torch's own test inputs through shapeplan's front door and as net.yaml (tests/opdb.py): every sample input
and error input of torch's OpInfo database for the functions shapeplan knows, and every
module input of its module database, made into a model, imported, checked and compared with
torch's CPU forward.  Every difference is a failure: an answer looser or stricter than torch,
or a crash.  Samples shapeplan cannot follow (no rule: an import error) are counted apart, and
each op must have samples compared.

The same comparison with every size a symbol (checked at the sample's sizes) runs for a
spread of ops; ``python tools/opdb_probe.py --symbolic`` runs it for all.
"""

from __future__ import annotations

import os
import zlib

import pytest

pytest.importorskip("expecttest")  # torch's test databases import it

from opdb import (  # noqa: E402
    compare_module_samples,
    compare_op_samples,
    compare_op_samples_yaml,
    module_infos,
    op_infos,
)

OPS = op_infos()
MODULES = module_infos()
_SEEN: set[str] = set()


def _id(name: str) -> str:
    """Several OpInfos share a name (variants): number the repeats."""
    i, out = 1, name
    while out in _SEEN:
        i += 1
        out = f"{name}#{i}"
    _SEEN.add(out)
    return out


OP_IDS = [_id(f"{info.name}.{info.variant_test_name}" if info.variant_test_name else info.name) for info in OPS]
MODULE_IDS = [_id(m.module_cls.__name__) for m in MODULES]
# symbolic: the families of a CNN (a third of the ops, by name), all with SHAPEPLAN_SLOW=1
SYMBOLIC = [(info, i) for info, i in zip(OPS, OP_IDS, strict=True)
            if os.environ.get("SHAPEPLAN_SLOW") or zlib.crc32(i.encode()) % 3 == 0
            or any(family in i for family in ("pool", "conv", "interp"))]


@pytest.mark.parametrize("info", OPS, ids=OP_IDS)
def test_op_samples_agree_with_torch(info: object) -> None:
    out = compare_op_samples(info)
    assert not out.disagreements, "\n".join(out.disagreements[:5])


@pytest.mark.parametrize("info", [s[0] for s in SYMBOLIC], ids=[s[1] for s in SYMBOLIC])
def test_op_samples_agree_with_torch_symbolically(info: object) -> None:
    out = compare_op_samples(info, symbolic=True, limit=20)
    assert not out.disagreements, "\n".join(out.disagreements[:5])


@pytest.mark.parametrize("info", OPS, ids=OP_IDS)
def test_op_samples_as_net_yaml_agree_with_torch(info: object) -> None:
    """The same samples as a user writes them in net.yaml (one layer, the sample's args and keywords)."""
    out = compare_op_samples_yaml(info)
    assert not out.disagreements, "\n".join(out.disagreements[:5])


@pytest.mark.parametrize("info", MODULES, ids=MODULE_IDS)
def test_module_samples_agree_with_torch(info: object) -> None:
    out = compare_module_samples(info)
    assert not out.disagreements, "\n".join(out.disagreements[:5])


def test_most_samples_are_compared() -> None:
    """The comparison is not empty: most of the samples of the ops shapeplan knows are compared."""
    compared = unsupported = 0
    for info in OPS:
        out = compare_op_samples(info, limit=5)
        compared, unsupported = compared + out.compared, unsupported + out.unsupported
    assert compared > 4 * unsupported and compared > 300, (compared, unsupported)

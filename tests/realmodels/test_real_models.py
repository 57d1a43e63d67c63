"""Real models as the yardstick: every model of the corpus (tests/realmodels/corpus.py: torchvision,
timm, segmentation_models_pytorch, MONAI, ultralytics, d2l), imported with ``from_torch`` and
checked, must agree with torch's own eval-mode forward (cached in tests/realmodels/truth.json by
tools/real_truth.py) at every cached size: the domain contains exactly the sizes where torch
runs, and there the outputs have torch's shapes.

A model that cannot be imported fails with the importer's error; a disagreement fails with every
size where shapeplan and torch differ and both answers.  Select with ``-m realmodels``; the
entries marked slow (minutes each) run with ``SHAPEPLAN_SLOW=1``.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import pytest

from tests.realmodels import truth
from tests.realmodels.corpus import CORPUS, FAMILY_PACKAGES, KNOWN_FAILURES, Entry

pytestmark = pytest.mark.realmodels

_TRUTH: dict[str, Any] = truth.load()
_VERSIONS = truth.installed_versions()


def _importable(entry: Entry) -> str | None:
    """Why the entry's packages cannot be used here (None: they can)."""
    for pkg in FAMILY_PACKAGES[entry.family]:
        if importlib.util.find_spec(pkg) is None:
            return f"{pkg} is not installed"
    return None


@pytest.mark.parametrize("entry", [
    pytest.param(e, marks=pytest.mark.xfail(reason=KNOWN_FAILURES[e.id], strict=True)) if e.id in KNOWN_FAILURES else e
    for e in CORPUS], ids=[e.id for e in CORPUS])
def test_real_model_agrees_with_torch(entry: Entry) -> None:
    import shapeplan

    if entry.slow and not os.environ.get("SHAPEPLAN_SLOW"):
        pytest.skip(f"{entry.id}: minutes of analysis; SHAPEPLAN_SLOW=1 runs it")
    missing = _importable(entry)
    if missing:
        pytest.skip(f"{entry.id}: {missing}")
    record = _TRUTH.get("entries", {}).get(entry.id)
    sync = truth.out_of_sync(entry, record)
    if sync is not None or record is None:  # the corpus and its committed cache must agree
        pytest.fail(sync or "no cached truth")
    why = truth.other_versions(entry, record, _VERSIONS)
    if why is not None:  # other package versions here: their truth may differ
        pytest.skip(f"refusing the cached truth: {why}")
    try:
        model = entry.build()
    except ImportError as e:  # a dependency of the package is missing here (d2l.torch needs pandas)
        pytest.skip(f"{entry.id}: cannot import its package: {e}")
    errors: list[str] = []
    try:
        net = shapeplan.from_torch(model, entry.input_shape)
    except shapeplan.InputError as e:  # the importer's own error: its diagnostics, not a traceback
        errors = [d.render() for d in e.diagnostics if d.severity == "error"] or [str(e)]
    if errors:
        pytest.fail(f"{entry.id}: from_torch cannot import it ({len(errors)} errors):\n" + "\n".join(errors[:8]),
                    pytrace=False)
    rep = shapeplan.check(net)
    bad = truth.disagreements(rep, record["sizes"])
    if bad:
        pytest.fail(f"{entry.id}: shapeplan and torch disagree at {len(bad)} of {len(record['sizes'])} sizes "
                    f"(domain: {str(rep.domain)[:600]}):\n  " + "\n  ".join(bad), pytrace=False)

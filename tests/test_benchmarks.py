"""Smoke test of the benchmark suite (benchmarks/run.py): every section runs in --quick mode on
LeNet with one repetition, so the script cannot rot.  Nothing is asserted about time; what is
asserted are the facts the suite reports: LeNet's exact domain holds 48 sizes (H, W) in 1..256,
the sampled meta forwards agree with it, and every table is there."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from benchmarks.run import main  # noqa: E402


def test_quick_suite_on_lenet(capsys: pytest.CaptureFixture[str]) -> None:
    out = main(["--quick", "--nets", "lenet", "--reps", "1", "--cli-reps", "1", "--scan", "4",
                "--chains", "100", "--chain-kinds", "conv_pad1"])
    printed = capsys.readouterr().out
    for title in ("### A.", "### B.", "### C.", "### D.", "### E.", "### F."):
        assert title in printed

    (lenet,) = out["nets"]
    # H, W in [32, 35]^2, or one of them in [16, 19] and the other in [112, 115]: 16 + 2 * 16
    assert lenet["valid"] == 48
    assert lenet["domain"].startswith("N >= 1, H in [32, 35], W in [32, 35]")
    assert lenet["layers"] == 12
    assert lenet["scan_samples"] == 4 and lenet["scan_mismatch"] == []
    for key in ("check", "e2e", "from_torch", "propagate", "analyse", "meta", "shapeprop", "scan_per_size"):
        assert 0 < lenet[key] < 60, key
    assert lenet["contains_point"] > 0 and lenet["contains_hw"] > 0
    (auto,) = lenet["exports"]
    assert auto["key"] == "auto" and auto["seconds"] > 0 and auto["answer"]

    assert {label for label, _ in out["cli"]} >= {'python -c "import torch"', "shapeplan check examples/lenet.yaml"}
    chains = {(r["kind"], r["layers"]): r for r in out["scaling"]}
    assert set(chains) == {("conv_pad1", 100)}
    assert all(r["ok"] and r["domain"] == "N >= 1, H >= 1, W >= 1" for r in chains.values())
    mem = {m["label"]: m for m in out["memory"]}
    assert len(mem) == 2 and all(m["rss"] > 0 and m["load_peak"] > 0 and m["report"] > 0 for m in mem.values())

"""The sections that time or measure whole processes: the cold CLI, the scaling chains (each
size in a fresh process) and the peak memory of ``shapeplan check``."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import progress

ROOT = Path(__file__).resolve().parent.parent


def cli_command() -> list[str]:
    """The ``shapeplan`` console script next to this interpreter (not a pyenv shim, which
    would add its own start-up), else the one on PATH, else ``python -m shapeplan.cli``."""
    exe = Path(sys.executable).parent / "shapeplan"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("shapeplan")
    return [found] if found else [sys.executable, "-c", "from shapeplan.cli import main; main()"]


def _wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True)
    el = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.decode()[-500:]}")
    return el


def cold_cli(reps: int) -> list[tuple[str, float]]:
    """Median wall time of each command as a fresh process."""
    cli = cli_command()
    cmds = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ('python -c "import torch"', [sys.executable, "-c", "import torch"]),
        ('python -c "import shapeplan"', [sys.executable, "-c", "import shapeplan"]),
        ("shapeplan check examples/lenet.yaml", [*cli, "check", "examples/lenet.yaml"]),
    ]
    out = []
    for label, cmd in cmds:
        progress(f"cold: {label} x {reps}")
        out.append((label, statistics.median(_wall(cmd) for _ in range(max(1, reps)))))
    return out


def run_child(*args: str) -> dict[str, Any]:
    p = subprocess.run([sys.executable, "-m", "benchmarks.child", *args], cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"benchmarks.child {' '.join(args)}: exit {p.returncode}: {p.stderr[-800:]}")
    result: dict[str, Any] = json.loads(p.stdout.strip().splitlines()[-1])
    return result


def scaling(kinds: list[str], sizes: list[int]) -> dict[tuple[str, int], dict[str, Any]]:
    out = {}
    for kind in kinds:
        for n in sizes:
            progress(f"chain {kind}, {n:,} layers (fresh process)")
            out[(kind, n)] = run_child("chain", kind, str(n))
    return out


@dataclass
class Memory:
    label: str
    layers: int
    rss: int  # peak RSS of `shapeplan check FILE` (bytes), the whole process
    load_peak: int  # tracemalloc peak of load(FILE), warm
    net: int  # the Network it returns
    run_peak: int  # tracemalloc peak of run_check(net) above the Network
    report: int  # the Report it returns


def memory(targets: list[tuple[str, str]]) -> list[Memory]:
    out = []
    for label, path in targets:
        progress(f"memory: shapeplan check {label}")
        r = run_child("memory", path)
        if r["exit"] not in (0, 1, None):
            raise RuntimeError(f"shapeplan check {path}: exit {r['exit']}")
        out.append(Memory(label, r["layers"], r["hwm"], r["load_peak"], r["net"], r["run_peak"], r["report"]))
    return out

"""Measurements that need a fresh process, run as ``python -m benchmarks.child TASK ...`` from
the repository root; each prints one JSON line.

  chain KIND N       load (or from_torch) + check of an N-layer chain: first and warm
  memory PATH        ``shapeplan check PATH`` (the console script's main, table to /dev/null):
                     this process's peak resident set size; then tracemalloc of a (warm)
                     load(PATH) and run_check(net)

The peak RSS is VmHWM from /proc/self/status: ``getrusage``'s ru_maxrss would include the
memory of the (large, torch-importing) benchmark process this one was forked from, since
Linux carries the fork's high-water mark across exec.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import resource
import statistics
import sys
import tracemalloc
from typing import Any

from benchmarks.common import timed


def chain(kind: str, n: int) -> dict[str, Any]:
    import shapeplan
    from shapeplan.analysis.check import run_check

    from .nets import chain_dict, chain_module

    shapeplan.check("examples/lenet.yaml")  # imports, op registry, sympy: paid on another net
    gc.collect()
    gc.freeze()  # what is alive now is never garbage: keep it out of the collections timed below
    if kind.startswith("torch_"):
        import torch

        with torch.device("meta"):
            tiny = torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.ReLU()).eval()
        shapeplan.check(shapeplan.from_torch(tiny, ("N", 8, "H", "W")))
        module = chain_module(n)
        t_load, net = timed(lambda: shapeplan.from_torch(module, ("N", 8, "H", "W")))
    else:
        doc = chain_dict(n, kind)
        t_load, net = timed(lambda: shapeplan.load(doc))
    t_first, rep = timed(lambda: run_check(net))
    warm = [timed(lambda: run_check(net))[0] for _ in range(3 if n <= 1000 else 0)]
    return {"load": t_load, "first": t_first, "warm": statistics.median(warm) if warm else None, "ok": rep.ok,
            "domain": str(rep.domain), "layers": len(rep.layers)}


def vm_hwm() -> int:
    """Peak resident set size of this process in bytes (VmHWM; ru_maxrss where no /proc)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory(path: str) -> dict[str, Any]:
    """``shapeplan check PATH`` through the console script's main (table to /dev/null), then
    the peak RSS of this process so far; then, warm, tracemalloc of the two halves of a check:
    load(PATH) (peak, and the Network it returns) and run_check(net) (peak above the
    Network, and the Report it returns)."""
    import shapeplan
    from shapeplan.analysis.check import run_check
    from shapeplan.cli import main as cli_main

    sys.argv = ["shapeplan", "check", path]
    code: Any = 0
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        try:
            cli_main()
        except SystemExit as e:
            code = e.code
    hwm = vm_hwm()
    gc.collect()
    tracemalloc.start()
    net = shapeplan.load(path)
    load_cur, load_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    rep = run_check(net)
    cur, run_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"exit": code, "hwm": hwm, "load_peak": load_peak, "net": load_cur, "run_peak": run_peak - load_cur,
            "report": cur - load_cur, "ok": rep.ok, "layers": len(rep.layers)}


def main(argv: list[str]) -> None:
    task, *rest = argv
    if task == "chain":
        out = chain(rest[0], int(rest[1]))
    elif task == "memory":
        out = memory(rest[0])
    else:
        raise SystemExit(f"unknown task {task!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])

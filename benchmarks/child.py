"""Measurements that need a fresh process, run as ``python -m benchmarks.child TASK ...`` from
the repository root; each prints one JSON line.

  chain KIND N       load (or from_torch) + check of an N-layer chain: first and warm
  tracemalloc PATH   peak Python heap (tracemalloc) of shapeplan.check(PATH), after import
"""

from __future__ import annotations

import gc
import json
import resource
import statistics
import sys
import time
import tracemalloc
from typing import Any


def _t(fn: Any) -> tuple[float, Any]:
    gc.collect()
    gc.disable()
    try:
        t = time.perf_counter()
        out = fn()
        return time.perf_counter() - t, out
    finally:
        gc.enable()


def chain(kind: str, n: int) -> dict[str, Any]:
    import shapeplan
    from shapeplan.check import run_check

    from .nets import chain_dict, chain_module

    shapeplan.check("examples/lenet.yaml")  # imports, op registry, sympy: paid on another net
    if kind.startswith("torch_"):
        import torch

        with torch.device("meta"):
            tiny = torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.ReLU()).eval()
        shapeplan.check(shapeplan.from_torch(tiny, ("N", 8, "H", "W")))
        module = chain_module(n)
        t_load, net = _t(lambda: shapeplan.from_torch(module, ("N", 8, "H", "W")))
    else:
        doc = chain_dict(n, kind)
        t_load, net = _t(lambda: shapeplan.load(doc))
    t_first, rep = _t(lambda: run_check(net))
    warm = [_t(lambda: run_check(net))[0] for _ in range(3 if n <= 1000 else 1)]
    return {"load": t_load, "first": t_first, "warm": statistics.median(warm), "ok": rep.ok,
            "domain": str(rep.domain), "layers": len(rep.layers)}


def trace_memory(path: str) -> dict[str, Any]:
    import shapeplan

    shapeplan.check("examples/lenet.yaml")  # imports and one-time tables are not the check's
    gc.collect()
    tracemalloc.start()
    rep = shapeplan.check(path)
    cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"peak": peak, "cur": cur, "ok": rep.ok, "layers": len(rep.layers),
            "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def main(argv: list[str]) -> None:
    task, *rest = argv
    if task == "chain":
        out = chain(rest[0], int(rest[1]))
    elif task == "tracemalloc":
        out = trace_memory(rest[0])
    else:
        raise SystemExit(f"unknown task {task!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])

"""Timing, formatting and machine description shared by the benchmark sections.

Timing follows ``timeit``'s convention for every tool alike: a full ``gc.collect()`` before
each timed call and the cyclic garbage collector off during it (a gen-2 collection over
torch's and sympy's ~200,000 live objects costs ~0.3 s on the reference machine and would
otherwise land at random in whichever call triggers it).
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

SCAN_SIDE = 256  # "sizes needed to match": H, W in 1..SCAN_SIDE
SCAN_SIZES = SCAN_SIDE * SCAN_SIDE


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds for one call of ``fn`` (gc collected before, disabled during), and its value."""
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        t = time.perf_counter()
        out = fn()
        return time.perf_counter() - t, out
    finally:
        if was:
            gc.enable()


def median_time(fn: Callable[[], Any], reps: int) -> float:
    """Median seconds of ``reps`` calls of ``fn`` (at least one)."""
    return statistics.median(timed(fn)[0] for _ in range(max(1, reps)))


def fmt_s(s: float | None) -> str:
    """A duration with a sensible unit: ``812 us``, ``17.9 ms``, ``2.31 s``, ``9.1 min``."""
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} us"
    if s < 1:
        return f"{s * 1e3:.1f} ms" if s < 0.1 else f"{s * 1e3:.0f} ms"
    if s < 600:
        return f"{s:.2f} s" if s < 10 else f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def fmt_x(r: float | None) -> str:
    """A ratio: ``x0.42``, ``x3.1``, ``x150``, ``x12,000``."""
    if r is None:
        return "-"
    if r < 10:
        return f"x{r:.2g}" if r < 1 else f"x{r:.1f}"
    return f"x{r:,.0f}"


def fmt_mib(b: float | None) -> str:
    """Bytes as ``812 KiB`` or ``45.9 MiB``."""
    if b is None:
        return "-"
    return f"{b / 2**10:.0f} KiB" if abs(b) < 2**20 else f"{b / 2**20:.1f} MiB"


def progress(msg: str) -> None:
    """One line of progress (the tables come at the end)."""
    print(f"  .. {msg}", flush=True)


@dataclass
class Table:
    """A Markdown table, printed at the end of the run."""

    title: str
    headers: Sequence[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([str(c) for c in cells])

    def render(self) -> str:
        widths = [len(h) for h in self.headers]
        for r in self.rows:
            widths = [max(w, len(c)) for w, c in zip(widths, r)]

        def line(cells: Sequence[str]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

        out = [f"### {self.title}", "", line(self.headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        out += [line(r) for r in self.rows]
        if self.notes:
            out.append("")
            out += self.notes
        return "\n".join(out)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, str]:
    """What the numbers were measured on (versions, CPU, load)."""
    import sympy

    info = {
        "cpu": _cpu_model(),
        "cores": f"{os.cpu_count()} (usable {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'})",
        "os": platform.platform(),
        "python": platform.python_version(),
        "sympy": sympy.__version__,
    }
    try:
        import torch

        info["torch"] = str(torch.__version__)
        info["torch threads"] = str(torch.get_num_threads())
    except ImportError:
        info["torch"] = "not installed"
    try:
        import torchinfo

        info["torchinfo"] = getattr(torchinfo, "__version__", "installed")
    except ImportError:
        info["torchinfo"] = "not installed (optional)"
    if hasattr(os, "getloadavg"):
        info["load average (1, 5, 15 min)"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return info

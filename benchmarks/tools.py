"""In-process measurements on one torch network: shapeplan (from_torch, check, the domain
solver, Domain.contains) and the one-size tools it is compared with (torch.export with
dynamic N, H, W; torch.fx ShapeProp; a meta-device forward; torchinfo.summary).

Every torch tool runs on the meta device, the same model instance shapeplan imports, with an
input of batch 2 (torch.export specialises sizes 0 and 1, so its example input needs N >= 2).
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from .common import SCAN_SIDE, median_time, progress, timed
from .nets import TorchNet, input_shape


@dataclass
class ExportResult:
    key: str  # "named" or "auto"
    label: str
    seconds: float
    ok: bool
    answer: str  # the range constraints, or why it failed
    admitted: int | None = None  # (H, W) in 1..SCAN_SIDE admitted by the range constraints


@dataclass
class NetResult:
    net: TorchNet
    layers: int = 0
    domain: str = ""
    e2e_first: float = 0.0
    from_torch: float = 0.0
    check: float = 0.0
    e2e: float = 0.0
    propagate: float = 0.0
    analyse: float = 0.0
    contains_point: float = 0.0  # calls/s, every symbol given (N, H, W)
    contains_hw: float = 0.0  # calls/s, H and W given (N: "some N")
    valid: int = 0  # valid (H, W) in 1..SCAN_SIDE (exact, from the domain)
    exports: list[ExportResult] = field(default_factory=list)
    shapeprop: float | None = None
    meta: float | None = None
    torchinfo: float | None = None
    torchinfo_note: str = ""
    scan_per_size: float | None = None  # mean seconds of a meta forward over the sampled (H, W)
    scan_samples: int = 0
    scan_ok: int = 0
    scan_mismatch: list[tuple[int, int]] = field(default_factory=list)


def warm_up() -> None:
    """One-time costs (imports, shapeplan's function table, torch.export's first-use imports)
    paid on a tiny model, so that no benchmarked network carries them."""
    import torch
    from torch import nn

    import shapeplan

    with torch.device("meta"):
        tiny = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten()).eval()
    shapeplan.check(shapeplan.from_torch(tiny, ("N", 1, "H", "W")))
    x = torch.empty(2, 1, 8, 8, device="meta")
    with torch.no_grad():
        tiny(x)
    torch.export.export(tiny, (x,), dynamic_shapes=({0: torch.export.Dim.AUTO},))


# --------------------------------------------------------------------------- shapeplan


def measure_shapeplan(r: NetResult, model: Any, reps: int) -> Any:
    import shapeplan
    from shapeplan.analysis.analyse import analyse
    from shapeplan.analysis.propagate import propagate

    shape = input_shape(r.net)
    r.e2e_first, rep = timed(lambda: shapeplan.check(shapeplan.from_torch(model, shape)))
    if not rep.ok:
        raise AssertionError(f"{r.net.label}: shapeplan.check failed: {[str(d) for d in rep.diagnostics]}")
    r.layers = len(rep.layers)
    r.domain = str(rep.domain)
    r.from_torch = median_time(lambda: shapeplan.from_torch(model, shape), reps)
    net = shapeplan.from_torch(model, shape)
    r.check = median_time(lambda: shapeplan.check(net), reps)
    r.e2e = median_time(lambda: shapeplan.check(shapeplan.from_torch(model, shape)), reps)
    prop = propagate(net)
    r.propagate = median_time(lambda: propagate(net), reps)
    r.analyse = median_time(lambda: analyse(net, prop), reps)
    return rep


def measure_contains(r: NetResult, domain: Any, budget_s: float) -> None:
    """Domain.contains throughput, and the exact number of valid (H, W) in 1..SCAN_SIDE."""
    rng = random.Random(0)
    pts = [(rng.randint(1, 64), rng.randint(1, SCAN_SIDE), rng.randint(1, SCAN_SIDE)) for _ in range(4096)]
    calls = 0
    t0 = time.perf_counter()
    while True:
        n, h, w = pts[calls % len(pts)]
        domain.contains(N=n, H=h, W=w)
        calls += 1
        el = time.perf_counter() - t0
        if el >= budget_s or calls >= 200_000:
            break
    r.contains_point = calls / el
    t, valid = timed(lambda: sum(domain.contains(H=h, W=w)
                                 for h in range(1, SCAN_SIDE + 1) for w in range(1, SCAN_SIDE + 1)))
    r.valid = valid
    r.contains_hw = SCAN_SIDE * SCAN_SIDE / t


# --------------------------------------------------------------------------- torch tools


def _example(r: NetResult, device: str = "meta") -> Any:
    import torch

    return torch.empty(2, r.net.in_channels, r.net.size, r.net.size, device=device)


_DIM = {"0": "N", "2": "H", "3": "W"}


def _tidy_guard(text: str) -> str:
    text = re.sub(r"L\['x'\]\.size\(\)\[(\d)\]", lambda m: _DIM.get(m.group(1), m.group(0)), text)
    text = re.sub(r"\((-\d+)\) \+ ", r"\1 + ", text.replace("IntInfinity()", "oo"))
    return " ".join(text.split())


def _export_failure(e: Exception) -> str:
    msg = str(e)
    guards = re.findall(r"satisfy the generated guard (.*?)\.?\n", msg + "\n")
    fixes = re.findall(r"^\s+(\w+ = Dim\(.*?\))\s*$", msg, flags=re.M)
    if not guards:
        return f"fails: {type(e).__name__}: {' '.join(msg.split())[:160]}"
    out = f"fails: {len(guards)} guard(s) violated, e.g. `{_tidy_guard(guards[0])}`"
    if fixes:
        out += f"; torch suggests `{', '.join(fixes)}`"
    return out


def _ranges(ep: Any) -> tuple[str, int | None]:
    """The exported program's range constraints per input dim, and how many (H, W) in
    1..SCAN_SIDE they admit."""
    user = list(ep.graph_signature.user_inputs)[:1]
    ph = [n for n in ep.graph.nodes if n.op == "placeholder" and n.name in user]
    if not ph:
        return str(dict(ep.range_constraints)), None
    shape = ph[0].meta["val"].shape
    parts, admitted = [], 1
    for i, d in enumerate(shape):
        if i == 1:
            continue
        name = _DIM[str(i)]
        node = getattr(d, "node", None)
        if node is None:
            parts.append(f"{name} = {int(d)}")
            if name != "N":
                admitted *= 1 if 1 <= int(d) <= SCAN_SIDE else 0
            continue
        vr = ep.range_constraints.get(node.expr)
        lo = int(vr.lower) if vr is not None else 1
        hi_raw = vr.upper if vr is not None else None
        hi = None if hi_raw is None or str(hi_raw) in ("int_oo", "oo") else int(hi_raw)
        parts.append(f"{name} >= {lo}" if hi is None else f"{name} in [{lo}, {hi}]")
        if name != "N":
            top = SCAN_SIDE if hi is None else min(hi, SCAN_SIDE)
            admitted *= max(0, top - lo + 1)
    return ", ".join(parts), admitted


def measure_export(r: NetResult, model: Any, variants: list[str]) -> None:
    import torch
    from torch.export import Dim

    x = _example(r)
    dyn_of = {
        "named": {0: Dim("N"), 2: Dim("H"), 3: Dim("W")},
        "auto": {0: Dim.AUTO, 2: Dim.AUTO, 3: Dim.AUTO},
    }
    labels = {"named": "Dim('N'), Dim('H'), Dim('W')", "auto": "Dim.AUTO"}
    for v in variants:
        progress(f"{r.net.label}: torch.export.export, {labels[v]}")

        def run(v: str = v) -> Any:
            try:
                return torch.export.export(model, (x,), dynamic_shapes=(dyn_of[v],))
            except Exception as e:  # noqa: BLE001 - the failure is the result
                return e

        t, ep = timed(run)
        if isinstance(ep, Exception):
            r.exports.append(ExportResult(v, labels[v], t, False, _export_failure(ep)))
        else:
            text, admitted = _ranges(ep)
            r.exports.append(ExportResult(v, labels[v], t, True, text, admitted))


def measure_one_size(r: NetResult, model: Any, reps: int) -> None:
    """ShapeProp, a meta forward and torchinfo.summary, each at the one size [2, C, S, S]."""
    import torch
    import torch.fx
    from torch.fx.passes.shape_prop import ShapeProp

    x = _example(r)

    def shapeprop() -> Any:
        gm = torch.fx.symbolic_trace(model)
        with torch.no_grad():
            return ShapeProp(gm).propagate(x)

    def forward() -> Any:
        with torch.no_grad():
            return model(x)

    progress(f"{r.net.label}: ShapeProp, meta forward, torchinfo at {tuple(x.shape)}")
    shapeprop()
    r.shapeprop = median_time(shapeprop, reps)
    forward()
    r.meta = median_time(forward, reps)
    try:
        import torchinfo
    except ImportError:
        r.torchinfo_note = "not installed"
        return

    def summary() -> Any:
        return torchinfo.summary(model, input_size=tuple(x.shape), device="meta", verbose=0)

    try:
        stats = summary()
    except Exception as e:  # noqa: BLE001 - report, do not die
        r.torchinfo_note = f"fails: {type(e).__name__}"
        return
    if stats.total_params != sum(p.numel() for p in model.parameters()):
        r.torchinfo_note = f"total_params {stats.total_params:,}?"
    r.torchinfo = median_time(summary, reps)


def measure_scan(r: NetResult, model: Any, domain: Any, samples: int) -> None:
    """A meta forward at ``samples`` random (H, W) in 1..SCAN_SIDE (batch 2): the mean cost of
    one size, what a scan of every size would cost, and a cross-check of each answer
    against shapeplan's domain."""
    import torch

    rng = random.Random(1)
    pts = [(rng.randint(1, SCAN_SIDE), rng.randint(1, SCAN_SIDE)) for _ in range(samples)]
    total = 0.0
    for h, w in pts:
        x = torch.empty(2, r.net.in_channels, h, w, device="meta")

        def fwd(x: Any = x) -> bool:
            try:
                with torch.no_grad():
                    model(x)
            except Exception:  # noqa: BLE001 - an invalid size raises RuntimeError, ValueError, ...
                return False
            return True

        t, ok = timed(fwd)
        total += t
        r.scan_ok += ok
        if ok != domain.contains(N=2, H=h, W=w):
            r.scan_mismatch.append((h, w))
    r.scan_samples = len(pts)
    r.scan_per_size = total / max(1, len(pts))

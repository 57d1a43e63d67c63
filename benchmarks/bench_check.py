"""Benchmarks for ``shapeplan check``: one command, ``python benchmarks/bench_check.py``.

Prints timings and RATIOS measured in the same run (nothing is asserted about time):

  1. in-process ``shapeplan.check`` of a ResNet-50 (torchvision's structure, Bottleneck
     blocks, written with ``blocks:``/``repeat:``) with N, H, W free: first run and warm
     (shapeplan caches sympy work, so the first call in a process pays for that);
  2. the same network as an nn.Module: ``torch.export.export`` with dynamic N, H, W, and a
     meta-device forward pass at one size, each as a ratio to the warm shapeplan check;
  3. cold CLI: ``shapeplan check examples/lenet.yaml`` as a subprocess vs
     ``python -c "import torch"``;
  4. scaling: chains of 100 / 1,000 / 10,000 layers checked symbolically, time per layer;
  5. peak Python memory (tracemalloc) of a check of ResNet-50.

Options: ``--quick`` (fewer repetitions, chains up to 1,000), ``--profile`` (cProfile of a first
check of a 3,000-layer chain of unpadded convs, the slowest case; top functions).
The whole run takes about 1-2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import io
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# --------------------------------------------------------------------------- networks

# torchvision.models.resnet50(): layers [3, 4, 6, 3], Bottleneck(expansion 4), stride on the
# 3x3 conv (ResNet v1.5), downsample = 1x1 conv (stride) + bn on the first block of each stage.
RESNET50_LAYERS = (3, 4, 6, 3)
RESNET50_PARAMS = 25_557_032  # sum(p.numel() for p in torchvision.models.resnet50().parameters())


def _bottleneck(down: bool) -> dict[str, Any]:
    layers: list[dict[str, Any]] = [
        {"name": "conv1", "op": "Conv2d", "in_channels": "inplanes", "out_channels": "planes",
         "kernel_size": 1, "bias": False},
        {"name": "bn1", "op": "BatchNorm2d", "num_features": "planes"},
        {"name": "relu", "op": "ReLU", "inplace": True},
        {"name": "conv2", "op": "Conv2d", "in_channels": "planes", "out_channels": "planes",
         "kernel_size": 3, "stride": "stride" if down else 1, "padding": 1, "bias": False},
        {"name": "bn2", "op": "BatchNorm2d", "num_features": "planes"},
        {"name": "relu_1", "op": "ReLU", "inplace": True},
        {"name": "conv3", "op": "Conv2d", "in_channels": "planes", "out_channels": "planes * 4",
         "kernel_size": 1, "bias": False},
        {"name": "bn3", "op": "BatchNorm2d", "num_features": "planes * 4"},
    ]
    if down:
        layers += [
            {"name": "downsample.0", "op": "Conv2d", "in_channels": "inplanes", "out_channels": "planes * 4",
             "kernel_size": 1, "stride": "stride", "bias": False, "from": "x"},
            {"name": "downsample.1", "op": "BatchNorm2d", "num_features": "planes * 4"},
            {"name": "add", "op": "add", "from": ["bn3", "downsample.1"]},
        ]
    else:
        layers.append({"name": "add", "op": "add", "from": ["bn3", "x"]})
    layers.append({"name": "relu_2", "op": "ReLU", "inplace": True})
    params: dict[str, Any] = {"inplanes": None, "planes": None}
    if down:
        params["stride"] = 1
    return {"params": params, "layers": layers}


def resnet50_dict() -> dict[str, Any]:
    layers: list[dict[str, Any]] = [
        {"name": "conv1", "op": "Conv2d", "in_channels": 3, "out_channels": 64, "kernel_size": 7,
         "stride": 2, "padding": 3, "bias": False},
        {"name": "bn1", "op": "BatchNorm2d", "num_features": 64},
        {"name": "relu", "op": "ReLU", "inplace": True},
        {"name": "maxpool", "op": "MaxPool2d", "kernel_size": 3, "stride": 2, "padding": 1},
    ]
    inplanes = 64
    for stage, (n, planes) in enumerate(zip(RESNET50_LAYERS, (64, 128, 256, 512)), start=1):
        stride = 1 if stage == 1 else 2
        layers.append({"name": f"layer{stage}.0", "block": "bottleneck_down", "inplanes": inplanes,
                       "planes": planes, "stride": stride})
        inplanes = planes * 4
        # blocks 1..n-1: written out one by one to keep torchvision's names (layer1.1, ...);
        # resnet50_repeat_dict() is the same network with `repeat:`.
        for i in range(1, n):
            layers.append({"name": f"layer{stage}.{i}", "block": "bottleneck", "inplanes": inplanes,
                           "planes": planes})
    layers += [
        {"name": "avgpool", "op": "AdaptiveAvgPool2d", "output_size": [1, 1]},
        {"name": "flatten", "op": "Flatten"},
        {"name": "fc", "op": "Linear", "in_features": 2048, "out_features": 1000},
    ]
    return {
        "name": "ResNet50",
        "input": ["N", 3, "H", "W"],
        "blocks": {"bottleneck": _bottleneck(False), "bottleneck_down": _bottleneck(True)},
        "layers": layers,
    }


def resnet50_repeat_dict() -> dict[str, Any]:
    """The same network with ``repeat:`` for the identity blocks (names layerK.rest.0, ...)."""
    d = resnet50_dict()
    layers: list[dict[str, Any]] = []
    for lay in d["layers"]:
        name = lay.get("name", "")
        if lay.get("block") == "bottleneck":
            stage, idx = name.split(".")
            if idx != "1":
                continue
            n = RESNET50_LAYERS[int(stage[-1]) - 1] - 1
            layers.append({**lay, "name": f"{stage}.rest", "repeat": n})
        else:
            layers.append(lay)
    d["layers"] = layers
    return d


def chain_dict(n_layers: int, kind: str) -> dict[str, Any]:
    """A chain of n_layers layers.

    kind "conv_pad1": Conv2d(8, 8, 3, padding=1) / ReLU alternating (H, W unchanged);
    kind "conv_pad0": the same with padding=0, so every conv shrinks H and W by 2 and the
        domain condition grows (H >= 2k + 1): tests expression growth;
    kind "linear": Linear(16, 16) / ReLU alternating on [N, 16].
    """
    pair: list[dict[str, Any]]
    if kind == "linear":
        pair = [{"op": "Linear", "in_features": 16, "out_features": 16}, {"op": "ReLU"}]
        inp: list[Any] = ["N", 16]
    else:
        pad = 1 if kind == "conv_pad1" else 0
        pair = [{"op": "Conv2d", "in_channels": 8, "out_channels": 8, "kernel_size": 3, "padding": pad},
                {"op": "ReLU"}]
        inp = ["N", 8, "H", "W"]
    layers = [dict(pair[i % 2]) for i in range(n_layers)]
    return {"name": f"Chain_{kind}_{n_layers}", "input": inp, "layers": layers}


def resnet50_module() -> Any:
    import torch
    from torch import nn

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes * 4)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            return self.relu(out + identity)

    class ResNet50(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inplanes = 64
            self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
            self.layer1 = self._make_layer(64, 3)
            self.layer2 = self._make_layer(128, 4, stride=2)
            self.layer3 = self._make_layer(256, 6, stride=2)
            self.layer4 = self._make_layer(512, 3, stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(2048, 1000)

        def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
            down = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride=stride, bias=False),
                                 nn.BatchNorm2d(planes * 4))
            layers = [Bottleneck(self.inplanes, planes, stride, down)]
            self.inplanes = planes * 4
            layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
            return nn.Sequential(*layers)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet50()


# --------------------------------------------------------------------------- timing helpers


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def median_time(fn: Callable[[], Any], reps: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(reps):
        gc.collect()
        times.append(timed(fn)[0])
    return statistics.median(times), times


def ms(s: float) -> str:
    return f"{s * 1e3:10.1f} ms"


ROWS: list[tuple[str, str, str]] = []


def row(what: str, value: str, note: str = "") -> None:
    ROWS.append((what, value, note))
    print(f"  {what:<52} {value:>14}  {note}", flush=True)


def section(title: str) -> None:
    print(f"\n== {title}", flush=True)


# --------------------------------------------------------------------------- benchmarks


def bench_resnet50(reps: int) -> float:
    import shapeplan
    from shapeplan.check import run_check

    section("1. shapeplan.check, ResNet-50 (N, H, W free)")
    d = resnet50_dict()
    t_first, rep = timed(lambda: shapeplan.check(d))
    assert rep.ok, [str(x) for x in rep.diagnostics]
    n_layers = len(rep.layers)
    params = rep.total_params
    row("first check in this process (load + check)", ms(t_first), "includes sympy warm-up")
    warm, times = median_time(lambda: shapeplan.check(d), reps)
    row(f"warm check, median of {reps} (load + check)", ms(warm),
        f"min {min(times) * 1e3:.1f}, max {max(times) * 1e3:.1f} ms")
    t_load, _ = median_time(lambda: shapeplan.load(d), reps)
    net = shapeplan.load(d)
    t_run, _ = median_time(lambda: run_check(net), reps)
    row("  of which load (dict -> Network, block expansion)", ms(t_load))
    row("  of which run_check (propagation + domain)", ms(t_run))
    row("layers / per layer (warm)", f"{n_layers:>7} / {warm / n_layers * 1e6:.0f} us")
    d2 = resnet50_repeat_dict()
    rep2 = shapeplan.check(d2)
    t_rep, _ = median_time(lambda: shapeplan.check(d2), reps)
    row(f"same net written with repeat:, warm median of {reps}", ms(t_rep), f"{len(rep2.layers)} layers")
    print(f"  output {shapeplan.dims.fmt(rep.shapes['fc'][0])}x{rep.shapes['fc'][1]}, "
          f"params {params:,} (torchvision: {RESNET50_PARAMS:,}), domain: {rep.domain}")
    print(f"  avgpool input: {tuple(shapeplan.dims.fmt(x) for x in rep.shapes['layer4.2.relu_2'])}")
    return warm


def bench_torch(warm: float, reps: int) -> None:
    import torch
    from torch.export import Dim

    section("2. the same ResNet-50 as an nn.Module, in torch " + torch.__version__)
    model = resnet50_module().eval()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"  nn.Module params: {n_params:,}")
    x = torch.randn(2, 3, 224, 224)

    def export(dynamic: Any) -> Any:
        with torch.no_grad():
            return torch.export.export(model, (x,), dynamic_shapes={"x": dynamic})

    variants = [
        ("named Dim (N, H, W)", {0: Dim("N"), 2: Dim("H"), 3: Dim("W")}),
        ("named Dim, H, W min=33", {0: Dim("N"), 2: Dim("H", min=33), 3: Dim("W", min=33)}),
        ("Dim.AUTO (N, H, W)", {0: Dim.AUTO, 2: Dim.AUTO, 3: Dim.AUTO}),
    ]
    for label, dyn in variants:
        try:
            t_exp, ep = timed(functools.partial(export, dyn))
        except Exception as e:  # noqa: BLE001 - report, do not die
            msg = " ".join(str(e).split())
            row(f"torch.export.export, {label}", "FAILED", f"{type(e).__name__}: {msg[:420]}")
            continue
        t_exp2, _ = timed(functools.partial(export, dyn))
        row(f"torch.export.export, {label}, 1st", ms(t_exp), f"ratio export/shapeplan-warm {t_exp / warm:,.0f}x")
        row(f"torch.export.export, {label}, 2nd", ms(t_exp2), f"ratio {t_exp2 / warm:,.0f}x")
        rc = ep.range_constraints
        syms = ", ".join(f"{k}: {v}" for k, v in rc.items())
        print(f"    range constraints: {syms}"[:400])
        try:
            out_node = [n for n in ep.graph.nodes if n.op == "output"][0]
            print(f"    output shape: {out_node.args[0][0].meta['val'].shape}")
        except Exception:  # noqa: BLE001
            pass

    meta_model = resnet50_module().to("meta").eval()
    xm = torch.empty(2, 3, 224, 224, device="meta")

    def fwd() -> Any:
        with torch.no_grad():
            return meta_model(xm)

    fwd()
    t_meta, _ = median_time(fwd, reps)
    row(f"meta-device forward [2,3,224,224], median of {reps}", ms(t_meta),
        f"ratio shapeplan-warm/meta {warm / t_meta:.1f}x (one size vs all sizes)")
    xc = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        model(xc)
        t_cpu, _ = median_time(lambda: model(xc), 3)
    row("real CPU forward [1,3,224,224], median of 3", ms(t_cpu), f"ratio shapeplan-warm/cpu {warm / t_cpu:.2f}x")


def bench_cli(reps: int) -> None:
    section(f"3. cold CLI, subprocess wall time, median of {reps}")
    exe = Path(sys.executable).parent / "shapeplan"
    cli = [str(exe)] if exe.exists() else [shutil.which("shapeplan") or "shapeplan"]
    env = dict(os.environ)
    cmds = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("python -c 'import torch'", [sys.executable, "-c", "import torch"]),
        ("python -c 'import sympy'", [sys.executable, "-c", "import sympy"]),
        ("python -c 'import shapeplan'", [sys.executable, "-c", "import shapeplan"]),
        ("shapeplan check examples/lenet.yaml", [*cli, "check", "examples/lenet.yaml"]),
        ("shapeplan check examples/resnet18.yaml", [*cli, "check", "examples/resnet18.yaml"]),
    ]
    res: dict[str, float] = {}
    for label, cmd in cmds:
        def run(label: str = label, cmd: list[str] = cmd) -> None:
            p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True)
            if p.returncode != 0:
                raise RuntimeError(f"{label}: rc {p.returncode}: {p.stderr.decode()[-500:]}")
        run()  # warm the OS file cache
        res[label], _ = median_time(run, reps)
    base = res["python -c 'import torch'"]
    for label, t in res.items():
        row(label, ms(t), f"{t / base:.2f}x import torch")
    print(f"  (CLI run as {cli[0]}, the console script, not through a pyenv shim)")


SCALING_CHILD = r"""
import gc, json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import bench_check as b, shapeplan
from shapeplan.check import run_check
shapeplan.check("examples/lenet.yaml")  # global warm-up (imports, registry, sympy) on another net
n, kind = int(sys.argv[2]), sys.argv[3]
d = b.chain_dict(n, kind)
t = time.perf_counter(); net = shapeplan.load(d); t_load = time.perf_counter() - t
t = time.perf_counter(); rep = run_check(net); t_first = time.perf_counter() - t
warm = []
for _ in range(3 if n <= 1000 else 1):
    gc.collect()
    t = time.perf_counter(); run_check(net); warm.append(time.perf_counter() - t)
print(json.dumps({"load": t_load, "first": t_first, "warm": statistics.median(warm),
                  "ok": rep.ok, "domain": str(rep.domain)}))
"""


def bench_scaling(sizes: tuple[int, ...], kinds: tuple[str, ...]) -> dict[tuple[str, int], dict[str, Any]]:
    section("4. scaling: chains checked symbolically, each in a fresh process")
    print("  first = run_check on a net whose expressions this process has not seen (sympy caches cold\n"
          "  for them; the process is warmed up on lenet first); warm = run_check again on the same net.")
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for kind in kinds:
        for n in sizes:
            p = subprocess.run([sys.executable, "-c", SCALING_CHILD, str(Path(__file__).parent), str(n), kind],
                               cwd=ROOT, capture_output=True, text=True)
            if p.returncode != 0:
                row(f"{kind} {n}", "FAILED", p.stderr[-300:])
                continue
            r = json.loads(p.stdout.strip().splitlines()[-1])
            out[(kind, n)] = r
            row(f"{kind:<9} {n:>6} layers: load {r['load'] * 1e3:7.1f} ms, first check", ms(r["first"]),
                f"{r['first'] / n * 1e6:6.0f} us/layer first, {r['warm'] / n * 1e6:5.0f} us/layer warm, "
                f"load {r['load'] / n * 1e6:3.0f} us/layer  ({r['domain'][:40]})")
        if (kind, sizes[0]) in out and (kind, sizes[-1]) in out:
            a, z = out[(kind, sizes[0])], out[(kind, sizes[-1])]
            f = (z["first"] / sizes[-1]) / (a["first"] / sizes[0])
            w = (z["warm"] / sizes[-1]) / (a["warm"] / sizes[0])
            row(f"{kind}: per-layer cost, {sizes[-1]} vs {sizes[0]} layers", f"{f:.2f}x first",
                f"{w:.2f}x warm   (1.00x = linear)")
    return out


MEMORY_CHILD = r"""
import json, sys, tracemalloc
sys.path.insert(0, sys.argv[1])
import bench_check as b, shapeplan
tracemalloc.start()
rep = shapeplan.check(b.resnet50_dict())
cur, peak = tracemalloc.get_traced_memory()
print(json.dumps({"peak": peak, "cur": cur, "ok": rep.ok}))
"""


def bench_memory() -> None:
    import shapeplan

    section("5. peak memory (tracemalloc), ResNet-50 check")
    p = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(Path(__file__).parent)], cwd=ROOT,
                       capture_output=True, text=True)
    if p.returncode == 0:
        r = json.loads(p.stdout.strip().splitlines()[-1])
        row("peak, first check in a fresh process (after import)", f"{r['peak'] / 2**20:10.2f} MiB",
            f"still allocated after: {r['cur'] / 2**20:.2f} MiB (report + sympy/shapeplan caches)")
    else:
        row("peak, first check in a fresh process", "FAILED", p.stderr[-300:])
    d = resnet50_dict()
    shapeplan.check(d)  # warm caches first: measure the check itself
    gc.collect()
    tracemalloc.start()
    rep = shapeplan.check(d)
    cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    row("peak, warm check (load + check)", f"{peak / 2**20:10.2f} MiB",
        f"still allocated after: {cur / 2**20:.2f} MiB (the report), {len(rep.layers)} layers")


def profile_chain(n: int, kind: str) -> None:
    import shapeplan
    from shapeplan.check import run_check

    section(f"profile: {kind} chain of {n} layers, first check in this process (load + run_check)")
    d = chain_dict(n, kind)
    pr = cProfile.Profile()
    pr.enable()
    run_check(shapeplan.load(d))
    pr.disable()
    for key in ("cumulative", "tottime"):
        s = io.StringIO()
        pstats.Stats(pr, stream=s).strip_dirs().sort_stats(key).print_stats(18)
        print("\n".join(line for line in s.getvalue().splitlines() if line.strip())[:4000])


def machine() -> str:
    import sympy
    try:
        import torch
        tv = str(torch.__version__)
    except ImportError:
        tv = "none"
    return (f"{platform.machine()}, {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), "
            f"{platform.platform()}, Python {platform.python_version()}, torch {tv}, sympy {sympy.__version__}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, chains up to 1,000 layers")
    ap.add_argument("--profile", action="store_true", help="cProfile a first check of a 3,000-layer conv_pad0 chain")
    ap.add_argument("--skip-torch", action="store_true", help="skip section 2 (torch.export / meta)")
    args = ap.parse_args()
    reps = 3 if args.quick else 7
    t0 = time.perf_counter()
    print("shapeplan benchmarks:", machine())
    warm = bench_resnet50(reps)  # first: the first-run number is only meaningful here
    if not args.skip_torch:
        bench_torch(warm, reps)
    bench_cli(3 if args.quick else 5)
    sizes = (100, 1000) if args.quick else (100, 1000, 10_000)
    bench_scaling(sizes, ("conv_pad1", "linear", "conv_pad0"))
    bench_memory()
    if args.profile:
        profile_chain(3000, "conv_pad0")
    print(f"\ntotal benchmark time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()

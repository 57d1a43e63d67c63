"""shapeplan's benchmark suite: ``python benchmarks/run.py`` (or ``python -m benchmarks``).

Prints Markdown tables of times and RATIOS measured in the same run (nothing is asserted
about time; only that every network checks OK and that shapeplan's domain agrees with the
forward passes it is compared with):

  A. shapeplan (from_torch + check, symbolic N, H, W: every size at once) against one-size
     tools on LeNet, ResNet-50, DenseNet-121 and an HRNet-W32-style net at full width (meta
     device): torch.export.export with dynamic N, H, W, torch.fx ShapeProp, a meta-device
     forward, torchinfo.summary (when installed);
  B. what each answers, and how many one-size forwards shapeplan's one check is worth
     ("sizes needed to match": a scan of H, W in 1..256);
  C. the domain solver alone (propagate, analyse) and Domain.contains throughput;
  D. cold CLI start: ``shapeplan check examples/lenet.yaml`` vs ``python -c "import torch"``;
  E. scaling: chains of 100 / 1,000 / 10,000 layers, time per layer;
  F. peak memory of ``shapeplan check`` on ResNet-50 and the longest chain.

``--quick`` takes about a minute; the default run about 3 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: python benchmarks/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import procs  # noqa: E402
from benchmarks.common import SCAN_SIDE, SCAN_SIZES, Table, fmt_mib, fmt_s, fmt_x, machine, progress  # noqa: E402
from benchmarks.nets import CHAIN_KINDS, TORCH_NETS, build_meta, chain_dict, input_shape  # noqa: E402

SECTIONS = ("torch", "solver", "cli", "scaling", "memory")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python benchmarks/run.py", description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="fewer repetitions and samples, chains up to 1,000 layers, export with Dim.AUTO only")
    ap.add_argument("--nets", default=",".join(TORCH_NETS), help=f"comma-separated, from: {', '.join(TORCH_NETS)}")
    ap.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, from: {', '.join(SECTIONS)}")
    ap.add_argument("--reps", type=int, help="repetitions per in-process timing (median; default 5, quick 2)")
    ap.add_argument("--cli-reps", type=int, help="runs per cold-start command (median; default 5, quick 2)")
    ap.add_argument("--scan", type=int, help="random sizes per net for the meta-forward scan "
                                             "(default 8, 32 for LeNet; quick 3, 8 for LeNet)")
    ap.add_argument("--chains", help="chain lengths (default 100,1000,10000; quick 100,1000)")
    ap.add_argument("--chain-kinds", default=",".join(CHAIN_KINDS), help=f"from: {', '.join(CHAIN_KINDS)}")
    ap.add_argument("--export", choices=("both", "auto", "named", "none"),
                    help="torch.export variants: named Dims and/or Dim.AUTO (default both; quick auto)")
    ap.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = ap.parse_args(argv)
    q = args.quick
    args.reps = args.reps or (2 if q else 5)
    args.cli_reps = args.cli_reps or (2 if q else 5)
    args.chains = [int(x) for x in (args.chains or ("100,1000" if q else "100,1000,10000")).split(",")]
    args.export = args.export or ("auto" if q else "both")
    args.nets = _pick(args.nets, TORCH_NETS, "--nets")
    args.sections = _pick(args.sections, SECTIONS, "--sections")
    args.chain_kinds = _pick(args.chain_kinds, CHAIN_KINDS, "--chain-kinds")
    return args


def _pick(text: str, allowed: Any, what: str) -> list[str]:
    out = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in out if x not in allowed]
    if bad:
        raise SystemExit(f"{what}: unknown {', '.join(bad)}; choose from {', '.join(allowed)}")
    return out


# --------------------------------------------------------------------------- sections


def run_nets(args: argparse.Namespace) -> list[Any]:
    from benchmarks import tools

    progress("warm-up (imports, first-use costs) on a tiny model")
    tools.warm_up()
    gc.collect()
    gc.freeze()  # torch's and sympy's ~200,000 objects: out of every gc.collect() that timed() makes
    variants = {"both": ["named", "auto"], "auto": ["auto"], "named": ["named"], "none": []}[args.export]
    results = []
    for key in args.nets:
        net = TORCH_NETS[key]
        progress(f"{net.label}: from_torch + check (first, then median of {args.reps})")
        model = build_meta(net)
        r = tools.NetResult(net)
        rep = tools.measure_shapeplan(r, model, args.reps)
        tools.measure_contains(r, rep.domain, budget_s=0.2 if args.quick else 0.5)
        if "torch" in args.sections:
            tools.measure_export(r, model, variants)
            tools.measure_one_size(r, model, min(args.reps, 3))
            samples = args.scan or ((8 if args.quick else 32) if key == "lenet" else (3 if args.quick else 8))
            progress(f"{net.label}: meta forward at {samples} random (H, W) in 1..{SCAN_SIDE}")
            tools.measure_scan(r, model, rep.domain, samples)
        results.append(r)
    gc.unfreeze()
    return results


def _cell(t: float | None, ref: float, note: str = "") -> str:
    if t is None:
        return note or "-"
    return f"{fmt_s(t)} ({fmt_x(t / ref)})" + (f" {note}" if note else "")


def nets_tables(results: list[Any], args: argparse.Namespace) -> list[Table]:
    a = Table("A. One network: shapeplan (every N, H, W at once) vs tools that answer for one size",
              ["network", "layers", "shapeplan check", "from_torch + check", "first in process",
               "torch.export, named Dims", "torch.export, Dim.AUTO", "fx ShapeProp", "meta forward", "torchinfo"])
    b = Table("B. What each answers, and the sizes needed to match",
              ["network", "shapeplan domain (exact)", f"valid (H, W) in 1..{SCAN_SIDE}",
               "torch.export, named Dims", "torch.export, Dim.AUTO", f"admitted by its ranges in 1..{SCAN_SIDE}",
               "meta forward, per size", "break-even sizes", f"meta scan of {SCAN_SIDE}x{SCAN_SIDE} (est.)",
               "forwards agree with domain"])
    c = Table("C. The domain solver alone (warm, median) and Domain.contains throughput",
              ["network", "layers", "propagate", "analyse (domain)", "check (both + report)",
               "contains(N=, H=, W=)", "contains(H=, W=)"])
    for r in results:
        ref = r.e2e
        ex = {e.key: e for e in r.exports}
        named, auto = ex.get("named"), ex.get("auto")
        a.add(r.net.label, r.layers, fmt_s(r.check), f"{fmt_s(r.e2e)} (x1)", fmt_s(r.e2e_first),
              _cell(named.seconds if named else None, ref, "" if named is None or named.ok else "failed"),
              _cell(auto.seconds if auto else None, ref, "" if auto is None or auto.ok else "failed"),
              _cell(r.shapeprop, ref), _cell(r.meta, ref), _cell(r.torchinfo, ref, r.torchinfo_note))
        if r.scan_per_size:
            scan = r.scan_per_size * SCAN_SIZES
            per, even = fmt_s(r.scan_per_size), f"{r.e2e / r.scan_per_size:.2g}"
            scan_txt = f"{fmt_s(scan)} ({fmt_x(scan / ref)})"
            agree = f"{r.scan_samples - len(r.scan_mismatch)}/{r.scan_samples} ({r.scan_ok} valid)"
        else:
            per = even = scan_txt = agree = "-"
        b.add(r.net.label, f"`{r.domain}`", f"{r.valid:,}",
              named.answer if named else "-",
              auto.answer if auto else "-",
              f"{auto.admitted:,}" if auto and auto.admitted is not None else "-",
              per, even, scan_txt, agree)
        c.add(r.net.label, r.layers, fmt_s(r.propagate), fmt_s(r.analyse), fmt_s(r.check),
              f"{r.contains_point:,.0f}/s", f"{r.contains_hw:,.0f}/s")
    a.notes = [
        f"Times: warm median of {args.reps} (first in process: the first from_torch + check of that network, sympy "
        "caches cold for its expressions; one-time imports paid on a tiny model before). (xR) = time / "
        "shapeplan's warm from_torch + check. torch.export: one run each (seconds per call). Every torch "
        "tool runs on the meta device at [2, C, S, S] (S = 32 for LeNet, 224 otherwise) and answers for that "
        "one size (export: for the range it reports).",
    ]
    b.notes = [
        f"valid (H, W): counted with Domain.contains over 1..{SCAN_SIDE} squared (exact). admitted: the (H, W) "
        "that torch.export's range constraints allow; sizes inside the range that the model does not support "
        "are rejected only when the exported program is called (runtime guards). meta forward per size: mean "
        f"over random (H, W) in 1..{SCAN_SIDE}, valid and invalid alike (batch 2); break-even: how many such "
        "forwards cost as much as one shapeplan from_torch + check; scan (est.): per size x "
        f"{SCAN_SIZES:,}, and (xR) against shapeplan. agree: sampled sizes where the forward's success "
        "equals Domain.contains(N=2, H, W).",
    ]
    return [a, b, c]


def cli_table(rows: list[tuple[str, float]]) -> Table:
    t = Table("D. Cold start, wall time of a fresh process (median)",
              ["command", "median", 'vs python -c "import torch"'])
    base = dict(rows).get('python -c "import torch"')
    for label, s in rows:
        t.add(f"`{label}`", fmt_s(s), fmt_x(s / base) if base else "-")
    t.notes = [f"The CLI is run as `{' '.join(procs.cli_command())}`."]
    return t


def scaling_table(res: dict[tuple[str, int], dict[str, Any]], kinds: list[str], sizes: list[int]) -> Table:
    t = Table("E. Scaling: chains checked symbolically, each size in a fresh process",
              ["chain", "layers", "load / from_torch", "per layer", "check, first", "per layer",
               "check, warm", "per layer", f"per-layer vs {sizes[0]:,} (first / warm)", "domain"])
    for kind in kinds:
        base = res.get((kind, sizes[0]))
        for n in sizes:
            r = res[(kind, n)]
            rel = "-"
            if base and n != sizes[0]:
                f = (r["first"] / n) / (base["first"] / sizes[0])
                w = None if r["warm"] is None else (r["warm"] / n) / (base["warm"] / sizes[0])
                rel = f"{fmt_x(f)} / {fmt_x(w)}"
            warm = r["warm"]
            t.add(kind, f"{n:,}", fmt_s(r["load"]), fmt_s(r["load"] / n), fmt_s(r["first"]), fmt_s(r["first"] / n),
                  fmt_s(warm), fmt_s(None if warm is None else warm / n), rel, f"`{r['domain']}`")
    t.notes = ["Chains: " + "; ".join(f"{k}: {CHAIN_KINDS[k]}" for k in kinds) + ". first = the first check of "
               "that net in its process (after a warm-up on examples/lenet.yaml); warm = again (median of 3; "
               "not repeated above 1,000 layers). x1.0 per layer = linear."]
    return t


def memory_targets(args: argparse.Namespace, tmp: Path) -> list[tuple[str, str]]:
    targets = [("LeNet (examples/lenet.yaml)", "examples/lenet.yaml")]
    if "resnet50" in args.nets:
        import shapeplan

        net = TORCH_NETS["resnet50"]
        path = tmp / "resnet50.yaml"
        path.write_text(shapeplan.to_yaml(shapeplan.from_torch(build_meta(net), input_shape(net))))
        targets.append(("ResNet-50 (from_torch -> to_yaml)", str(path)))
    n = max(args.chains)
    path = tmp / f"chain_conv_pad1_{n}.yaml"
    path.write_text(json.dumps(chain_dict(n, "conv_pad1")))  # JSON is YAML
    targets.append((f"chain conv_pad1, {n:,} layers", str(path)))
    return targets


def memory_table(rows: list[procs.Memory]) -> Table:
    t = Table("F. Peak memory of `shapeplan check FILE`",
              ["file", "layers", "peak RSS, whole CLI process", "RSS over LeNet", "tracemalloc: load(FILE) peak",
               "the Network", "run_check peak", "the Report"])
    base = rows[0].rss if rows else 0
    for m in rows:
        t.add(m.label, f"{m.layers:,}", fmt_mib(m.rss), fmt_mib(m.rss - base), fmt_mib(m.load_peak), fmt_mib(m.net),
              fmt_mib(m.run_peak), fmt_mib(m.report))
    t.notes = ["peak RSS: VmHWM of a fresh process running the CLI's main for `shapeplan check FILE` (table to "
               "/dev/null): interpreter, imports, load, check, table. Then, in the same process (warm: imports and "
               "this file's sympy work cached), tracemalloc of the two halves of a check: load(FILE) (its peak "
               "includes read_text's MAX_BYTES + 1 = 4 MiB read buffer, freed at once) and run_check(net) "
               "(propagation + domain; peak above the loaded Network), and what each returns."]
    return t


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    t0 = time.perf_counter()
    info = machine()
    print("shapeplan benchmarks: python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:]))
    for k, v in info.items():
        print(f"  {k}: {v}")
    tables: list[Table] = []
    out: dict[str, Any] = {"machine": info, "args": {k: v for k, v in vars(args).items() if k != "json"}}
    took: dict[str, float] = {}
    lap = time.perf_counter()

    def done(section: str) -> None:
        nonlocal lap
        now = time.perf_counter()
        took[section] = now - lap
        lap = now

    if args.nets and ("torch" in args.sections or "solver" in args.sections):
        results = run_nets(args)
        ta, tb, tc = nets_tables(results, args)
        tables += [ta, tb] if "torch" in args.sections else []
        tables += [tc] if "solver" in args.sections else []
        out["nets"] = [{k: v for k, v in vars(r).items() if k != "net"} | {"net": r.net.key} for r in results]
        for r in out["nets"]:
            r["exports"] = [vars(e) for e in r["exports"]]
        done("networks")
    if "cli" in args.sections:
        rows = procs.cold_cli(args.cli_reps)
        tables.append(cli_table(rows))
        out["cli"] = rows
        done("cli")
    if "scaling" in args.sections:
        res = procs.scaling(args.chain_kinds, args.chains)
        tables.append(scaling_table(res, args.chain_kinds, args.chains))
        out["scaling"] = [{"kind": k, "layers": n, **v} for (k, n), v in res.items()]
        done("scaling")
    if "memory" in args.sections:
        with tempfile.TemporaryDirectory() as tmp:
            mem = procs.memory(memory_targets(args, Path(tmp)))
        tables.append(memory_table(mem))
        out["memory"] = [vars(m) for m in mem]
        done("memory")
    out["seconds"] = time.perf_counter() - t0
    print()
    for t in tables:
        print(t.render(), end="\n\n")
    print(f"total benchmark time {out['seconds']:.0f} s ("
          + ", ".join(f"{k} {v:.0f} s" for k, v in took.items()) + ")", flush=True)
    out["section_seconds"] = took
    out["tables"] = [t.render() for t in tables]
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))
    return out


if __name__ == "__main__":
    main()

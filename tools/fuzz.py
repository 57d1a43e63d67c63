"""Long-run differential fuzzer: random networks, shapeplan vs torch.

    python tools/fuzz.py --seed S --cases N [--jobs J] [--out DIR] [--minutes M]

Case i of seed S is ``generate(Random(f"{S}:{i}"))`` (tests/netgen.py), so every case is
reproducible from its seed and index.  Prints the counts (cases, layers and sizes
compared, valid/invalid agreements, disagreements: every difference from torch is one).  A
disagreement is shrunk (fewer layers, simpler arguments, one size) and written as a
regression file to DIR (default tests/regressions/), which tests/test_fuzz_networks.py
loads and compares with torch.  Exit status 1 when any disagreement was found.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (str(ROOT), str(ROOT / "tests")):
    if _p not in sys.path:
        sys.path.insert(0, _p)


def _init() -> None:
    import torch

    torch.set_num_threads(1)  # tiny tensors: threads only add overhead (and see ops/conv.py)


def run_case(args: tuple[str, int]) -> dict[str, Any]:
    """One case: its counts and, when it disagrees, the shrunk case."""
    import netgen

    seed, i = args
    rng = random.Random(f"{seed}:{i}")
    spec = netgen.generate(rng)
    try:
        out = netgen.compare(spec, rng)
    except Exception as e:  # noqa: BLE001 - a crash of the checker or the harness is a finding too
        return {"i": i, "crash": f"{type(e).__name__}: {e}", "spec": spec, "trace": traceback.format_exc()}
    res: dict[str, Any] = {"i": i, "loaded": out.loaded, "sizes": out.sizes, "layers": out.layers,
                           "valid": out.valid, "invalid": out.invalid}
    if out.disagreements:
        first = out.disagreements[0]
        small, env = netgen.shrink(spec, dict(first["env"]), netgen.disagrees)
        again = netgen.compare(small, envs=[env])
        res["disagreement"] = {"original": spec, "first": first, "shrunk": small, "env": env,
                               "shrunk_says": again.disagreements[:1]}
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", default="0", help="seed (any string)")
    ap.add_argument("--cases", type=int, default=1000, help="number of cases")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "regressions", help="where shrunk cases go")
    ap.add_argument("--minutes", type=float, default=None, help="stop after this long")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    a = ap.parse_args(argv)

    import netgen

    _init()
    totals: Counter = Counter()
    found: list[Path] = []
    t0 = time.perf_counter()
    deadline = t0 + 60 * a.minutes if a.minutes else None
    work = ((a.seed, i) for i in range(a.cases))
    pool = mp.Pool(a.jobs, initializer=_init) if a.jobs > 1 else None
    results = pool.imap_unordered(run_case, work, chunksize=8) if pool else map(run_case, work)
    try:
        for res in results:
            totals["cases"] += 1
            if "crash" in res:
                totals["crashes"] += 1
                print(f"CRASH in case {a.seed}:{res['i']}: {res['crash']}\n  {res['spec']}\n{res['trace']}",
                      file=sys.stderr)
                continue
            for k in ("loaded", "sizes", "layers", "valid", "invalid"):
                totals[k] += res[k]
            if "disagreement" in res:
                totals["disagreements"] += 1
                d = res["disagreement"]
                a.out.mkdir(parents=True, exist_ok=True)
                path = a.out / f"fuzz_{a.seed}_{res['i']}.yaml"
                note = (f"found by tools/fuzz.py --seed {a.seed}, case {res['i']}: {d['first']}\n"
                        f"shrunk: {d['shrunk_says']}")
                path.write_text(netgen.to_yaml(d["shrunk"], d["env"], note))
                found.append(path)
                print(f"DISAGREEMENT in case {a.seed}:{res['i']} -> {path}\n  {d['first']}", file=sys.stderr)
            if not a.quiet and totals["cases"] % 1000 == 0:
                el = time.perf_counter() - t0
                print(f"... {totals['cases']} cases, {el:.0f} s, {totals['cases'] / el:.1f} cases/s", flush=True)
            if deadline and time.perf_counter() > deadline:
                break
    finally:
        if pool:
            pool.terminate()
    el = time.perf_counter() - t0
    print(f"seed {a.seed}: {totals['cases']} cases in {el:.1f} s ({totals['cases'] / max(el, 1e-9):.1f} cases/s, "
          f"{a.jobs} job(s))")
    print(f"  networks loaded: {totals['loaded']} (the rest refused for their arguments)")
    print(f"  sizes compared: {totals['sizes']}; layer shapes compared: {totals['layers']}")
    print(f"  agreement: valid at {totals['valid']} sizes, invalid at {totals['invalid']} sizes")
    print(f"  disagreements: {totals['disagreements']}; crashes: {totals['crashes']}")
    for p in found:
        print(f"  regression file: {p}")
    return 1 if totals["disagreements"] or totals["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())

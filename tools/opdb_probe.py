"""torch's own test inputs through shapeplan: the sample inputs and error inputs of torch's
OpInfo database (``op_db``) and module database (``module_db``), each as a model whose forward
makes the call, imported with ``from_torch`` and checked; compared with torch's CPU answer.

    python tools/opdb_probe.py [--ops NAME,...] [--symbolic | --modules | --yaml] [-v] [--reasons]

Prints, per op, the samples compared, agreed, disagreed and the ones shapeplan cannot
follow (no rule, an argument it does not model); every disagreement with its call.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from opdb import (  # noqa: E402
    compare_module_samples,
    compare_op_samples,
    compare_op_samples_yaml,
    module_infos,
    op_infos,
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", default="", help="only these OpInfo / module names (comma separated)")
    ap.add_argument("--symbolic", action="store_true", help="sizes as symbols (checked at the sample's sizes)")
    ap.add_argument("--modules", action="store_true", help="module_db instead of op_db")
    ap.add_argument("--yaml", action="store_true", help="the samples as one-layer net.yaml files (load / check)")
    ap.add_argument("-v", action="store_true", help="print every disagreement")
    ap.add_argument("--reasons", action="store_true", help="why samples were unsupported, most frequent first")
    args = ap.parse_args()
    only = {s for s in args.ops.split(",") if s}
    infos = module_infos() if args.modules else op_infos()
    totals = {"compared": 0, "agreed": 0, "disagreed": 0, "unsupported": 0}
    reasons: dict[str, int] = {}
    for info in infos:
        name = info.name if not args.modules else info.module_cls.__name__
        if only and name not in only:
            continue
        if args.yaml:
            out = compare_op_samples_yaml(info)
        else:
            run = compare_module_samples if args.modules else compare_op_samples
            out = run(info, symbolic=args.symbolic)
        for k in totals:
            totals[k] += getattr(out, k)
        if out.compared or out.disagreements:
            print(f"{name:40s} compared {out.compared:4d} agreed {out.agreed:4d} disagreed {out.disagreed:3d} "
                  f"unsupported {out.unsupported:3d}", flush=True)
        for why, n in out.reasons.items():
            reasons[f"{name}: {why}"] = reasons.get(f"{name}: {why}", 0) + n
        for d in out.disagreements[: None if args.v else 2]:
            print("   ", d, flush=True)
    if args.reasons:
        for why, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
            print(f"{n:5d}  {why}")
    print(totals)
    return 1 if totals["disagreed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())

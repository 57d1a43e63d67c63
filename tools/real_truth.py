"""Compute the truth of the real-model corpus: torch's eval-mode forward on the CPU.

    python tools/real_truth.py [--only ID ...] [--family F ...] [--force] [--timeout S] [--budget S]

For every entry of tests/realmodels/corpus.py and each of its sizes: does
``model.eval()(x)`` under ``torch.no_grad()`` run, and if so the shapes of every output tensor
(tuples, lists and dicts flattened into (path, shape)); if not, the exception type and the first
line of its message.  Results go to tests/realmodels/truth.json, with the versions of the
packages each entry depends on; an entry whose cached spec and versions match the installed
ones is not recomputed (unless --force).  One thread, one process: run it pinned to one core
(``taskset -c 1``).  Network access is refused while models are built; nothing is downloaded.

A forward that takes longer than --timeout seconds is recorded as skipped (the test ignores it),
and so are the remaining sizes of an entry once its forwards took --budget seconds in all.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.realmodels import truth  # noqa: E402
from tests.realmodels.corpus import CORPUS, Entry, offline, size_key  # noqa: E402


class _Timeout(BaseException):
    """A forward ran past the per-forward limit."""


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout


def forward(model: Any, entry: Entry, size: dict[str, int], timeout: float) -> dict[str, Any]:
    """torch's verdict at one size: outputs, or the error; ``skipped`` past the time limit."""
    import torch

    x = torch.randn(entry.concrete(size), generator=torch.Generator().manual_seed(0))
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with torch.no_grad():
            out = model(x)
    except _Timeout:
        return {"skipped": f"forward slower than {timeout:g} s"}
    except Exception as e:  # noqa: BLE001 - any exception means "does not run"
        lines = str(e).strip().splitlines()
        return {"ok": False, "error": type(e).__name__, "message": lines[0][:400] if lines else ""}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return {"ok": True, "outputs": [[k, list(s)] for k, s in truth.flatten_outputs(out)]}


def compute(entry: Entry, timeout: float, budget: float) -> dict[str, Any]:
    """The truth record of one entry (every size)."""
    model = None if entry.lazy else entry.build()
    results: dict[str, Any] = {}
    spent = 0.0
    for size in entry.sizes:
        key = size_key(size)
        if spent > budget:
            results[key] = {"skipped": f"the entry's forwards took over {budget:g} s"}
            continue
        m = entry.build() if entry.lazy else model  # a Lazy model is shaped by its first forward
        t0 = time.perf_counter()
        with offline():
            results[key] = forward(m, entry, dict(size), timeout)
        spent += time.perf_counter() - t0
    return {"family": entry.family, "spec": entry.spec, "input_shape": list(entry.input_shape),
            "forward_seconds": round(spent, 2), "sizes": results}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=[], help="entry ids (default: all)")
    ap.add_argument("--family", nargs="*", default=[], help="families (torchvision, timm, smp, ...)")
    ap.add_argument("--force", action="store_true", help="recompute even where the cache is up to date")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds allowed for one forward")
    ap.add_argument("--budget", type=float, default=120.0, help="seconds of forwards allowed for one entry")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    signal.signal(signal.SIGALRM, _alarm)
    versions = truth.installed_versions()
    data = truth.load()
    old = data.get("entries", {})
    unknown = [i for i in a.only if i not in {e.id for e in CORPUS}]
    if unknown:
        ap.error(f"unknown entry ids: {unknown}")
    entries: dict[str, Any] = {}
    start = time.perf_counter()
    for e in CORPUS:
        chosen = (not a.only or e.id in a.only) and (not a.family or e.family in a.family)
        if not chosen or (not a.force and truth.stale(e, old.get(e.id), versions) is None):
            if e.id in old:
                entries[e.id] = old[e.id]
            continue
        t0 = time.perf_counter()
        try:
            rec = compute(e, a.timeout, a.budget)
        except Exception as ex:  # noqa: BLE001 - a constructor that fails here is a corpus bug: say so
            print(f"{e.id}: cannot build: {type(ex).__name__}: {ex}", file=sys.stderr, flush=True)
            continue
        rec["versions"] = truth.entry_versions(e, versions)
        entries[e.id] = rec
        ok = sum(1 for r in rec["sizes"].values() if r.get("ok"))
        skipped = sum(1 for r in rec["sizes"].values() if "skipped" in r)
        print(f"{e.id}: {ok}/{len(rec['sizes'])} sizes run, {skipped} skipped, "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        data = {"about": "torch eval-mode CPU forward of every corpus entry at every size (tools/real_truth.py)",
                "versions": versions, "entries": {x.id: entries[x.id] if x.id in entries else old[x.id]
                                                  for x in CORPUS if x.id in entries or x.id in old}}
        truth.save(data)  # after every entry: an interrupted run keeps what it computed
    print(f"total {time.perf_counter() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Sweep the real-model corpus with today's front end and say, per model, what happens.

    python tools/real_sweep.py [--only ID ...] [--family F ...] [-o REPORT.md] [--json OUT.json]

For every entry of tests/realmodels/corpus.py: build the model, ``from_torch``, ``check``, and
compare with the cached torch truth (tests/realmodels/truth.json), as the test does.  Each
entry is one of: exact; imported but disagrees (which sizes, which answers); failed to import
(the error's first lines and its cause: an fx TraceError on control flow with the user's line,
an unsupported function / module / method, a Lazy module, ...).  The report groups the
failures by cause, most common first, and times ``from_torch`` + ``check`` per model.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.realmodels import truth  # noqa: E402
from tests.realmodels.corpus import CORPUS, Entry  # noqa: E402


@dataclass
class Outcome:
    """What happened to one entry."""

    id: str
    family: str
    result: str  # exact | disagrees | import-failed | check-failed | build-failed | no-truth | timeout
    cause: str = ""  # the primary cause category (failures)
    causes: list[str] = field(default_factory=list)  # every distinct cause (several diagnostics)
    detail: list[str] = field(default_factory=list)  # first lines of the error / the disagreements
    where: str = ""  # the user's line (fx trace failures)
    build_s: float = 0.0
    import_s: float = 0.0
    check_s: float = 0.0
    compare_s: float = 0.0
    sizes: int = 0
    bad_sizes: int = 0
    layers: int = 0


class _Timeout(BaseException):
    """The entry took too long."""


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout


# ------------------------------------------------------------------------------- causes


def _user_frame(tb: Any, internal: bool = False) -> str:
    """The innermost frame of the traceback outside torch (the model's own line), or with
    ``internal`` the innermost frame inside shapeplan (where an internal error happened)."""
    import torch

    torch_dir = str(Path(torch.__file__).parent)
    frames: list[traceback.FrameSummary] = list(traceback.extract_tb(tb))
    if internal:
        frames = [f for f in frames if "/shapeplan/" in f.filename]
    else:
        frames = [f for f in frames if not f.filename.startswith(torch_dir)
                  and "/shapeplan/" not in f.filename and "real_sweep" not in f.filename]
    if not frames:
        return ""
    f = frames[-1]
    path = re.sub(r".*/(site-packages|wt/\w+)/", "", f.filename)
    return f"{path}:{f.lineno}: {(f.line or '').strip()}"


def _source_line(file: str, line: int | None) -> str:
    """``file:line: the source line`` of a diagnostic's location."""
    import linecache

    text = linecache.getline(file, line).strip() if line else ""
    return f"{re.sub(r'.*/site-packages/', '', file)}:{line}: {text}"


def trace_cause(model: Any) -> tuple[str, str, list[str]]:
    """Re-run shapeplan's fx trace to see why it fails: (category, user line, first lines)."""
    from shapeplan.frontends.torch import importer

    tracer = getattr(importer, "_symbolic_trace", None)
    try:
        if tracer is not None:
            tracer(model, {})
        else:  # the front end changed: fall back to plain fx
            import torch.fx as fx

            fx.symbolic_trace(model)
    except Exception as e:  # noqa: BLE001 - the trace's own error is what we want to see
        where = _user_frame(e.__traceback__)
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        code = where.split(": ", 1)[1] if ": " in where else ""
        kind = type(e).__name__
        if "uninitialized parameter" in msg.lower() or "UninitializedParameter" in msg or "Lazy" in msg:
            cat = "Lazy module (uninitialised parameters)"
        elif "cannot be used as inputs to control flow" in msg:
            if code.startswith("assert"):
                cat = "fx TraceError: `assert` on a traced value"
            elif code.startswith(("if ", "elif ")) or " if " in code:
                cat = "fx TraceError: `if` on a traced value"
            elif re.search(r"\b(max|min)\(", code):
                cat = "fx TraceError: max()/min() of traced sizes"
            else:
                cat = "fx TraceError: bool() of a traced value (control flow)"
        elif "cannot be iterated" in msg:
            if "*args" in code or "*kwargs" in code:
                cat = "fx TraceError: forward(x, *args) - the varargs are a Proxy, unpacked"
            else:
                cat = "fx TraceError: iterating a traced value (`for s in x.shape`, unpacking)"
        elif "cannot be interpreted as an integer" in msg or "object cannot be interpreted" in msg:
            cat = "fx: a traced value used as a Python int (range(), list size, ...)"
        elif kind == "TraceError":
            cat = f"fx TraceError: {msg[:80]}"
        else:
            cat = f"fx trace raised {kind}: {msg[:80]}"
        return cat, where, [f"{kind}: {msg}"[:300]]
    return "trace succeeds when re-run (state-dependent)", "", []


_PATTERNS = (
    (r"no shape rule for module '[^']*' \(([^)]*)\)", "unsupported module {}"),
    (r"no shape rule for function (\S+)", "unsupported function {}"),
    (r"no shape rule for the tensor method (\S+)", "unsupported tensor method {}"),
    (r"the tensor attribute (\.\w+)", "unsupported tensor attribute {}"),
    (r"method (\.\w+\(\)) on a (\w+), not a tensor", "method {} on a non-tensor"),
)


def diag_cause(code: str, message: str) -> str:
    """A diagnostic's cause category: its code and the named module / function, without node names."""
    msg = re.sub(r"^node '[^']*': ", "", message)
    for pat, fmt in _PATTERNS:
        m = re.search(pat, msg)
        if m:
            return fmt.format(m.group(1))
    msg = re.sub(r"'[^']*'", "'…'", msg)
    msg = re.sub(r"\b[\w.]+\.\d+[\w.]*", "…", msg)  # layer names like layer1.0.conv1
    return f"{code}: {msg[:90]}"


# ------------------------------------------------------------------------------- one entry


def sweep_one(entry: Entry, record: dict[str, Any] | None, versions: dict[str, str | None]) -> Outcome:
    """Build, import, check and compare one entry."""
    import shapeplan
    from shapeplan.core.errors import InputError

    o = Outcome(entry.id, entry.family, "exact")
    why = truth.stale(entry, record, versions)
    if why is not None or record is None:
        o.result, o.cause, o.detail = "no-truth", "no usable cached truth", [why or ""]
        return o
    t = time.perf_counter()
    try:
        model = entry.build()
    except Exception as e:  # noqa: BLE001
        o.result, o.cause, o.detail = "build-failed", f"build raised {type(e).__name__}", [str(e)[:300]]
        return o
    o.build_s = time.perf_counter() - t
    t = time.perf_counter()
    try:
        net = shapeplan.from_torch(model, entry.input_shape)
    except InputError as e:
        o.import_s = time.perf_counter() - t
        o.result = "import-failed"
        if e.code == "trace":
            o.cause, o.where, o.detail = trace_cause(entry.build() if entry.lazy else model)
            o.causes = [o.cause]
            o.detail.append(f"from_torch: {str(e).splitlines()[0]}"[:400])
        else:
            errors = [d for d in (getattr(e, "diagnostics", None) or []) if d.severity == "error"]
            if not errors:
                o.cause = diag_cause(e.code, str(e))
                o.causes, o.detail = [o.cause], [str(e)[:300]]
            else:
                o.causes = list(dict.fromkeys(diag_cause(d.code, d.message) for d in errors))
                o.cause = o.causes[0]
                o.detail = [f"{d.code}: {d.message}"[:300] for d in errors[:4]]
                loc = getattr(errors[0], "location", None)
                if loc is not None and getattr(loc, "file", None):
                    o.where = _source_line(str(loc.file), getattr(loc, "line", None))
        return o
    except Exception as e:  # noqa: BLE001 - an internal error of the importer: its own category
        o.import_s = time.perf_counter() - t
        o.result, o.cause = "import-failed", f"from_torch raised {type(e).__name__} (internal error)"
        o.causes, o.detail = [o.cause], [f"{type(e).__name__}: {e}"[:300]]
        o.where = _user_frame(e.__traceback__, internal=True)
        return o
    o.import_s = time.perf_counter() - t
    o.layers = len(net.layers)
    t = time.perf_counter()
    try:
        rep = shapeplan.check(net)
    except Exception as e:  # noqa: BLE001
        o.check_s = time.perf_counter() - t
        o.result, o.cause, o.detail = "check-failed", f"check raised {type(e).__name__}", [str(e)[:300]]
        return o
    o.check_s = time.perf_counter() - t
    t = time.perf_counter()
    bad = truth.disagreements(rep, record["sizes"])
    o.compare_s = time.perf_counter() - t
    o.sizes = sum(1 for r in record["sizes"].values() if "skipped" not in r)
    o.bad_sizes = len(bad)
    if bad:
        o.result = "disagrees"
        kinds = []
        if any("shapeplan says valid, torch raises" in b for b in bad):
            kinds.append("domain too large (valid where torch raises)")
        if any("shapeplan says invalid, torch runs" in b for b in bad):
            kinds.append("domain too small (invalid where torch runs)")
        if any("outputs" in b for b in bad):
            kinds.append("output shapes differ")
        o.causes = kinds
        o.cause = "disagrees: " + "; ".join(kinds)
        errs = [f"{d.code}: {d.message}" for d in rep.errors][:3]
        o.detail = [f"domain: {str(rep.domain)[:300]}", *bad[:6], *(f"check error {x}"[:300] for x in errs)]
    return o


# ------------------------------------------------------------------------------- the report


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def report(outcomes: list[Outcome], total_s: float) -> str:
    """The sweep as markdown."""
    counts = Counter(o.result for o in outcomes)
    lines = ["# Real-model sweep: today's front end against torch", "",
             f"{len(outcomes)} models; " + ", ".join(f"{k}: {v}" for k, v in counts.most_common()) + ".",
             f"Sweep time {total_s:.0f} s (build + from_torch + check + compare, one core).", ""]
    imp = [o.import_s + o.check_s for o in outcomes if o.result in ("exact", "disagrees")]
    if imp:
        lines.append(f"from_torch + check of the {len(imp)} imported models: {sum(imp):.1f} s in all, "
                     f"max {max(imp):.1f} s.")
    lines.append(f"build (construct the models): {sum(o.build_s for o in outcomes):.1f} s; from_torch attempts "
                 f"(all): {sum(o.import_s for o in outcomes):.1f} s; check: {sum(o.check_s for o in outcomes):.1f} s.")
    lines += ["", "## Failures by primary cause (most common first)", "",
              "| count | cause | an example line | models |", "|---|---|---|---|"]
    by_cause: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        if o.result != "exact":
            by_cause[o.cause].append(o)
    for cause, os_ in sorted(by_cause.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        where = next((o.where for o in os_ if o.where), "")
        lines.append(f"| {len(os_)} | {_cell(cause)} | {'`' + _cell(where) + '`' if where else ''} | "
                     f"{', '.join(o.id for o in os_)} |")
    every: dict[str, list[str]] = defaultdict(list)
    for o in outcomes:
        for c in o.causes:
            every[c].append(o.id)
    lines += ["", "## Every cause met (a model may have several; counts are models)", "",
              "| count | cause | models |", "|---|---|---|"]
    for cause, ids in sorted(every.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines.append(f"| {len(ids)} | {_cell(cause)} | {', '.join(ids)} |")
    lines += ["", "## Where each failure starts (the model's line, or shapeplan's for internal errors)", "",
              "| model | cause | line |", "|---|---|---|"]
    for o in outcomes:
        if o.where:
            lines.append(f"| {o.id} | {_cell(o.cause)} | `{_cell(o.where)}` |")
    lines += ["", "## Per model", "",
              "| model | family | result | layers | from_torch s | check s | build s | cause |",
              "|---|---|---|---|---|---|---|---|"]
    for o in outcomes:
        res = o.result if o.result != "disagrees" else f"disagrees at {o.bad_sizes}/{o.sizes}"
        lines.append(f"| {o.id} | {o.family} | {res} | {o.layers or ''} | {o.import_s:.2f} | {o.check_s:.2f} | "
                     f"{o.build_s:.2f} | {_cell(o.cause)} |")
    lines += ["", "## Details", ""]
    for o in outcomes:
        if o.result == "exact":
            continue
        lines.append(f"### {o.id} ({o.result})")
        lines.append("")
        lines.append(f"cause: {o.cause}" + (f"  \nwhere: `{o.where}`" if o.where else ""))
        lines.append("")
        lines.append("```")
        lines += [d[:400] for d in o.detail]
        lines += ["```", ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=[])
    ap.add_argument("--family", nargs="*", default=[])
    ap.add_argument("-o", "--out", default="-", help="markdown report (default: stdout)")
    ap.add_argument("--json", default=None, help="also write the outcomes as JSON")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds allowed for one entry")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    signal.signal(signal.SIGALRM, _alarm)
    data = truth.load()
    versions = truth.installed_versions()
    outcomes: list[Outcome] = []
    start = time.perf_counter()
    for e in CORPUS:
        if (a.only and e.id not in a.only) or (a.family and e.family not in a.family):
            continue
        signal.setitimer(signal.ITIMER_REAL, a.timeout)
        t = time.perf_counter()
        try:
            o = sweep_one(e, data["entries"].get(e.id), versions)
        except _Timeout:
            o = Outcome(e.id, e.family, "timeout", cause=f"took over {a.timeout:g} s", import_s=a.timeout)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        outcomes.append(o)
        print(f"{e.id}: {o.result} {o.cause} ({time.perf_counter() - t:.1f} s)", file=sys.stderr, flush=True)
    text = report(outcomes, time.perf_counter() - start)
    if a.out == "-":
        sys.stdout.write(text)
    else:
        Path(a.out).write_text(text)
    if a.json:
        Path(a.json).write_text(json.dumps([asdict(o) for o in outcomes], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Validation: build the module, run real forward passes, compare with the prediction.

For each input size (chosen from the domain when not given: the smallest valid size, the
edges of every interval, the next valid size of a periodic set, a large valid size, and
sizes just outside the domain, where torch must raise), the module emitted by
:func:`shapeplan.emit` is built on ``device`` (``meta`` by default) and run in eval mode.
Every layer's real output shape is compared with the predicted one, and "torch raised"
with "outside the domain".

Whether torch accepts a size is always the CPU's answer: the meta device skips checks that
the CPU kernels make (a ConvTranspose's output_padding >= stride, a bilinear resize to an
empty output run on meta) and makes some they do not (a reflect pad leaving one padded dim
empty raises on meta only).  So on any other device each size also runs on the CPU (weights
allocated but not initialised, zeroed): the shapes come from ``device`` where both ran, the
verdict from the CPU, and a device that decides otherwise gets a note.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..analysis.report import Report
from ..core.dims import Shape, evaluate, fmt_shape
from ..core.ir import Network
from .emit import solved_report


@dataclass(frozen=True)
class Mismatch:
    layer: str
    predicted: tuple[int, ...] | None
    actual: tuple[int, ...] | None

    def __str__(self) -> str:
        p = "?" if self.predicted is None else fmt_shape(self.predicted)
        a = "not run" if self.actual is None else fmt_shape(self.actual)
        return f"{self.layer}: predicted {p}, torch gives {a}"


@dataclass
class SizeResult:
    """One forward pass: the sizes, what shapeplan predicted, what torch did (``ran`` and
    ``error``: on the CPU); ``device_note``: where the requested device decided otherwise."""

    sizes: dict[str, int]
    predicted_valid: bool
    ran: bool
    error: str | None = None
    mismatches: list[Mismatch] = field(default_factory=list)
    device_note: str | None = None

    @property
    def agree(self) -> bool:
        return self.predicted_valid == self.ran and not self.mismatches

    def to_json(self) -> dict[str, Any]:
        return {
            "sizes": self.sizes, "predicted_valid": self.predicted_valid, "torch_ran": self.ran,
            "agree": self.agree, "error": self.error,
            "mismatches": [{"layer": m.layer, "predicted": m.predicted, "actual": m.actual} for m in self.mismatches],
            "device_note": self.device_note,
        }


@dataclass
class ValidationReport:
    report: Report
    device: str
    results: list[SizeResult]

    @property
    def ok(self) -> bool:
        return all(r.agree for r in self.results)

    @property
    def disagreements(self) -> list[SizeResult]:
        return [r for r in self.results if not r.agree]

    def to_json(self) -> dict[str, Any]:
        return {"network": self.report.network.name, "file": self.report.network.source, "device": self.device,
                "ok": self.ok, "domain": self.report.domain.to_json(), "sizes": [r.to_json() for r in self.results]}


# ---------------------------------------------------------------------- choosing sizes


def _near(box_set: Any, lo: int = 1) -> list[int]:
    """Interesting values of one symbol's set: its edges, inside and just outside."""
    out: list[int] = []
    first = box_set.min()
    if first is None:
        return out
    out += [first, first - 1]
    last = box_set.max()
    if last is not None:
        out += [last, last + 1]
    nxt = box_set.first_at_or_after(first + 1)
    if nxt is not None:
        out += [nxt, nxt - 1, nxt + 1]
    for seg in getattr(box_set, "segs", ()):
        for v in (seg.lo, seg.lo - 1, seg.hi, None if seg.hi is None else seg.hi + 1):
            if v is not None:
                out.append(v)
    return [v for v in dict.fromkeys(out) if v >= lo]


def _batch_symbols(rep: Report) -> set[str]:
    """Symbols used only as the first dim of the inputs: batch sizes, rarely interesting."""
    first: set[str] = set()
    other: set[str] = set()
    for shape in rep.network.inputs.values():
        for i, d in enumerate(shape):
            names = {str(x) for x in getattr(d, "free_symbols", ())}
            (first if i == 0 else other).update(names)
    return first - other


def choose_sizes(rep: Report, count: int = 12, cap: int | None = None) -> list[dict[str, int]]:
    """Sizes worth a forward pass: the smallest valid one; per symbol, the edges of its
    valid set (both sides of every interval and of the first gap of a periodic set) and a
    large valid size; sizes just outside.  Symbols take turns, so every one gets its edges
    tried; a batch symbol gets one other value.  ``cap`` bounds every size (cpu runs)."""
    dom = rep.domain
    names = list(dom.symbols)
    if not names:
        return [{}]
    base = dom.smallest() or dict.fromkeys(names, 1)
    base = {s: base.get(s, 1) for s in names}
    batch = _batch_symbols(rep)
    boxes = sorted(getattr(dom, "boxes", []), key=lambda b: not all(base[k] in b[k] for k in names if k in b))
    per: dict[str, list[int]] = {}
    for s in names:
        vals: list[int] = []
        if s in batch:
            vals = [base[s] + 1]
        else:
            for box in boxes[:3]:
                vals += _near(box[s])
            big = [b for box in boxes[:1] if (b := box[s].first_at_or_after(max(base[s], 200)))]
            vals += big + [base[s] + 1, base[s] - 1, 2 * base[s] + 1, 1]
        per[s] = [v for v in dict.fromkeys(vals) if v >= 1 and v != base[s]]
    cands: list[dict[str, int]] = [dict(base)]
    for i in range(max((len(v) for v in per.values()), default=0)):
        for s in names:
            if i < len(per[s]):
                cands.append({**base, s: per[s][i]})
    for ex in dom.examples(limit=2):
        cands.append({s: ex.get(s, base[s]) for s in names})
    if cap is not None:
        cands = [c for c in cands if all(v <= cap for v in c.values())]
    seen: set[tuple[int, ...]] = set()
    valid: list[dict[str, int]] = []
    invalid: list[dict[str, int]] = []
    for c in cands:
        key = tuple(c[s] for s in names)
        if key in seen:
            continue
        seen.add(key)
        (valid if rep.ok and dom.contains(**c) else invalid).append(c)
    half = max(1, count // 2)
    picked = valid[:half] + invalid[: count - min(len(valid), half)]
    picked += valid[half: half + count - len(picked)]
    return picked


# ---------------------------------------------------------------------- running


def _first_line(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}".strip()
    return text.splitlines()[0][:300] if text else type(e).__name__


def _predicted(shape: Shape | None, env: Mapping[str, int]) -> tuple[int, ...] | None:
    if shape is None:
        return None
    return tuple(int(evaluate(d, env)) for d in shape)


SIZE_CAP = 512  # the largest size chosen from the domain: every chosen size also runs on the CPU
VERDICT_DEVICE = "cpu"


def is_cpu(device: str) -> bool:
    """Is ``device`` the CPU (where torch's verdict on a size is taken)?"""
    import torch

    return torch.device(device).type == "cpu"


def check_device(device: str) -> None:
    """Raise RuntimeError when torch cannot make a tensor on ``device`` (no such device)."""
    import torch

    torch.empty(0, device=device)


def _build(rep: Report, env: Mapping[str, int], device: str) -> Any:
    """The emitted module on ``device``; on the CPU built on meta, then allocated without the
    random init (slow for wide layers) and zeroed: values do not matter for shapes.  Lazy
    modules size themselves at their first forward, so they are built as they are."""
    import torch

    from .emit import build

    if not is_cpu(device):
        with torch.device(device):
            return build(rep, env, trace=True)
    with torch.device("meta"):
        module = build(rep, env, trace=True)
    if any(isinstance(m, torch.nn.modules.lazy.LazyModuleMixin) for m in module.modules()):
        return build(rep, env, trace=True)
    module = module.to_empty(device=device)
    with torch.no_grad():
        for t in [*module.parameters(), *module.buffers()]:
            t.zero_()
    return module


def run_at(rep: Report, env: Mapping[str, int], device: str = "meta") -> tuple[dict[str, tuple[int, ...]], str | None]:
    """Build ``rep``'s module and run it at ``env`` on ``device`` (that device only): every
    layer's output shape, or the error."""
    import torch

    net = rep.network
    try:
        module = _build(rep, env, device)
        module.eval()
        xs = [torch.empty(*(int(evaluate(d, env)) for d in shape), device=device) for shape in net.inputs.values()]
    except Exception as e:  # noqa: BLE001 - a failure to build is a result too
        return {}, "building the module: " + _first_line(e)
    trace: dict[str, Any] = {}
    try:
        with torch.no_grad():
            module(*xs, _trace=trace)
    except Exception as e:  # noqa: BLE001 - torch raises many kinds of errors for bad shapes
        return {k: tuple(v.shape) for k, v in trace.items() if hasattr(v, "shape")}, _first_line(e)
    return {k: tuple(v.shape) for k, v in trace.items() if hasattr(v, "shape")}, None


def device_note(device: str, error: str | None, cpu_error: str | None) -> str | None:
    """What ``device`` did where it decided otherwise than the CPU, else None."""
    if (error is None) == (cpu_error is None):
        return None
    if error is None:
        return f"{device} ran where the CPU raises ({cpu_error})"
    return f"{device} raised where the CPU runs ({error})"


def run_checked(rep: Report, env: Mapping[str, int], device: str = "meta"
                ) -> tuple[dict[str, tuple[int, ...]], str | None, str | None]:
    """Run at ``env`` on ``device`` and, unless it is the CPU, on the CPU too: (the layer
    shapes, from ``device`` where both ran, else the CPU's; the CPU's error; a note where
    ``device`` decided otherwise)."""
    shapes, error = run_at(rep, env, device)
    if is_cpu(device):
        return shapes, error, None
    cpu_shapes, cpu_error = run_at(rep, env, VERDICT_DEVICE)
    note = device_note(device, error, cpu_error)
    if error is None and cpu_error is None:
        differ = [k for k in shapes if k in cpu_shapes and shapes[k] != cpu_shapes[k]]
        if differ:
            note = (f"{device}'s shapes differ from the CPU's at {differ[0]}: "
                    f"{fmt_shape(shapes[differ[0]])} vs {fmt_shape(cpu_shapes[differ[0]])}")
        return shapes, None, note
    return cpu_shapes, cpu_error, note


def validate(net: Network | Report, sizes: Iterable[Mapping[str, int]] | None = None, device: str = "meta", *,
             count: int = 12) -> ValidationReport:
    """Run real forward passes at ``sizes`` (default: chosen from the domain, see
    :func:`choose_sizes`) and compare them with the prediction: every layer's shape as
    ``device`` computes it, and whether torch accepts the size as the CPU decides (on any
    other device each size runs on the CPU too; see the module's docstring)."""
    rep = solved_report(net)
    check_device(device)
    if sizes is None:
        chosen = choose_sizes(rep, count, cap=SIZE_CAP)
    else:
        chosen = [dict(s) for s in sizes]
    results = [_compare(rep, env, device) for env in chosen]
    return ValidationReport(rep, device, results)


def _compare(rep: Report, env: dict[str, int], device: str) -> SizeResult:
    missing = [s for s in rep.domain.symbols if s not in env]
    if missing:
        raise ValueError(f"sizes {env} do not give {', '.join(missing)}")
    predicted_valid = rep.ok and rep.domain.contains(**env)
    if rep.errors:
        return SizeResult(env, False, False, "not built: the network has shape errors")
    shapes, error, note = run_checked(rep, env, device)
    res = SizeResult(env, predicted_valid, error is None, error, device_note=note)
    if error is None or predicted_valid:
        for li in rep.layers:
            want = _predicted(li.shape, env) if predicted_valid else None
            got = shapes.get(li.name)
            if predicted_valid and got != want and not (got is None and error is not None):
                res.mismatches.append(Mismatch(li.name, want, got))
            if not predicted_valid and got is None:
                break
    return res


def summary(v: ValidationReport) -> str:
    n = len(v.results)
    bad = len(v.disagreements)
    n_valid = sum(r.predicted_valid for r in v.results)
    where = v.device if is_cpu(v.device) else f"{v.device} + {VERDICT_DEVICE}"
    return (f"{n} size{'s' if n != 1 else ''} on {where}: {n_valid} valid, {n - n_valid} invalid predicted; "
            + ("all agree with torch" if not bad else f"{bad} disagree"))


def text(v: ValidationReport) -> str:
    lines = []
    for r in v.results:
        at = ", ".join(f"{k}={x}" for k, x in r.sizes.items()) or "(no symbols)"
        pred = "valid" if r.predicted_valid else "invalid"
        got = "ran" if r.ran else "raised"
        mark = "agree   " if r.agree else "DISAGREE"
        lines.append(f"{mark} {at}: predicted {pred}, torch {got}"
                     + (f" ({r.error})" if r.error and not r.ran and not r.agree else ""))
        for m in r.mismatches[:20]:
            lines.append(f"           {m}")
        if r.device_note:
            lines.append(f"           note: {r.device_note}")
    lines.append(summary(v))
    return "\n".join(lines)

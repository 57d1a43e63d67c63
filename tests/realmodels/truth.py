"""The cached truth of the real-model corpus: torch's eval-mode CPU forward at every size of every
entry (tests/realmodels/truth.json, written by tools/real_truth.py, read by the test).

An entry's results hold only for the versions of the packages it was computed with
(:data:`~tests.realmodels.corpus.FAMILY_PACKAGES`) and for the same ``spec``; :func:`stale`
says why a cached entry may not be used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from tests.realmodels.corpus import FAMILY_PACKAGES, Entry, parse_key, size_key

TRUTH_PATH = Path(__file__).resolve().parent / "truth.json"
PACKAGES = ("torch", "torchvision", "timm", "segmentation_models_pytorch", "monai", "ultralytics", "d2l")
_DIST = {"segmentation_models_pytorch": "segmentation-models-pytorch"}

OutShape = tuple[str, tuple[int, ...]]


def installed_versions() -> dict[str, str | None]:
    """The installed version of every package the corpus uses (None: not installed)."""
    out: dict[str, str | None] = {}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(_DIST.get(p, p))
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def entry_versions(entry: Entry, versions: Mapping[str, str | None]) -> dict[str, str | None]:
    """The versions that decide ``entry``'s truth."""
    return {p: versions[p] for p in FAMILY_PACKAGES[entry.family]}


def load() -> dict[str, Any]:
    """The cached truth (an empty one when the file does not exist)."""
    if not TRUTH_PATH.exists():
        return {"versions": {}, "entries": {}}
    data: dict[str, Any] = json.loads(TRUTH_PATH.read_text())
    return data


def save(data: Mapping[str, Any]) -> None:
    """Write the truth, entries in corpus order, one size per line (diffable)."""
    lines = ["{", f'  "about": {json.dumps(data["about"])},', f'  "versions": {json.dumps(data["versions"])},',
             '  "entries": {']
    items = list(data["entries"].items())
    for i, (eid, rec) in enumerate(items):
        head = {k: v for k, v in rec.items() if k != "sizes"}
        lines.append(f"    {json.dumps(eid)}: {{")
        for k, v in head.items():
            lines.append(f"      {json.dumps(k)}: {json.dumps(v)},")
        lines.append('      "sizes": {')
        sizes = list(rec["sizes"].items())
        for j, (key, res) in enumerate(sizes):
            lines.append(f"        {json.dumps(key)}: {json.dumps(res)}" + ("," if j < len(sizes) - 1 else ""))
        lines.append("      }")
        lines.append("    }" + ("," if i < len(items) - 1 else ""))
    lines += ["  }", "}"]
    TRUTH_PATH.write_text("\n".join(lines) + "\n")


def out_of_sync(entry: Entry, record: Mapping[str, Any] | None) -> str | None:
    """Why the cached ``record`` does not describe ``entry`` as the corpus defines it (None: it does)."""
    fix = f"(run: python tools/real_truth.py --only {entry.id})"
    if record is None:
        return f"no cached truth for {entry.id} {fix}"
    if record.get("spec") != entry.spec:
        return f"the cached truth of {entry.id} was computed for another spec (the corpus entry changed) {fix}"
    if set(record.get("sizes", {})) != {size_key(s) for s in entry.sizes}:
        return f"the cached sizes of {entry.id} are not the corpus's {fix}"
    return None


def other_versions(entry: Entry, record: Mapping[str, Any], versions: Mapping[str, str | None]) -> str | None:
    """Why the cached ``record`` may not hold with the installed packages (None: it holds)."""
    want = entry_versions(entry, versions)
    if record.get("versions") != want:
        return f"the cached truth of {entry.id} was computed with {record.get('versions')}, installed: {want}"
    return None


def stale(entry: Entry, record: Mapping[str, Any] | None, versions: Mapping[str, str | None]) -> str | None:
    """Why the cached ``record`` of ``entry`` cannot be used (None: it can)."""
    return out_of_sync(entry, record) or other_versions(entry, record or {}, versions)


def flatten_outputs(out: Any, key: str = "") -> list[OutShape]:
    """Every tensor of a forward's result, with its path: tuples, lists and dicts flattened in order."""
    import torch

    if isinstance(out, torch.Tensor):
        return [(key or "out", tuple(int(d) for d in out.shape))]
    if isinstance(out, Mapping):
        return [s for k, v in out.items() for s in flatten_outputs(v, f"{key}.{k}" if key else str(k))]
    if isinstance(out, (list, tuple)):
        return [s for i, v in enumerate(out) for s in flatten_outputs(v, f"{key}.{i}" if key else str(i))]
    return []  # not a tensor (None, a number): nothing to compare


def disagreements(rep: Any, sizes: Mapping[str, Any]) -> list[str]:
    """Every cached size where the report (a shapeplan Report) and torch differ, with both answers:
    the domain must contain exactly the sizes where torch runs, and there the outputs must
    have torch's shapes."""
    from shapeplan.core.dims import evaluate

    out: list[str] = []
    for key, res in sizes.items():
        if "skipped" in res:
            continue
        env = parse_key(key)
        ours = bool(rep.domain.contains(**env))
        if ours != res["ok"]:
            theirs = "runs" if res["ok"] else f"raises {res['error']}: {res['message']}"
            out.append(f"{key}: shapeplan says {'valid' if ours else 'invalid'}, torch {theirs}")
            continue
        if not res["ok"]:
            continue
        want = [tuple(s) for _, s in res["outputs"]]
        try:
            got: list[Any] = [None if s is None else tuple(evaluate(d, env) for d in s) for s in rep.outputs_at(**env)]
        except Exception as e:  # noqa: BLE001 - an output shape that cannot be evaluated is a disagreement too
            got = [f"<cannot evaluate: {type(e).__name__}: {e}>"]
        if got != want:
            keys = [k for k, _ in res["outputs"]]
            out.append(f"{key}: shapeplan's outputs {got}, torch's {list(zip(keys, want))}")
    return out

"""Diagnostics for CI: GitHub workflow commands and SARIF 2.1.0 (pure: text and dicts in, out).

``shapeplan check --format github`` prints one workflow command per diagnostic, which GitHub
Actions shows as an annotation on the file and line::

    ::error file=net.yaml,line=15,col=29,title=in-features::fc1 (Linear) expects ...%0Ahint: ...

Data is escaped as GitHub's toolkit does (``%`` ``\\r`` ``\\n``), and properties also escape
``:`` and ``,``.  ``--format sarif`` writes one SARIF 2.1.0 log (code scanning, IDE viewers):
one run, a rule per diagnostic code, a result per diagnostic, located at its line and
column, or at the file when it has none.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from ..core.errors import Diagnostic

FileDiagnostics = tuple[str, Sequence[Diagnostic]]  # (the file as given, its diagnostics)

INFORMATION_URI = "https://pypi.org/project/shapeplan/"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

_GITHUB_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}
_SARIF_LEVEL = {"error": "error", "warning": "warning", "note": "note"}


# --------------------------------------------------------------------------- GitHub


def escape_data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF percent-encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as data, and ``:`` and ``,`` too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _text(d: Diagnostic) -> str:
    return d.message + (f"\nhint: {d.hint}" if d.hint else "")


def github_command(d: Diagnostic, file: str) -> str:
    """One ``::error``/``::warning``/``::notice`` line for ``d`` (``file``: where it has no location)."""
    loc = d.location
    props = [("file", loc.file if loc and loc.file else file)]
    if loc and loc.line is not None:
        props.append(("line", str(loc.line)))
        if loc.col is not None:
            props.append(("col", str(loc.col)))
    props.append(("title", d.code))
    head = ",".join(f"{k}={escape_property(v)}" for k, v in props)
    return f"::{_GITHUB_COMMAND.get(d.severity, 'error')} {head}::{escape_data(_text(d))}"


def github(results: Sequence[FileDiagnostics]) -> str:
    """Every diagnostic of every file as GitHub workflow commands, one per line."""
    return "\n".join(github_command(d, file) for file, diags in results for d in diags)


# --------------------------------------------------------------------------- SARIF


def artifact_uri(path: str) -> str:
    """A file path as a SARIF artifact URI: relative paths stay relative (to the checkout)."""
    p = PurePath(path)
    if p.is_absolute():
        return p.as_uri()
    return quote(p.as_posix(), safe="/")


def _rule_name(code: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", code) if part) or "Diagnostic"


def _result(d: Diagnostic, file: str, rule_index: int) -> dict[str, Any]:
    loc = d.location
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(loc.file if loc and loc.file else file)}}
    if loc and loc.line is not None and loc.line >= 1:
        region: dict[str, Any] = {"startLine": loc.line}
        if loc.col is not None and loc.col >= 1:
            region["startColumn"] = loc.col
        physical["region"] = region
    out: dict[str, Any] = {
        "ruleId": d.code,
        "ruleIndex": rule_index,
        "level": _SARIF_LEVEL.get(d.severity, "error"),
        "message": {"text": _text(d)},
        "locations": [{"physicalLocation": physical}],
    }
    if d.layer:
        out["locations"][0]["logicalLocations"] = [{"name": d.layer, "kind": "member"}]
    return out


def sarif(results: Sequence[FileDiagnostics], version: str) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run of shapeplan ``version`` over ``results``."""
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    out: list[dict[str, Any]] = []
    for file, diags in results:
        for d in diags:
            if d.code not in index:
                index[d.code] = len(rules)
                rules.append({"id": d.code, "name": _rule_name(d.code)})
            out.append(_result(d, file, index[d.code]))
    driver = {"name": "shapeplan", "version": version, "informationUri": INFORMATION_URI, "rules": rules}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "columnKind": "unicodeCodePoints", "results": out}],
    }

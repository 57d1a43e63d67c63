"""One exception base class, and the Diagnostic every problem becomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "note"]


def _printable(text: str, keep: str = "") -> str:
    """``text`` with control and other unprintable characters escaped (``\\n``, ``\\x1b``):
    a file name or message can then neither break a diagnostic line nor drive the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in keep else repr(c)[1:-1] for c in text)


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file (or ``<string>``), 1-based line and column."""

    file: str | None = None
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        parts = [_printable(self.file) if self.file else "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)


@dataclass(frozen=True)
class Diagnostic:
    """One problem, compiler style: ``file:line:col: severity[code]: message`` + ``hint``."""

    severity: Severity
    code: str
    message: str
    layer: str | None = None
    hint: str | None = None
    location: Location | None = None
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    def render(self) -> str:
        loc = str(self.location) if self.location else "<input>"
        text = f"{loc}: {self.severity}[{self.code}]: {_printable(self.message)}"
        if self.hint:
            text += f"\n  hint: {_printable(self.hint, keep=chr(10))}"
        return text

    def to_json(self) -> dict[str, Any]:
        loc = self.location or Location()
        return {
            "severity": self.severity,
            "code": self.code,
            "layer": self.layer,
            "file": loc.file,
            "line": loc.line,
            "col": loc.col,
            "message": self.message,
            "hint": self.hint,
        }


class ShapeplanError(Exception):
    """Base class of every error shapeplan raises on purpose.

    Inner code raises short facts (``code``, ``message``, ``hint``); the public entry points
    add the context (layer, file, line) and turn them into :class:`Diagnostic` objects.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        code: str = "error",
        hint: str | None = None,
        layer: str | None = None,
        location: Location | None = None,
        diagnostics: list[Diagnostic] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.hint = hint
        self.layer = layer
        self.location = location
        self.diagnostics = diagnostics or [
            Diagnostic("error", code, message, layer=layer, hint=hint, location=location)
        ]

    def __str__(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)


class InputError(ShapeplanError):
    """The network could not be read: bad YAML, unknown op, bad argument (exit code 2)."""


class ShapeError(ShapeplanError):
    """A layer cannot accept its input (exit code 1)."""

    exit_code = 1

"""A Report as HTML, for notebooks (``Report._repr_html_``): the layer table, the output and
parameters, the valid inputs, and the diagnostics.  Every text is escaped.

It lives beside the Report (and uses only the core) so that the Report can show itself in
Jupyter without reaching up to :mod:`shapeplan.render`.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any, Protocol

from ..core.dims import Dim, Shape, fmt, fmt_shape
from ..core.errors import Diagnostic
from ..core.ir import Network


class Report(Protocol):
    """What this module reads of a :class:`~shapeplan.analysis.report.Report`."""

    network: Network
    diagnostics: list[Diagnostic]
    domain: Any

    @property
    def layers(self) -> Sequence[Any]: ...

    @property
    def outputs(self) -> list[Shape | None]: ...

    @property
    def total_params(self) -> Dim: ...

    @property
    def errors(self) -> list[Diagnostic]: ...

_STYLE = {"error": "color:#b00020", "warning": "color:#a15c00", "note": "color:#555"}


def _params(p: object) -> str:
    if p is None:
        return "-"
    return f"{p:,}" if isinstance(p, int) else fmt(p)


def _cell(text: str, tag: str = "td", align: str = "left") -> str:
    return f'<{tag} style="text-align:{align}">{escape(text)}</{tag}>'


def _diagnostic(d: Diagnostic) -> str:
    where = escape(str(d.location)) + ": " if d.location else ""
    head = f'<b style="{_STYLE.get(d.severity, "")}">{escape(d.severity)}[{escape(d.code)}]</b>'
    hint = f"<br><i>hint: {escape(d.hint)}</i>" if d.hint else ""
    return f"<li>{where}{head}: {escape(d.message)}{hint}</li>"


def report_html(rep: Report) -> str:
    """The HTML of ``rep`` (see the module's docstring)."""
    net = rep.network
    rows = ["<tr>" + _cell("layer", "th") + _cell("op", "th") + _cell("output shape", "th")
            + _cell("params", "th", "right") + "</tr>"]
    for name, shape in net.inputs.items():
        rows.append("<tr>" + _cell(name) + _cell("input") + _cell(fmt_shape(shape)) + _cell("", align="right") + "</tr>")
    for li in rep.layers:
        text = "?" if li.shape is None else fmt_shape(li.shape)
        rows.append("<tr>" + _cell(li.name) + _cell(li.op) + _cell(text) + _cell(_params(li.params), align="right")
                    + "</tr>")
    outs = [f"output{'' if len(net.outputs) == 1 else ' ' + o}: {'?' if s is None else fmt_shape(s)}"
            for o, s in zip(net.outputs, rep.outputs)]
    lines = [*outs, f"parameters: {_params(rep.total_params)}"]
    if rep.errors:
        lines.append("valid inputs: none (see the errors)")
    else:
        lines.append(f"valid inputs: {rep.domain}")
        small = rep.domain.smallest()
        if small:
            lines.append("smallest input: " + ", ".join(f"{k}={v}" for k, v in small.items()))
    title = f"{net.name}" + (f" ({net.source})" if net.source else "")
    parts = [f'<div class="shapeplan-report"><p><b>{escape(title)}</b></p>',
             "<table>" + "".join(rows) + "</table>",
             "<p>" + "<br>".join(escape(x) for x in lines) + "</p>"]
    if rep.diagnostics:
        parts.append("<ul>" + "".join(_diagnostic(d) for d in rep.diagnostics) + "</ul>")
    parts.append("</div>")
    return "\n".join(parts)

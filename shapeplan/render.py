"""Text output for the CLI: the layer table and the diagnostics (the library never prints)."""

from __future__ import annotations

from collections.abc import Sequence

from .check import Report, shape_text
from .dims import fmt, fmt_shape
from .errors import Diagnostic


def _param_text(p: object) -> str:
    if p is None:
        return "-"
    if isinstance(p, int):
        return f"{p:,}"
    return fmt(p)


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


def report_text(rep: Report) -> str:
    net = rep.network
    out = [f"{net.source or '<input>'}: {net.name}"]
    rows = [[name, "input", fmt_shape(shape), ""] for name, shape in net.inputs.items()]
    for li in rep.layers:
        rows.append([li.name, li.op, shape_text(li.shape), _param_text(li.params)])
    out.append(table(rows, ["layer", "op", "output shape", "params"]))
    out.append("")
    if len(net.outputs) == 1:
        out.append(f"output: {shape_text(rep.outputs[0])}")
    else:
        for name, shape in zip(net.outputs, rep.outputs):
            out.append(f"output {name}: {shape_text(shape)}")
    out.append(f"parameters: {_param_text(rep.total_params)}")
    if rep.errors:
        out.append("valid inputs: none (see the errors)")
    else:
        out.append(f"valid inputs: {rep.domain}")
        small = rep.domain.smallest()
        if small:
            out.append("smallest input: " + ", ".join(f"{k}={v}" for k, v in small.items()))
    return "\n".join(out)


def diagnostics_text(diags: Sequence[Diagnostic]) -> str:
    return "\n".join(d.render() for d in diags)


def summary_line(diags: Sequence[Diagnostic]) -> str:
    n_err = sum(d.severity == "error" for d in diags)
    n_warn = sum(d.severity == "warning" for d in diags)
    parts = []
    if n_err:
        parts.append(f"{n_err} error{'s' if n_err != 1 else ''}")
    if n_warn:
        parts.append(f"{n_warn} warning{'s' if n_warn != 1 else ''}")
    return ", ".join(parts)

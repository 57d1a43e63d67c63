"""Text output for the CLI: the layer table and the diagnostics (the library never prints)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sympy

from ..analysis.costs.records import Costs, LayerCost, subst
from ..analysis.costs.tables import DTYPES
from ..analysis.receptive.axis import Window
from ..analysis.report import Report, shape_text
from ..core.dims import Shape, fmt, norm, prod, sym
from ..core.errors import Diagnostic


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


# table columns (``shapeplan check --columns``): name -> header
COLUMNS = {"shape": "output shape", "params": "params", "trainable": "trainable", "buffers": "buffers",
           "macs": "MACs", "flops": "FLOPs", "elements": "elements", "memory": "memory", "rf": "RF",
           "jump": "jump", "start": "start"}
DEFAULT_COLUMNS = ("shape", "params")


def _axes_text(rf: Mapping[str, Window] | None, key: str) -> str:
    if rf is None:
        return "?"
    texts = ["-" if getattr(w, key) is None else fmt(getattr(w, key)) for w in rf.values()]
    if len(texts) > 1:
        texts = [f"({t})" if " " in t else t for t in texts]
    return " x ".join(texts)


def _cell(col: str, lc: LayerCost) -> str:
    if col in ("rf", "jump", "start"):
        return "-" if lc.elements is None else _axes_text(lc.receptive_field, col)
    return _param_text(getattr(lc, {"memory": "bytes"}.get(col, col)))


def _with_value(formula: object, value: object, where: str) -> str:
    text = _param_text(formula)
    if where and value is not None and _param_text(value) != text:
        text += f" = {_param_text(value)} at {where}"
    return text


def _bytes(v: object) -> str:
    if not isinstance(v, int):
        return _param_text(v)
    units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
    x, u = float(v), 0
    while x >= 1024 and u < len(units) - 1:
        x, u = x / 1024, u + 1
    return f"{v:,} bytes" + (f" ({x:.2f} {units[u]})" if u else "")


def _peak_text(peak: object) -> str:
    if isinstance(peak, sympy.Max) and len(peak.args) > 3:
        return f"the max of {len(peak.args)} formulas (--format json lists them; --at evaluates them)"
    return _bytes(peak)


def _cost_totals(costs: Costs, valued: Costs | None, columns: Sequence[str], where: str) -> list[str]:
    out = []
    for col, label, key in (("trainable", "trainable parameters", "total_trainable"),
                            ("buffers", "buffers (non-trainable)", "total_buffers"),
                            ("macs", "MACs", "total_macs"), ("flops", "FLOPs", "total_flops")):
        if col in columns:
            out.append(f"{label}: {_with_value(getattr(costs, key), valued and getattr(valued, key), where)}")
    if "memory" in columns or "elements" in columns:
        for label, key in (("input memory", "input_bytes"), ("peak activation memory", "peak_bytes")):
            formula = getattr(costs, key)
            text = "unknown (a layer failed)" if formula is None else (
                _peak_text(formula) if key == "peak_bytes" else _bytes(formula))
            if valued is not None and getattr(valued, key) is not None:
                text += f" = {_bytes(getattr(valued, key))} at {where}"
            out.append(f"{label} ({costs.dtype}): {text}")
    return out


def report_text(rep: Report, columns: Sequence[str] = DEFAULT_COLUMNS, at: Mapping[str, int] | None = None,
                dtype: str = "float32") -> str:
    """The layer table (``columns``; values at the sizes ``at`` instead of formulas) and the
    totals (with their values at ``at``)."""
    net = rep.network
    at = dict(at or {})
    where = ", ".join(f"{k}={v}" for k, v in at.items())
    env = {sym(k): sympy.Integer(v) for k, v in at.items()}
    costs = rep.costs(dtype) if (at or any(c not in DEFAULT_COLUMNS for c in columns)) else None
    valued = costs.at(**at) if (costs is not None and at) else None
    shown = valued or costs

    def shape_cell(shape: Shape | None) -> str:
        return shape_text(None if shape is None else tuple(subst(d, env) for d in shape))

    out = [f"{net.source or '<input>'}: {net.name}"]
    rows = []
    for name, shape in net.inputs.items():
        elements = subst(prod(shape), env)
        extra = {"shape": shape_cell(shape), "elements": _param_text(elements),
                 "memory": _param_text(norm(elements * DTYPES[dtype]))}
        rows.append([name, "input", *(extra.get(c, "") for c in columns)])
    for li in rep.layers:
        cells = []
        for c in columns:
            if c == "shape":
                cells.append(shape_cell(li.shape))
            elif shown is None:
                cells.append(_param_text(li.params))
            else:
                cells.append(_cell(c, shown[li.name]))
        rows.append([li.name, li.op, *cells])
    out.append(table(rows, ["layer", "op", *(COLUMNS[c] for c in columns)]))
    out.append("")
    if len(net.outputs) == 1:
        out.append(f"output: {shape_cell(rep.outputs[0])}")
    else:
        for name, oshape in zip(net.outputs, rep.outputs):
            out.append(f"output {name}: {shape_cell(oshape)}")
    out.append(f"parameters: {_with_value(rep.total_params, valued and valued.total_params, where)}")
    if costs is not None:
        out.extend(_cost_totals(costs, valued, columns, where))
    out.extend(domain_lines(rep))
    return "\n".join(out)


def domain_lines(rep: Report) -> list[str]:
    """``valid inputs: ...`` and ``smallest input: ...``."""
    if rep.errors:
        return ["valid inputs: none (see the errors)"]
    out = [f"valid inputs: {rep.domain}"]
    small = rep.domain.smallest()
    if small:
        out.append("smallest input: " + ", ".join(f"{k}={v}" for k, v in small.items()))
    return out


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

"""A picture of the valid input domain: which sizes of two symbols (or one) are valid.

The grid is read from the domain's structure, not point by point: an exact domain is a
union of boxes (one exact set per symbol), so each box gives one membership vector per
plotted symbol and the grid is the union of their outer products (a 128 x 128 grid costs
a few thousand set look-ups).  Residual conditions (relations the exact fragment does not
cover) are evaluated directly at each cell inside a box when they involve only the plotted
symbols, else through ``Domain.contains``.  Symbols that are not plotted (N) may take any
allowed value, as in ``Domain.contains``.

Two renderers share one layout: SVG (text as text) and PNG (written with zlib + struct,
labels in the built-in 5x7 bitmap font of :mod:`shapeplan.render._font`); no plotting library.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from ..analysis.domain.domain import Domain
from ..core.dims import free_symbols
from ..core.errors import InputError
from . import _font
from .raster import RGB, Canvas

MAX_VALUES = 2048  # per axis
DEFAULT_RANGE = (1, 128)
VALID: RGB = (46, 158, 79)
INVALID: RGB = (232, 232, 232)
INK: RGB = (30, 30, 30)
AXIS: RGB = (90, 90, 90)
_NICE = (1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 50, 64, 100, 128, 200, 250, 256, 500, 512)


@dataclass(frozen=True)
class DomainGrid:
    """Validity on a grid.  ``symbols[0]`` runs along the vertical axis (rows, upwards),
    ``symbols[1]`` (if any) along the horizontal one; a 1-D grid has one row."""

    symbols: tuple[str, ...]
    values: tuple[range, ...]
    valid: list[list[bool]]  # valid[i][j]: symbols[0] = values[0][i], symbols[1] = values[1][j]
    others: tuple[str, ...]  # symbols left free (any allowed value)
    description: str  # str(domain)


def parse_range(text: str) -> tuple[int, int]:
    """``"1:128"`` -> (1, 128), inclusive; raises InputError on anything else."""
    parts = text.split(":")
    try:
        lo, hi = (int(p) for p in parts) if len(parts) == 2 else (None, None)
    except ValueError:
        lo = hi = None
    if lo is None or hi is None or not 1 <= lo <= hi or hi - lo + 1 > MAX_VALUES:
        raise InputError(f"bad --plot-range {text!r}", code="usage",
                         hint=f"write LO:HI with 1 <= LO <= HI and at most {MAX_VALUES} values, e.g. 1:128")
    return lo, hi


def choose_symbols(domain: Domain, requested: Sequence[str] | None = None) -> tuple[str, ...]:
    """The symbols to plot: ``requested`` (checked), else H, W, else up to two others (N last)."""
    names = domain.symbols
    if requested:
        want = tuple(s.strip() for s in requested)
        unknown = [s for s in want if s not in names]
        if unknown or not 1 <= len(want) <= 2 or len(set(want)) != len(want):
            raise InputError(f"cannot plot symbols {', '.join(want)}: the network's symbols are "
                             f"{', '.join(names) or 'none'}", code="usage",
                             hint="give one or two distinct symbols, e.g. --plot-symbols H,W")
        return want
    if not names:
        raise InputError("the network has no size symbols: every input size is fixed, so there is no domain to plot",
                         code="plot-no-symbols", hint="write symbols (N, H, W) in `input` to plot the valid sizes")
    if "H" in names and "W" in names:
        return ("H", "W")
    spatial = [s for s in names if s != "N"]
    return tuple((spatial or list(names))[:2])


def domain_grid(domain: Domain, symbols: Sequence[str], lo: int = 1, hi: int = 128) -> DomainGrid:
    """Which sizes in [lo, hi] (per plotted symbol) are valid, from the domain's boxes."""
    syms = tuple(symbols)
    vals = tuple(range(lo, hi + 1) for _ in syms)
    rows, cols = (vals[0], vals[1]) if len(syms) == 2 else (range(1), vals[0])
    grid = [[False] * len(cols) for _ in rows]

    def env(i: int, j: int) -> dict[str, int]:
        return {syms[0]: rows[i], syms[1]: cols[j]} if len(syms) == 2 else {syms[0]: cols[j]}

    if domain.pieces:  # a union of cases: each piece draws its own part
        for piece in domain.pieces:
            part = domain_grid(piece, syms, lo, hi).valid
            grid = [[a or b for a, b in zip(r1, r2)] for r1, r2 in zip(grid, part)]
        return DomainGrid(syms, vals, grid, tuple(s for s in domain.symbols if s not in syms), str(domain))

    residual_syms: set[str] = set()
    for c in domain.residual:
        residual_syms |= free_symbols(c.lhs) | free_symbols(c.rhs)
    direct = residual_syms <= set(syms)
    for box in domain.boxes:
        col_mask = [v in box[syms[-1]] for v in cols]
        row_mask = [v in box[syms[0]] for v in rows] if len(syms) == 2 else [True]
        js = [j for j, m in enumerate(col_mask) if m]
        for i, m in enumerate(row_mask):
            if not m:
                continue
            row = grid[i]
            for j in js:
                if row[j]:
                    continue
                if not domain.residual:
                    row[j] = True
                elif direct:
                    e = env(i, j)
                    row[j] = all(c.holds_at(e) for c in domain.residual)
                else:
                    row[j] = domain.contains(**env(i, j))
    others = tuple(s for s in domain.symbols if s not in syms)
    return DomainGrid(syms, vals, grid, others, str(domain))


# --------------------------------------------------------------------------- layout


def _ticks(values: range) -> list[int]:
    span = len(values)
    step = next((s for s in _NICE if span / s <= 10), None)
    if step is None:
        step = 10 ** (len(str(span)) - 1)
        while span / step > 10:
            step *= 2
    ticks = [v for v in values if v % step == 0]
    return ticks or [values[0]]


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split(" "):
            while len(word) > width:  # a single long word: hard break
                if line:
                    lines.append(line)
                    line = ""
                lines.append(word[:width])
                word = word[width:]
            cand = f"{line} {word}" if line else word
            if len(cand) > width:
                lines.append(line)
                line = word
            else:
                line = cand
        lines.append(line)
    return lines


@dataclass
class Layout:
    width: int
    height: int
    x0: int  # top-left of the plot area
    y0: int
    cell: int
    cell_h: int  # row height (the strip height for 1-D)
    title: list[tuple[int, str]]  # (y, line)
    xticks: list[tuple[int, str]]  # (x centre, label)
    yticks: list[tuple[int, str]]  # (y centre, label)
    tick_y: int  # y of the x tick labels' top
    xname: tuple[int, int, str]  # x centre, y top, text
    yname: tuple[int, int, str]  # x left, y centre, text
    legend: list[tuple[int, int, RGB, str]]  # swatch x, y, colour, label
    note: tuple[int, str] | None


def layout(grid: DomainGrid, title: str, char_w: float, line_h: int, name_scale: int) -> Layout:
    two = len(grid.symbols) == 2
    ncols = len(grid.values[-1])
    nrows = len(grid.values[0]) if two else 1
    cell = max(1, min(16, 512 // max(ncols, nrows)))
    cell_h = cell if two else max(cell, 28)
    pw, ph = ncols * cell, nrows * cell_h
    name_w = int(len(grid.symbols[0]) * char_w * name_scale) if two else 0
    label_w = int(max(len(str(v)) for v in grid.values[0]) * char_w) if two else 0
    left = 12 + name_w + (10 if two else 0) + label_w + 6
    width = max(left + pw + 24, 440)
    lines = _wrap(title, max(20, int((width - 24) / char_w)))
    top = 12 + len(lines) * line_h + 10
    title_rows = [(12 + k * line_h, line) for k, line in enumerate(lines)]
    x0, y0 = left, top
    ticks_x = [(x0 + (v - grid.values[-1][0]) * cell + cell // 2, str(v)) for v in _ticks(grid.values[-1])]
    ticks_y = []
    if two:
        first = grid.values[0][0]
        ticks_y = [(y0 + (nrows - 1 - (v - first)) * cell + cell // 2, str(v)) for v in _ticks(grid.values[0])]
    tick_y = y0 + ph + 7
    name_y = tick_y + line_h + 4
    legend_y = name_y + line_h * name_scale + 8
    legend = [(x0, legend_y, VALID, "valid"), (x0 + int(8 * char_w) + 20, legend_y, INVALID, "invalid")]
    note = None
    height = legend_y + line_h + 10
    if grid.others:
        note = (height, f"{', '.join(grid.others)}: any allowed value")
        height += line_h + 6
    return Layout(width, height, x0, y0, cell, cell_h, title_rows, ticks_x, ticks_y, tick_y,
                  (x0 + pw // 2, name_y, grid.symbols[-1]), (12, y0 + ph // 2, grid.symbols[0] if two else ""),
                  legend, note)


def _title(grid: DomainGrid, name: str) -> str:
    head = f"{name}: valid input sizes" if name else "valid input sizes"
    return f"{head}\n{grid.description}"


# --------------------------------------------------------------------------- renderers


def to_png(grid: DomainGrid, name: str = "") -> bytes:
    """The grid as a PNG image (labels in the built-in bitmap font)."""
    lay = layout(grid, _title(grid, name), _font.ADVANCE, _font.LINE, 2)
    cv = Canvas(lay.width, lay.height)
    for y, line in lay.title:
        cv.text(12, y, line, INK)
    nrows = len(grid.valid)
    for i, row in enumerate(grid.valid):
        y = lay.y0 + (nrows - 1 - i) * lay.cell_h
        for j, ok in enumerate(row):
            x = lay.x0 + j * lay.cell
            cv.rect(x, y, x + lay.cell, y + lay.cell_h, VALID if ok else INVALID)
    x1, y1 = lay.x0 + len(grid.valid[0]) * lay.cell, lay.y0 + nrows * lay.cell_h
    cv.frame(lay.x0, lay.y0, x1, y1, AXIS)
    for x, label in lay.xticks:
        cv.rect(x, y1 + 1, x + 1, y1 + 5, AXIS)
        cv.text(x - _font.text_width(label) // 2, lay.tick_y, label, INK)
    for y, label in lay.yticks:
        cv.rect(lay.x0 - 5, y, lay.x0 - 1, y + 1, AXIS)
        cv.text(lay.x0 - 7 - _font.text_width(label), y - 3, label, INK)
    cx, ty, xname = lay.xname
    cv.text(cx - _font.text_width(xname, 2) // 2, ty, xname, INK, 2)
    lx, cy, yname = lay.yname
    cv.text(lx, cy - 7, yname, INK, 2)
    for x, y, color, label in lay.legend:
        cv.rect(x, y, x + 10, y + 10, color)
        cv.frame(x, y, x + 10, y + 10, AXIS)
        cv.text(x + 15, y + 2, label, INK)
    if lay.note:
        cv.text(12, lay.note[0], lay.note[1], AXIS)
    return cv.png()


def _hex(c: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*c)


def to_svg(grid: DomainGrid, name: str = "") -> str:
    """The grid as an SVG document (text as text; runs of equal cells merged into one rect)."""
    lay = layout(grid, _title(grid, name), 7.2, 16, 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{lay.width}" height="{lay.height}" '
           f'viewBox="0 0 {lay.width} {lay.height}" font-family="DejaVu Sans Mono, monospace" font-size="12">',
           f'<rect width="{lay.width}" height="{lay.height}" fill="#ffffff"/>']
    for y, line in lay.title:
        out.append(f'<text x="12" y="{y + 12}" fill="{_hex(INK)}">{escape(line)}</text>')
    nrows = len(grid.valid)
    out.append(f'<g shape-rendering="crispEdges"><title>{escape(grid.description)}</title>')
    for i, row in enumerate(grid.valid):
        y = lay.y0 + (nrows - 1 - i) * lay.cell_h
        j = 0
        while j < len(row):
            k = j
            while k < len(row) and row[k] == row[j]:
                k += 1
            color = VALID if row[j] else INVALID
            out.append(f'<rect x="{lay.x0 + j * lay.cell}" y="{y}" width="{(k - j) * lay.cell}" '
                       f'height="{lay.cell_h}" fill="{_hex(color)}"/>')
            j = k
    out.append("</g>")
    pw, ph = len(grid.valid[0]) * lay.cell, nrows * lay.cell_h
    out.append(f'<rect x="{lay.x0 - 0.5}" y="{lay.y0 - 0.5}" width="{pw + 1}" height="{ph + 1}" '
               f'fill="none" stroke="{_hex(AXIS)}"/>')
    y1 = lay.y0 + ph
    for x, label in lay.xticks:
        out.append(f'<line x1="{x + 0.5}" y1="{y1}" x2="{x + 0.5}" y2="{y1 + 5}" stroke="{_hex(AXIS)}"/>')
        out.append(f'<text x="{x + 0.5}" y="{lay.tick_y + 11}" text-anchor="middle">{label}</text>')
    for y, label in lay.yticks:
        out.append(f'<line x1="{lay.x0 - 5}" y1="{y + 0.5}" x2="{lay.x0}" y2="{y + 0.5}" stroke="{_hex(AXIS)}"/>')
        out.append(f'<text x="{lay.x0 - 7}" y="{y + 4.5}" text-anchor="end">{label}</text>')
    cx, ty, xname = lay.xname
    out.append(f'<text x="{cx}" y="{ty + 13}" text-anchor="middle" font-weight="bold">{escape(xname)}</text>')
    lx, cy, yname = lay.yname
    if yname:
        out.append(f'<text x="{lx}" y="{cy + 4}" font-weight="bold">{escape(yname)}</text>')
    for x, y, color, label in lay.legend:
        out.append(f'<rect x="{x}" y="{y}" width="11" height="11" fill="{_hex(color)}" stroke="{_hex(AXIS)}"/>')
        out.append(f'<text x="{x + 16}" y="{y + 10}">{label}</text>')
    if lay.note:
        out.append(f'<text x="12" y="{lay.note[0] + 12}" fill="{_hex(AXIS)}">{escape(lay.note[1])}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def render(domain: Domain, kind: str = "png", symbols: Sequence[str] | None = None,
           value_range: tuple[int, int] = DEFAULT_RANGE, name: str = "") -> bytes:
    """The domain plot as file contents: ``kind`` "png" or "svg"."""
    grid = domain_grid(domain, choose_symbols(domain, symbols), *value_range)
    if kind == "svg":
        return to_svg(grid, name).encode("utf-8")
    if kind == "png":
        return to_png(grid, name)
    raise InputError(f"unknown plot format {kind!r}", code="usage", hint="use a .png or .svg file name")


__all__ = ["DomainGrid", "choose_symbols", "domain_grid", "parse_range", "render", "to_png", "to_svg"]

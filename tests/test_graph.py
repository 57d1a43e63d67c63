"""Pictures: the layer graph (DOT, SVG, Mermaid) and the domain plot (PNG, SVG).

The DOT text is checked structurally everywhere and laid out by Graphviz's ``dot`` where it
is installed (those tests skip otherwise); Mermaid is checked line by line against its
statement grammar (no renderer offline); PNGs are decoded here, independently of the writer.
"""

from __future__ import annotations

import functools
import html
import re
import shutil
import struct
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import shapeplan
from shapeplan.analysis.check import Report, run_check, shape_text
from shapeplan.analysis.domain.domain import Domain
from shapeplan.cli import app
from shapeplan.core.dims import sym
from shapeplan.core.errors import ShapeplanError
from shapeplan.core.ir import Layer, Network
from shapeplan.render import _font, plot
from shapeplan.render.graph import graph_model, key_args, to_dot, to_mermaid, to_svg
from shapeplan.render.graph.model import _clusters, clean_text

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
EXAMPLES = sorted(EX.glob("*.yaml"))
HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="Graphviz `dot` is not installed")
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
runner = CliRunner()

_REPORTS: dict[str, Report] = {}


def report(path: Path) -> Report:
    if path.name not in _REPORTS:
        _REPORTS[path.name] = shapeplan.check(path)
    return _REPORTS[path.name]


HOSTILE_NAMES = [
    'conv "1" [a] {b} (c) | d --> e %% f & <g> \\ back\\slash',
    "réseau.ünïcödé.λ→😀",
    "réseau.ünïcödé.x;y#z`q'",
    "end",
    "a&lt;b\\N\\G\n%%x\x07",
    "fc",
    "fc ",
    "subgraph",
]
HOSTILE_INPUT = 'in "x" <1> -->'


@functools.cache
def hostile() -> Report:
    """A network built through the API (the YAML front end rejects such names)."""
    ops = [("Conv2d", {"in_channels": 3, "out_channels": 8, "kernel_size": 3, "stride": 2}), ("ReLU", {}),
           ("BatchNorm2d", {"num_features": 8}), ("MaxPool2d", {"kernel_size": 2}), ("Flatten", {}),
           ("Linear", {"in_features": 99, "out_features": 10}), ("ReLU", {}), ("ReLU", {})]
    layers, prev = [], HOSTILE_INPUT
    for name, (op, kw) in zip(HOSTILE_NAMES, ops):
        layers.append(Layer(name, op, (prev,), (), kw))
        prev = name
    net = Network('Evil "net" <&> %%', {HOSTILE_INPUT: (sym("N"), 3, sym("H"), sym("W"))}, tuple(layers), (prev,))
    return run_check(net)


# --------------------------------------------------------------------------- DOT, structurally

_DOT_ID = r"[A-Za-z_][A-Za-z0-9_]*"
_DOT_ATTR = r'[a-z]+=(?:"(?:[^"\\]|\\.)*"|<.*>|[A-Za-z0-9_.#,]+)'
_DOT_LINE = [
    re.compile(r"digraph shapeplan \{"),
    re.compile(r"\}"),
    re.compile(rf"(graph|node|edge) \[{_DOT_ATTR}(, {_DOT_ATTR})*\];"),
    re.compile(r"subgraph cluster_\d+ \{"),
    re.compile(r'label=<.*>; style="rounded,dashed"; .*;'),
    re.compile(rf"(?P<id>{_DOT_ID}) \[{_DOT_ATTR}(, {_DOT_ATTR})*\];"),
    re.compile(rf"(?P<src>{_DOT_ID}) -> (?P<dst>{_DOT_ID}) \[label=<.*>\];"),
]


def dot_structure(text: str) -> tuple[set[str], list[tuple[str, str]]]:
    """Check every line of our DOT against the statements we write; return nodes and edges."""
    assert text.isascii(), "DOT output must be ASCII (non-ASCII as numeric references)"
    depth, nodes, edges = 0, set(), []
    for raw in text.splitlines():
        line = raw.strip()
        m = next((p.fullmatch(line) for p in _DOT_LINE if p.fullmatch(line)), None)
        assert m is not None, f"unexpected DOT line: {line!r}"
        depth += line.endswith("{") - (line == "}")
        assert depth >= 0
        if "id" in m.groupdict() and m.group("id") not in ("graph", "node", "edge"):
            assert m.group("id") not in nodes, f"node {m.group('id')} declared twice"
            nodes.add(m.group("id"))
        if "src" in m.groupdict():
            edges.append((m.group("src"), m.group("dst")))
        for label in re.findall(r"label=<(.*?)>(?:[,;\]])", line):  # only our own tags, text escaped
            text = re.sub(r'</?B>|<BR/>|<FONT COLOR="#[0-9a-f]{6}">|</FONT>', "", label)
            assert "<" not in text and ">" not in text and '"' not in text, label
    assert depth == 0
    assert {n for e in edges for n in e} <= nodes
    return nodes, edges


def dot_labels(text: str) -> dict[str, str]:
    """node id -> its label's first line (the name), decoded back to plain text."""
    out = {}
    for m in re.finditer(r"^\s*(\w+) \[label=<<B>(.*?)</B>", text, re.M):
        out[m.group(1)] = html.unescape(m.group(2).replace("\\\\", "\\"))
    return out


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_dot_structure_on_examples(path: Path) -> None:
    rep = report(path)
    text = to_dot(rep)
    nodes, edges = dot_structure(text)
    net = rep.network
    assert len(nodes) == len(net.inputs) + len(rep.layers) + len(net.outputs)
    assert len(edges) == sum(len(li.inputs) for li in rep.layers) + len(net.outputs)
    assert set(dot_labels(text).values()) >= {li.name for li in rep.layers} | set(net.inputs)
    for li in rep.layers:  # every edge carries the shape of its source
        for src in li.inputs:
            assert f"[label=<{html.escape(shape_text(rep.shapes[src]), quote=True)}>]" in text


def test_dot_labels_name_op_and_key_args() -> None:
    rep = report(EX / "resnet18.yaml")
    text = to_dot(rep)
    assert "<B>conv1</B><BR/>Conv2d 3-&gt;64 k7 s2 p3>" in text
    assert "<B>layer1.0.conv1</B><BR/>Conv2d 64-&gt;64 k3 p1>" in text  # stride 1 is the default: left out
    assert "<B>fc</B><BR/>Linear 512-&gt;1000>" in text
    assert "AdaptiveAvgPool2d out=1" in text
    assert "shape=invhouse" in text and "shape=house" in text  # inputs and outputs look different


def test_key_args() -> None:
    args = {"in_channels": 3, "out_channels": 16, "kernel_size": (3, 3), "stride": (2, 2), "padding": (0, 0),
            "dilation": (1, 1), "groups": 1, "bias": True, "padding_mode": "zeros"}
    assert key_args("Conv2d", args) == "3->16 k3 s2"
    assert key_args("Conv2d", {**args, "kernel_size": (3, 5), "groups": 4}) == "3->16 k3x5 s2 g4"
    assert key_args("Dropout", {"p": 0.25, "inplace": False}) == "p=0.25"
    assert key_args("Dropout", {"p": 0.5, "inplace": False}) == ""  # the default


def test_clusters_group_repeated_prefixes_only() -> None:
    names = ["stem", "layer1.0.conv1", "layer1.0.conv2", "layer1.1.conv1", "layer1.1.conv2",
             "head.fc", "f.1.conv.0", "f.1.conv.1"]
    root = _clusters([(f"n{i}", n) for i, n in enumerate(names)])

    def flat(c, depth=0):
        yield c.prefix, depth, sorted(c.nodes)
        for k in c.children:
            yield from flat(k, depth + 1)

    got = {p: (d, ids) for p, d, ids in flat(root)}
    assert got[""] == (0, ["n0", "n5"])  # "head" holds one layer: no cluster
    assert got["layer1"] == (1, [])
    assert got["layer1.0"] == (2, ["n1", "n2"]) and got["layer1.1"] == (2, ["n3", "n4"])
    assert "f.1.conv" in got and "f" not in got and "f.1" not in got  # one nested chain: the innermost only


def test_dot_clusters_resnet_and_unet() -> None:
    text = to_dot(report(EX / "resnet18.yaml"))
    block = text[text.index("label=<layer1.0>"):]
    block = block[: block.index("}")]
    assert "<B>layer1.0.conv1</B>" in block and "<B>layer1.0.add</B>" in block and "layer1.1." not in block
    assert "label=<enc1>" in to_dot(report(EX / "unet.yaml"))


def test_errors_highlighted() -> None:
    rep = report(EX / "lenet_bad.yaml")
    text = to_dot(rep)
    fc1 = next(line for line in text.splitlines() if "<B>fc1</B>" in line)
    assert 'fillcolor="#f9d0d0"' in fc1 and "error[in-features]" in fc1 and "tooltip=" in fc1
    assert sum('fillcolor="#f9d0d0"' in line for line in text.splitlines()) == 1
    assert "valid inputs: none (1 error)" in text
    mer = to_mermaid(rep)
    fc1_id = re.search(r"^\s*(\w+)\[\"<b>fc1</b>", mer, re.M).group(1)  # type: ignore[union-attr]
    assert f"class {fc1_id} error" in mer


def test_hostile_names_in_dot() -> None:
    rep = hostile()
    text = to_dot(rep)
    dot_structure(text)
    names = set(dot_labels(text).values())
    assert {clean_text(n) for n in HOSTILE_NAMES} | {HOSTILE_INPUT} <= names
    assert clean_text("a&lt;b\\N\\G\n%%x\x07") == "a&lt;b\\N\\G\\x0a%%x\\x07"  # control characters made visible
    assert "&amp;lt;" in text and "\\\\N" in text  # '&' and '\' escaped for Graphviz


# --------------------------------------------------------------------------- SVG through Graphviz


def svg_nodes(svg: str) -> list[list[str]]:
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    return [[t.text or "" for t in g.iter(SVG + "text")] for g in root.iter(SVG + "g") if g.get("class") == "node"]


@needs_dot
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_svg_on_examples(path: Path) -> None:
    rep = report(path)
    svg = to_svg(rep)
    nodes = svg_nodes(svg)
    net = rep.network
    assert len(nodes) == len(net.inputs) + len(rep.layers) + len(net.outputs)
    assert sorted(n[0] for n in nodes if n[0] != "output") == sorted([*net.inputs, *(li.name for li in rep.layers)])
    edges = [g for g in ET.fromstring(svg).iter(SVG + "g") if g.get("class") == "edge"]
    assert len(edges) == sum(len(li.inputs) for li in rep.layers) + len(net.outputs)


@needs_dot
def test_svg_hostile_names_exact() -> None:
    rep = hostile()
    svg = to_svg(rep)
    names = [n[0] for n in svg_nodes(svg)]
    assert sorted(names) == sorted([clean_text(n) for n in HOSTILE_NAMES] + [HOSTILE_INPUT, "output"])
    titles = [a.get(XLINK + "title") for a in ET.fromstring(svg).iter(SVG + "a") if a.get(XLINK + "title")]
    assert any(t.startswith("error[in-features]: fc (Linear) expects in_features=99") for t in titles)
    title = [t.text for t in ET.fromstring(svg).iter(SVG + "text")][:1]
    assert title == ['Evil "net" <&> %%']


def test_svg_without_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(ShapeplanError) as e:
        to_svg(report(EX / "lenet.yaml"))
    assert e.value.code == "graphviz-missing" and "apt-get install graphviz" in (e.value.hint or "")
    r = runner.invoke(app, ["graph", str(EX / "lenet.yaml")])
    assert r.exit_code == 2 and "graphviz" in r.stderr and "--format dot" in r.stderr


def test_svg_dot_failure_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    false = shutil.which("false")
    if false is None:
        pytest.skip("no `false` program")
    monkeypatch.setattr(shutil, "which", lambda _name: false)
    with pytest.raises(ShapeplanError, match="Graphviz `dot` failed"):
        to_svg(report(EX / "lenet.yaml"))


# --------------------------------------------------------------------------- Mermaid

_MID = r"[a-z][0-9]+"
_MTEXT = r'(?:[A-Za-z0-9 .,_+*/=:?!()-]|#\d+;|<b>|</b>|<br/>)*'
_M_NODE = re.compile(rf'\s{{4}}(?P<id>{_MID})(?P<o>\(\["|\[\["|\[")(?P<t>{_MTEXT})(?P<c>"\]\)|"\]\]|"\])')
_M_EDGE = re.compile(rf'\s{{4}}(?P<src>{_MID}) -->\|"(?P<t>{_MTEXT})"\| (?P<dst>{_MID})')
_M_CLASSDEF = re.compile(r"\s{4}classDef [a-z]+ [a-z-]+:[#0-9a-z]+(,[a-z-]+:[#0-9a-z]+)*")
_M_CLASS = re.compile(rf"\s{{4}}class {_MID}(,{_MID})* [a-z]+")
_PAIRS = {'(["': '"])', '[["': '"]]', '["': '"]'}


def mermaid_decode(text: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), text)


def mermaid_structure(text: str) -> tuple[dict[str, list[str]], list[tuple[str, str, str]]]:
    """Every line must be one of the statements we write, in Mermaid's flowchart grammar."""
    assert text.isascii()
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    nodes: dict[str, list[str]] = {}
    edges = []
    for line in lines[1:]:
        if m := _M_NODE.fullmatch(line):
            assert _PAIRS[m.group("o")] == m.group("c"), line
            assert m.group("id") not in nodes and m.group("id") != "end"
            nodes[m.group("id")] = [mermaid_decode(re.sub("</?b>", "", r)) for r in m.group("t").split("<br/>")]
        elif m := _M_EDGE.fullmatch(line):
            edges.append((m.group("src"), m.group("dst"), mermaid_decode(m.group("t"))))
        else:
            assert _M_CLASSDEF.fullmatch(line) or _M_CLASS.fullmatch(line), f"unexpected Mermaid line: {line!r}"
    assert {n for s, d, _ in edges for n in (s, d)} <= set(nodes)
    return nodes, edges


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_mermaid_on_examples(path: Path) -> None:
    rep = report(path)
    nodes, edges = mermaid_structure(to_mermaid(rep))
    net = rep.network
    assert len(nodes) == len(net.inputs) + len(rep.layers) + len(net.outputs)
    names = {rows[0]: i for i, rows in nodes.items()}
    assert set(names) >= {li.name for li in rep.layers} | set(net.inputs)
    got = sorted((s, d, t) for s, d, t in edges)
    want = sorted((names[src], names[li.name], shape_text(rep.shapes[src])) for li in rep.layers for src in li.inputs)
    assert [e for e in got if not e[1].startswith("r")] == want


def test_mermaid_hostile_names() -> None:
    text = to_mermaid(hostile())
    nodes, _ = mermaid_structure(text)
    assert sorted(rows[0] for rows in nodes.values()) == sorted(
        [clean_text(n) for n in HOSTILE_NAMES] + [HOSTILE_INPUT, "output"])
    for bad in ("-->|", "%%", "[a]", '"1"', "<g>", "|"):  # none of the name's syntax leaks through
        assert bad not in text.replace(' -->|"', "").replace('"| ', "")


def test_graph_model_ids_distinct_for_distinct_layers() -> None:
    m = graph_model(hostile())
    assert len({n.id for n in m.nodes}) == len(m.nodes)
    assert {n.name for n in m.nodes if n.kind == "layer"} == set(HOSTILE_NAMES)


# --------------------------------------------------------------------------- the graph command


def test_cli_graph_formats(tmp_path: Path) -> None:
    out = tmp_path / "g.mmd"
    r = runner.invoke(app, ["graph", str(EX / "lenet.yaml"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_text().startswith("flowchart TD\n")
    r = runner.invoke(app, ["graph", str(EX / "lenet.yaml"), "--format", "dot"])
    assert r.exit_code == 0 and r.stdout.startswith("digraph shapeplan {")
    r = runner.invoke(app, ["graph", str(EX / "lenet_bad.yaml"), "-f", "mermaid", "-o", str(tmp_path / "bad.txt")])
    assert r.exit_code == 1 and "error[in-features]" in r.stderr  # drawn, and the error reported
    assert "class n7 error" in (tmp_path / "bad.txt").read_text()
    bad = tmp_path / "broken.yaml"
    bad.write_text("layers: [\n")
    r = runner.invoke(app, ["graph", str(bad), "-f", "dot"])
    assert r.exit_code == 2 and "Traceback" not in r.output


@needs_dot
def test_cli_graph_svg(tmp_path: Path) -> None:
    out = tmp_path / "u.svg"
    r = runner.invoke(app, ["graph", str(EX / "unet.yaml"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert len(svg_nodes(out.read_text())) == 1 + 67 + 1


# --------------------------------------------------------------------------- the domain plot


def read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB, non-interlaced, filter-0 PNG (what the plot writes): width, height, rows."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos: pos + 4])
        kind, body = data[pos + 4: pos + 8], data[pos + 8: pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n: pos + 12 + n])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, kind
        chunks.append((kind, body))
        pos += 12 + n
    kinds = [k for k, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    w, h, depth, color, comp, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color, comp, filt, interlace) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    stride = 1 + 3 * w
    assert len(raw) == stride * h
    rows = [raw[i * stride: (i + 1) * stride] for i in range(h)]
    assert all(r[0] == 0 for r in rows)
    return w, h, [r[1:] for r in rows]


def cell_colour(data: bytes, grid: plot.DomainGrid, name: str, **at: int) -> tuple[int, ...]:
    """The pixel at the centre of the cell for the sizes ``at``."""
    w, h, rows = read_png(data)
    lay = plot.layout(grid, plot._title(grid, name), _font.ADVANCE, _font.LINE, 2)
    assert (w, h) == (lay.width, lay.height)
    j = grid.values[-1].index(at[grid.symbols[-1]])
    i = grid.values[0].index(at[grid.symbols[0]]) if len(grid.symbols) == 2 else 0
    x = lay.x0 + j * lay.cell + lay.cell // 2
    y = lay.y0 + (len(grid.valid) - 1 - i) * lay.cell_h + lay.cell_h // 2
    return tuple(rows[y][3 * x: 3 * x + 3])


def count_colour(data: bytes, colour: tuple[int, int, int]) -> int:
    _, _, rows = read_png(data)
    c = bytes(colour)
    return sum(sum(1 for k in range(0, len(r), 3) if r[k: k + 3] == c) for r in rows)


@pytest.mark.parametrize(("name", "valid", "invalid"), [
    ("unet.yaml", [(16, 16), (32, 48), (128, 112)], [(33, 48), (40, 16), (8, 8), (128, 120)]),
    ("lenet.yaml", [(16, 16), (16, 100), (128, 17)], [(15, 40), (40, 15), (1, 1)]),
])
def test_png_plot_pixels(name: str, valid: list[tuple[int, int]], invalid: list[tuple[int, int]]) -> None:
    rep = report(EX / name)
    grid = plot.domain_grid(rep.domain, ("H", "W"), 1, 128)
    data = plot.to_png(grid, rep.network.name)
    for h, w in valid:
        assert rep.domain.contains(H=h, W=w)
        assert cell_colour(data, grid, rep.network.name, H=h, W=w) == plot.VALID
    for h, w in invalid:
        assert not rep.domain.contains(H=h, W=w)
        assert cell_colour(data, grid, rep.network.name, H=h, W=w) == plot.INVALID
    cell = plot.layout(grid, "", _font.ADVANCE, _font.LINE, 2).cell
    n_valid = sum(map(sum, grid.valid))
    assert count_colour(data, plot.VALID) == n_valid * cell * cell + 10 * 10  # the cells + the legend swatch
    if name == "unet.yaml":
        assert n_valid == 8 * 8  # H, W multiples of 16 up to 128


def test_grid_uses_the_domain_structure(monkeypatch: pytest.MonkeyPatch) -> None:
    rep = report(EX / "hrnet_small.yaml")

    def boom(*_a: object, **_k: object) -> bool:
        raise AssertionError("an exact domain is read from its boxes, not point by point")

    monkeypatch.setattr(Domain, "contains", boom)
    grid = plot.domain_grid(rep.domain, ("H", "W"), 1, 128)
    assert sum(map(sum, grid.valid)) == 32 * 32  # H, W mod 16 in {0, 13, 14, 15}, >= 13


FIXED_BATCH = (EX / "unet.yaml").read_text().replace("input: [N, 3, H, W]", "input: [1, 3, H, W]")
SQUARE = """name: Sq
input: [N, 3, H, W]
layers:
  - {name: t, op: permute, dims: [0, 1, 3, 2]}
  - {name: s, op: add, from: [x, t]}
"""


@pytest.mark.parametrize("src", [*[p.name for p in EXAMPLES], "fixed-batch", "square"])
def test_grid_agrees_with_contains(src: str) -> None:
    text = {"fixed-batch": FIXED_BATCH, "square": SQUARE}.get(src)
    rep = shapeplan.check(text) if text else report(EX / src)
    dom = rep.domain
    if "H" not in dom.symbols:
        pytest.skip("no H, W")
    hi = 20 if src == "square" else 34  # contains is slow there: the point of the grid's shortcuts
    grid = plot.domain_grid(dom, ("H", "W"), 1, hi)
    for i, h in enumerate(range(1, hi + 1)):
        for j, w in enumerate(range(1, hi + 1)):
            assert grid.valid[i][j] == (not dom.empty and dom.contains(H=h, W=w)), (src, h, w)


def test_one_symbol_strip_and_residual_fallback() -> None:
    dom = shapeplan.check(SQUARE).domain
    assert not dom.exact
    grid = plot.domain_grid(dom, ("H",), 1, 12)  # W free: through Domain.contains
    assert len(grid.valid) == 1 and grid.valid[0] == [dom.contains(H=h) for h in range(1, 13)]
    data = plot.to_png(grid, "Sq")
    w, h, _ = read_png(data)
    assert h < w
    assert cell_colour(data, grid, "Sq", H=5) == plot.VALID


def test_svg_plot() -> None:
    rep = report(EX / "unet.yaml")
    svg = plot.render(rep.domain, "svg", None, (1, 64), "UNet").decode()
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    texts = " ".join(t.text or "" for t in root.iter(SVG + "text"))
    assert "UNet: valid input sizes" in texts and "valid" in texts and "invalid" in texts
    assert str(rep.domain).split(",")[0] in texts
    grid = plot.domain_grid(rep.domain, ("H", "W"), 1, 64)
    cell = plot.layout(grid, "", 7.2, 16, 1).cell
    green = [r for r in root.iter(SVG + "rect") if r.get("fill") == "#2e9e4f" and r.get("stroke") is None]
    assert sum(int(r.get("width", 0)) for r in green) == 16 * cell  # 4 x 4 valid cells, one run each


def test_plot_symbol_choice_and_errors() -> None:
    dom = report(EX / "unet.yaml").domain
    assert plot.choose_symbols(dom) == ("H", "W")
    assert plot.choose_symbols(dom, ["W"]) == ("W",)
    with pytest.raises(ShapeplanError, match="cannot plot symbols"):
        plot.choose_symbols(dom, ["Q"])
    for bad in ("0:10", "5:1", "a:b", "1:100000", "7"):
        with pytest.raises(ShapeplanError):
            plot.parse_range(bad)
    assert plot.parse_range("2:64") == (2, 64)
    fixed = shapeplan.check((EX / "lenet.yaml").read_text().replace("[N, 1, H, W]", "[1, 1, 32, 32]")).domain
    with pytest.raises(ShapeplanError, match="no size symbols"):
        plot.choose_symbols(fixed)


def test_cli_solve_plot(tmp_path: Path) -> None:
    png = tmp_path / "d.png"
    r = runner.invoke(app, ["solve", str(EX / "lenet.yaml"), "--plot", str(png), "--plot-range", "1:64"])
    assert r.exit_code == 0, r.output
    read_png(png.read_bytes())
    svg = tmp_path / "d.svg"
    r = runner.invoke(app, ["solve", str(EX / "unet.yaml"), "--plot", str(svg), "--plot-symbols", "W"])
    assert r.exit_code == 0 and ET.fromstring(svg.read_text()).tag == SVG + "svg"
    r = runner.invoke(app, ["solve", str(EX / "lenet.yaml"), "--plot", str(png), "--plot-range", "9:1"])
    assert r.exit_code == 2 and "--plot-range" in r.stderr
    bad = tmp_path / "bad.png"
    r = runner.invoke(app, ["solve", str(EX / "lenet_bad.yaml"), "--plot", str(bad), "--plot-range", "1:32"])
    assert r.exit_code == 1
    assert count_colour(bad.read_bytes(), plot.VALID) == 10 * 10  # only the legend: no valid size


def test_font_covers_printable_ascii() -> None:
    for c in range(32, 127):
        rows = _font.GLYPHS[chr(c)]
        assert len(rows) <= _font.HEIGHT and all(len(r) == _font.WIDTH and set(r) <= {"#", "."} for r in rows)
    assert _font.glyph("é") == _font.GLYPHS["?"]

"""Hostile and broken input: every file of tests/hostile/ through the CLI and the API.

Each file says what it expects on its first line (``# expect: exit=2 code=yaml``); files
that cannot carry a comment (binary, empty) are listed in BINARY.  For every file:

- ``shapeplan check FILE`` exits with the expected code (2: unreadable input, 1: shape
  errors of a readable network, 0: fine), prints the diagnostic with its ``file:line:col``
  (for problems inside the file) and never a Python traceback, within a time bound;
- ``shapeplan.load`` raises InputError (or loads, and ``check`` agrees with the CLI), from
  the path and from the text;
- a network that loads is emitted as Python source that compiles, parses, uses only ASCII
  identifiers, and carries no hostile text outside string literals and comments; the
  module is built and run in torch at the smallest valid size, with the predicted shapes;
- nothing written in a file is ever executed (the marker file is never created).

Generated monsters (50 MB, 10**4 nested brackets, a FIFO, thousands of layers) run in a
subprocess under a 2 GB address-space limit and a timeout.
"""

from __future__ import annotations

import ast
import io
import keyword
import os
import re
import resource
import subprocess
import sys
import time
import tokenize
from pathlib import Path

import pytest
from typer.testing import CliRunner

import shapeplan
from shapeplan.cli import app
from shapeplan.core.dims import evaluate
from shapeplan.core.errors import Location

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS_DIR = HERE / "hostile"
MARK = Path("/tmp/shapeplan_pwned_marker")  # the hostile strings try to create this file
BINARY = {  # files without an `# expect:` line: name -> (exit code, diagnostic code)
    "empty.yaml": (2, "empty"),
    "binary_random.yaml": (2, "file"),
    "binary_png.yaml": (2, "file"),
    "binary_nul.yaml": (2, "file"),
    "binary_invalid_utf8.yaml": (2, "file"),
    "binary_latin1.yaml": (2, "file"),
    "binary_utf16_bom.yaml": (2, "file"),
    "binary_utf8_bom.yaml": (0, None),
    "binary_control_chars.yaml": (2, "yaml"),
}
WHOLE_FILE_CODES = {"file"}  # about the file as a whole: no line:col
# text that must never reach emitted code outside a string literal or a comment
HOSTILE_TEXT = ["__import__", "os.system", "import os", str(MARK), "'''", '"""', "\\", "exec(", "eval("]
TIME_LIMIT_S = 5.0  # per file, in-process (generous: the test machine is shared)
CORPUS = sorted(CORPUS_DIR.glob("*.yaml"))
runner = CliRunner()


def expectation(path: Path) -> tuple[int, str | None]:
    if path.name in BINARY:
        return BINARY[path.name]
    first = path.read_text(encoding="utf-8").splitlines()[0]
    m = re.fullmatch(r"# expect: exit=(\d)(?: code=(\S*))?", first)
    assert m, f"{path.name}: the first line must be `# expect: exit=N code=CODE`"
    return int(m.group(1)), m.group(2) or None


@pytest.fixture(autouse=True)
def _no_marker():
    MARK.unlink(missing_ok=True)
    yield
    assert not MARK.exists(), "a hostile string was executed"


def test_corpus_is_large_and_described():
    assert len(CORPUS) >= 300
    for path in CORPUS:
        expectation(path)
    assert set(BINARY) <= {p.name for p in CORPUS}


# --------------------------------------------------------------------------- the CLI, in process


def _diagnostic_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if re.search(r"(error|warning|note)\[[\w-]+\]", line)]


def check_cli(path: Path, want_exit: int, want_code: str | None) -> None:
    t0 = time.perf_counter()
    r = runner.invoke(app, ["check", "-q", str(path)])
    elapsed = time.perf_counter() - t0
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output, r.output
    assert elapsed < TIME_LIMIT_S, f"{path.name} took {elapsed:.1f} s"
    assert r.exit_code == want_exit, (path.name, r.exit_code, r.stderr[-2000:])
    diags = _diagnostic_lines(r.stderr)
    if want_exit == 0:
        assert not [d for d in diags if "error[" in d], r.stderr
        return
    errors = [d for d in diags if "error[" in d]
    assert errors, r.stderr
    if want_code:
        assert any(f"error[{want_code}]" in d for d in errors), (path.name, r.stderr[-2000:])
    shown = str(Location(str(path)))  # the file name, with unprintable characters escaped
    for d in errors:
        assert d.startswith(shown), d  # every diagnostic names the file ...
        code = re.search(r"error\[([\w-]+)\]", d).group(1)  # type: ignore[union-attr]
        if code not in WHOLE_FILE_CODES:  # ... and the line:col inside it
            assert re.match(re.escape(shown) + r":\d+:\d+: ", d), d
    assert "internal" not in r.stderr, r.stderr


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_cli_check(path: Path):
    want_exit, want_code = expectation(path)
    check_cli(path, want_exit, want_code)


# --------------------------------------------------------------------------- the API, and emitted code


def _load_both(path: Path) -> shapeplan.Network | None:
    """load() from the path and from the text agree; None where the input is refused."""
    want_exit, _ = expectation(path)
    try:
        net = shapeplan.load(path)
    except shapeplan.InputError as e:
        assert want_exit == 2, (path.name, str(e))
        assert e.exit_code == 2 and e.diagnostics
        return None
    assert want_exit in (0, 1), path.name
    text = path.read_bytes().decode("utf-8-sig")
    from_text = shapeplan.load(text)
    assert [la.name for la in from_text.layers] == [la.name for la in net.layers]
    return net


def check_emitted_source(src: str, hostile: list[str]) -> None:
    compile(src, "<emit>", "exec")
    tree = ast.parse(src)
    for node in ast.walk(tree):
        names: list[str | None] = []
        if isinstance(node, ast.alias):
            names = [node.asname]
        elif isinstance(node, ast.Name):
            names = [node.id]
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
        elif isinstance(node, ast.arg):
            names = [node.arg]
        elif isinstance(node, ast.keyword):
            names = [node.arg]
        for n in names:
            if n is not None:
                assert n.isascii() and n.isidentifier() and not keyword.iskeyword(n), n
    # only printable text and newlines: no \r or form feed that Python would read as a line break
    assert all(ch == "\n" or ch.isprintable() for ch in src), [ch for ch in src if ch != "\n" and not ch.isprintable()]
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type in (tokenize.STRING, tokenize.COMMENT):
            continue
        assert tok.string.isascii(), tok
        for h in hostile:
            assert h not in tok.string, (h, tok)


def _run_built(rep: shapeplan.Report) -> None:
    import torch

    from shapeplan.backends.emit import build

    env = rep.domain.smallest()
    assert env is not None, "a network that checks ok has a smallest valid size"
    sizes = {k: max(v, 1) if k == "N" else v for k, v in env.items()}
    if not rep.domain.contains(**sizes):
        sizes = dict(env)
    model = build(rep, sizes=sizes).eval()
    xs = [torch.zeros(tuple(evaluate(d, sizes) for d in shape)) for shape in rep.network.inputs.values()]
    with torch.no_grad():
        out = model(*xs)
    outs = out if isinstance(out, tuple) else (out,)
    want = [tuple(evaluate(d, sizes) for d in shape) for shape in rep.outputs]
    assert [tuple(o.shape) for o in outs] == want


LOADABLE = [p for p in CORPUS if expectation(p)[0] in (0, 1)]


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_api_load(path: Path):
    net = _load_both(path)
    if net is None:
        return
    rep = shapeplan.check(net)
    assert rep.ok == (expectation(path)[0] == 0), [d.render() for d in rep.diagnostics]


@pytest.mark.parametrize("path", [p for p in LOADABLE if expectation(p)[0] == 0],
                         ids=[p.name for p in LOADABLE if expectation(p)[0] == 0])
def test_emit_is_safe_and_runs(path: Path):
    from shapeplan.backends.emit import emit

    rep = shapeplan.check(path)
    assert rep.ok
    src = emit(rep)
    hostile = HOSTILE_TEXT + [la.name for la in rep.network.layers if not la.name.isidentifier()]
    check_emitted_source(src, hostile)
    check_emitted_source(emit(rep, trace=True), HOSTILE_TEXT)
    # names that collide after sanitizing (a.0.c, a_0_c) still get one attribute each
    init = next(n for n in ast.walk(ast.parse(src)) if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    attrs = [t.attr for n in ast.walk(init) if isinstance(n, ast.Assign) for t in n.targets
             if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"]
    assert len(attrs) == len(set(attrs)), attrs
    modules = [la for la in rep.network.layers if shapeplan.ops.REGISTRY[la.op].kind == "module"]
    assert len(attrs) >= len(modules)
    _run_built(rep)


def test_emit_refuses_networks_with_shape_errors():
    for path in LOADABLE:
        if expectation(path)[0] == 1:
            with pytest.raises(shapeplan.ShapeError):
                shapeplan.emit(shapeplan.check(path))


@pytest.mark.parametrize("name", [
    'a"""b.yaml', "a'''b.yaml", "new\nline.yaml", "back\\slash.yaml", "{braces}.yaml", "x; import os #.yaml",
    "üñí çødé.yaml", "tab\there.yaml", "cr\rhere.yaml", "ls\u2028sep.yaml", "-dash.yaml",
])
def test_hostile_file_names(tmp_path: Path, name: str):
    """The file name goes into diagnostics and into the emitted docstring: it must stay inert."""
    path = tmp_path / name
    path.write_text("input: [N, 3, H, W]\nlayers:\n  - {op: Conv2d, in_channels: 3, out_channels: 2, kernel_size: 3}\n"
                    "  - {op: bogus}\n")
    check_cli(path, 2, "unknown-op")
    path.write_text("input: [N, 3, H, W]\nlayers:\n  - {op: Conv2d, in_channels: 3, out_channels: 2, kernel_size: 3}\n")
    check_cli(path, 0, None)
    rep = shapeplan.check(path)
    check_emitted_source(shapeplan.emit(rep), HOSTILE_TEXT + ["\u2028", "\r", "\t"])


def test_hostile_python_values():
    """load(dict): values that are no YAML data are refused, never called or compared."""

    class Evil:
        def __repr__(self) -> str:
            return f"__import__('os').system('touch {MARK}')"

        def __eq__(self, other: object) -> bool:
            raise RuntimeError("compared")

        __hash__ = object.__hash__

    base = {"input": ["N", 3, "H", "W"], "layers": [{"op": "ReLU"}]}
    rec: dict = {"input": ["N", 3, "H", "W"], "layers": []}
    rec["layers"].append(rec)
    cases = [
        {**base, "layers": [{"op": "Conv2d", "in_channels": 3, "out_channels": Evil(), "kernel_size": 3}]},
        {**base, "layers": [{"op": "ReLU", Evil(): 1}]},
        {Evil(): 1, **base},
        {**base, 1: 2},
        {**base, "input": ["N", {3}, "H", "W"]},
        {**base, "input": ["N", 10**100, "H", "W"]},
        rec,
    ]
    for c in cases:
        with pytest.raises(shapeplan.InputError):
            shapeplan.load(c)
    for bad in (b"input: [N]", 3, None, ["input"], "", "a\x00b.yaml"):
        with pytest.raises(shapeplan.InputError):
            shapeplan.load(bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- generated monsters, in a subprocess

GB = 1 << 30


def _limits() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (2 * GB, 2 * GB))
    resource.setrlimit(resource.RLIMIT_CPU, (120, 120))


def run_cli(*args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "shapeplan.cli", *args], capture_output=True, text=True, cwd=ROOT,
                       timeout=timeout, preexec_fn=_limits, env={**os.environ, "PYTHONHASHSEED": "0"})
    return r, time.perf_counter() - t0


def _monsters(d: Path) -> dict[str, tuple[int, str | None]]:
    """Write the generated files; returns name -> (exit code, code)."""
    out: dict[str, tuple[int, str | None]] = {}

    def put(name: str, text: str | bytes, want: tuple[int, str | None]) -> None:
        p = d / name
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
        out[name] = want

    n = 10**4
    put("deep_lists.yaml", "input: " + "[" * n + "]" * n + "\nlayers: [{op: ReLU}]\n", (2, "yaml"))
    put("deep_maps.yaml", "input: " + "{a: " * n + "1" + "}" * n + "\nlayers: [{op: ReLU}]\n", (2, "yaml"))
    put("deep_unclosed.yaml", "input: " + "[{" * n, (2, "yaml"))
    put("deep_dashes.yaml", "input:\n" + "- " * n + "1\nlayers: [{op: ReLU}]\n", (2, "yaml"))
    big = "input: [N, 3, H, W]\nlayers:\n" + "  - {op: ReLU}   # padding padding padding padding padding\n" * 900_000
    put("fifty_megabytes.yaml", big, (2, "file"))
    assert (d / "fifty_megabytes.yaml").stat().st_size > 50 * 10**6
    put("just_under_limit.yaml", "input: [N, 3, H, W]\nlayers:\n  - {op: ReLU}\n" + "# filler\n" * 400_000, (0, None))
    layers = "".join(f"  - {{name: c{i}, op: Conv2d, in_channels: auto, out_channels: 4, kernel_size: 3, padding: 1}}\n"
                     for i in range(600))
    put("many_layers.yaml", "input: [N, 3, H, W]\nlayers:\n" + layers, (0, None))
    put("many_errors.yaml", "input: [N, 3, H, W]\nlayers:\n"
        + "".join(f"  - {{name: l{i}, op: ReLU, from: nowhere{i}}}\n" for i in range(2000)), (2, "unknown-from"))
    put("many_unknown_ops.yaml", "input: [N, 3, H, W]\nlayers:\n"
        + "".join(f"  - {{name: l{i}, op: Frob{i}}}\n" for i in range(2000)), (2, "unknown-op"))
    put("strided_chain.yaml", "blocks: {b: {layers: [{op: Conv2d, in_channels: 3, out_channels: 3, kernel_size: 3, "
        "stride: 2, padding: 1}]}}\ninput: [N, 3, H, W]\nlayers:\n  - {block: b, repeat: 40}\n", (0, None))
    put("twenty_thousand_layers.yaml", "blocks: {b: {layers: [{op: ReLU}]}}\ninput: [N, 3, H, W]\nlayers:\n"
        "  - {block: b, repeat: 10000}\n  - {block: b, repeat: 10000}\n", (0, None))
    put("layers_over_limit.yaml", "blocks: {b: {layers: [{op: ReLU}]}}\ninput: [N, 3, H, W]\nlayers:\n"
        + "  - {block: b, repeat: 10000}\n" * 21, (2, "too-many-layers"))
    os.mkfifo(d / "fifo.yaml")
    out["fifo.yaml"] = (2, "file")
    (d / "a_directory.yaml").mkdir()
    out["a_directory.yaml"] = (2, "file")
    out["missing.yaml"] = (2, "file")
    return out


def test_generated_monsters(tmp_path: Path):
    """First all at once in a subprocess (2 GB, a timeout: a hang or a memory blow-up fails
    the test instead of the machine), then one by one in process for the exit codes."""
    want = _monsters(tmp_path)
    paths = [str(tmp_path / name) for name in want]
    r, elapsed = run_cli("check", "-q", *paths)
    assert "Traceback" not in r.stderr + r.stdout, r.stderr[-3000:]
    assert r.returncode == 2
    assert elapsed < 40, elapsed
    for path, (_code, diag) in zip(paths, want.values()):
        if diag:
            assert re.search(rf"^{re.escape(path)}(:\d+:\d+)?: error\[{diag}\]", r.stderr, re.M), (path, diag)
    for path, (code, diag) in zip(paths, want.values()):
        check_cli(Path(path), code, diag)
    for name in ("many_errors.yaml", "many_unknown_ops.yaml"):
        r2 = runner.invoke(app, ["check", "-q", str(tmp_path / name)])
        assert "note[too-many-errors]" in r2.stderr
        assert r2.stderr.count("error[") <= 60


def test_whole_corpus_in_one_limited_subprocess():
    """The real console entry point over every corpus file at once: exit 2, a diagnostic for
    each refused file, no traceback, bounded memory (2 GB) and time."""
    r, elapsed = run_cli("check", "-q", *map(str, CORPUS), timeout=120)
    assert "Traceback" not in r.stderr + r.stdout
    assert r.returncode == 2
    for path in CORPUS:
        want_exit, want_code = expectation(path)
        if want_exit == 2 and want_code:
            assert re.search(rf"^{re.escape(str(path))}(:\d+:\d+)?: error\[{want_code}\]", r.stderr, re.M), path.name
    assert elapsed < 60, elapsed

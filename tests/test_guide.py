"""docs/guide.md runs: every command and every Python snippet in it, in order, with the output
the guide shows.

- A ```console block holds commands (lines starting with ``$ ``), each followed by the output
  the guide shows for it (stdout and stderr together, as a terminal shows them).  A command
  ends with ``# exit code N`` where it must exit with N (default 0).
- ``shapeplan ...`` commands run in-process (typer's CliRunner, the same ``app`` as the
  console script); ``python -m pytest ...`` runs in a subprocess, with ``-p no:shapeplan
  -p shapeplan.testing`` added (this checkout's plugin, whether or not its entry point is
  installed), ``-p no:cacheprovider``, and a filter that ignores warnings raised inside the
  dependencies (torch's "Failed to initialize NumPy" in an environment without numpy would
  otherwise add a warnings summary); shapeplan's own warnings and the test file's still show.
- Everything runs in one temporary copy of ``docs/`` and ``examples/`` (cwd = that copy),
  so commands that write files (``-o net.yaml``) feed the commands after them.
- Output comparison, after a small normalisation: trailing whitespace and trailing blank
  lines are ignored, durations (``0.52s``) compare equal to any duration, and a line that is
  exactly ``...`` matches any number of lines (the guide shows an excerpt).
- A ```python block is executed (one namespace for the whole guide, cwd = the copy); a
  block with ``>>>`` prompts runs as a doctest (``...`` in an expected value matches
  anything).  The snippets state their claims with ``assert``.
- A Python block whose first line is ``# docs/X.py: ...`` is the whole of that file (and is
  executed too).
- Every picture the guide shows (``![..](img/X)``) is a file that the guide's own commands
  write; it must equal the one in docs/img (rerun the command there to refresh it).
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import shapeplan.cli.bridge  # noqa: F401 - registers emit / validate / import on the app
from shapeplan.cli import app

# the guide's test-file listing uses @pytest.mark.shapeplan, unknown here where the plugin is not installed
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "guide.md"


@dataclass
class Item:
    kind: str  # "command" or "python"
    line: int  # 1-based line of the command / of the block's first line in the guide
    text: str  # the command line, or the block's source
    expected: list[str] = field(default_factory=list)
    exit_code: int = 0

    @property
    def id(self) -> str:
        head = self.text.splitlines()[0] if self.text else ""
        return f"L{self.line}-" + re.sub(r"[^A-Za-z0-9_.:-]+", "_", head)[:60]


def parse_guide(text: str) -> list[Item]:
    items: list[Item] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(1), i + 1
        end = next((j for j in range(start, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            raise ValueError(f"docs/guide.md:{i + 1}: unterminated ``` block")
        body = lines[start:end]
        if lang == "console":
            for k, line in enumerate(body):
                if line.startswith("$ "):
                    code = re.search(r"#\s*exit code (\d+)\s*$", line)
                    items.append(Item("command", start + k + 1, line[2:], exit_code=int(code.group(1)) if code else 0))
                elif items and items[-1].kind == "command" and start <= items[-1].line - 1 < end:
                    items[-1].expected.append(line)
                else:
                    raise ValueError(f"docs/guide.md:{start + k + 1}: output before any $ command")
        elif lang == "python":
            items.append(Item("python", start + 1, "\n".join(body) + "\n"))
        i = end + 1
    return items


ITEMS = parse_guide(GUIDE.read_text())

# pytest's filterwarnings syntax (action:message:category:module); in an ini value the module is a regex
# matched at the start of the name of the module the warning is attributed to
DEPENDENCY_WARNINGS = r"ignore:::(torch|torchvision|timm|numpy|sympy|networkx|typer|click|yaml)(\.|$)"

_DURATION = re.compile(r"\b\d+(?:\.\d+)?s\b")


def _norm(lines: list[str]) -> list[str]:
    out = [_DURATION.sub("<t>s", line.rstrip()) for line in lines]
    while out and not out[-1]:
        out.pop()
    return out


def _matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line; an expected ``...`` line matches any run of actual lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(_matches(expected[1:], actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and _matches(expected[1:], actual[1:])


def _run_command(item: Item, cwd: Path) -> tuple[int, str]:
    argv = shlex.split(item.text, comments=True)
    if argv[0] == "shapeplan":
        result = CliRunner().invoke(app, argv[1:])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.output
    if argv[:3] == ["python", "-m", "pytest"]:
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:shapeplan", "-p", "shapeplan.testing",
               "-o", f"filterwarnings={DEPENDENCY_WARNINGS}", *argv[3:]]
        # the reader's shell: none of this run's pytest settings (PYTEST_ADDOPTS, an xdist worker's)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env.update({"PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "80"})
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, env=env)
        return proc.returncode, proc.stdout + proc.stderr
    raise ValueError(f"docs/guide.md:{item.line}: the guide runs only `shapeplan ...` and `python -m pytest ...`, "
                     f"not {argv[0]!r}")


def _run_python(item: Item, ns: dict[str, Any]) -> str | None:
    """None when the block ran (and its doctest examples agreed), else the failure."""
    if ">>> " in item.text:
        test = doctest.DocTestParser().get_doctest(item.text, ns, f"guide.md:{item.line}", str(GUIDE), item.line - 1)
        out: list[str] = []
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        runner.run(test, out=out.append, clear_globs=False)
        return "".join(out) if runner.failures else None
    try:
        exec(compile(item.text, f"docs/guide.md:{item.line}", "exec"), ns)  # noqa: S102 - the guide's own code
    except Exception as e:  # noqa: BLE001 - reported by the item's test
        return f"{type(e).__name__}: {e}"
    return None


@pytest.fixture(scope="module")
def guide_run(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Any]:
    """Run the whole guide once, in order; each item's test then checks its own result."""
    work = tmp_path_factory.mktemp("guide")
    shutil.copytree(ROOT / "examples", work / "examples")
    shutil.copytree(ROOT / "docs", work / "docs", ignore=shutil.ignore_patterns("img", "__pycache__"))
    (work / "docs" / "img").mkdir()
    cwd, path, modules = Path.cwd(), list(sys.path), set(sys.modules)
    ns: dict[str, Any] = {"__name__": "guide"}
    results: dict[int, Any] = {"work": work}
    os.chdir(work)
    try:
        for item in ITEMS:
            if item.kind == "command":
                results[item.line] = _run_command(item, work)
            else:
                results[item.line] = _run_python(item, ns)
    finally:
        os.chdir(cwd)
        sys.path[:] = path
        for name in set(sys.modules) - modules:  # the modules the guide imported from its copy
            if str(work) in str(getattr(sys.modules[name], "__file__", "") or ""):
                del sys.modules[name]
    return results


def test_the_guide_has_commands_and_snippets():
    kinds = [item.kind for item in ITEMS]
    assert kinds.count("command") >= 15 and kinds.count("python") >= 3, kinds
    commands = {shlex.split(item.text)[1] for item in ITEMS if item.kind == "command" and item.text.startswith("shapeplan")}
    assert {"import", "check", "solve", "emit", "validate", "graph"} <= commands


@pytest.mark.parametrize("item", ITEMS, ids=[item.id for item in ITEMS])
def test_guide(item: Item, guide_run: dict[int, Any]):
    result = guide_run[item.line]
    if item.kind == "python":
        assert result is None, f"docs/guide.md:{item.line}: the snippet failed:\n{result}"
        return
    code, output = result
    actual = _norm(output.splitlines())
    expected = _norm(item.expected)
    assert code == item.exit_code, f"docs/guide.md:{item.line}: $ {item.text}\nexit code {code}, output:\n{output}"
    assert _matches(expected, actual), (
        f"docs/guide.md:{item.line}: $ {item.text}\n--- the guide shows:\n" + "\n".join(item.expected)
        + "\n--- the command prints:\n" + "\n".join(actual))


def test_pictures_are_the_ones_the_commands_draw(guide_run: dict[int, Any]):
    pictures = re.findall(r"!\[[^\]]*\]\((img/[^)]+)\)", GUIDE.read_text())
    assert pictures
    for rel in pictures:
        drawn = guide_run["work"] / "docs" / rel
        shown = ROOT / "docs" / rel
        assert drawn.is_file(), f"no command of the guide writes docs/{rel}"
        assert shown.is_file() and shown.read_bytes() == drawn.read_bytes(), (
            f"docs/{rel} is stale: rerun the guide's command that writes it, from the repository root")


def test_listings_are_the_files():
    """A Python block whose first line is ``# docs/X.py...`` shows that whole file."""
    listings = [item for item in ITEMS if item.kind == "python" and re.match(r"# docs/\S+\.py\b", item.text)]
    assert len(listings) >= 2
    for item in listings:
        path = ROOT / item.text.split()[1].rstrip(":")
        assert path.is_file() and path.read_text() == item.text, f"docs/guide.md:{item.line} differs from {path}"


def test_readme_links_the_guide():
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"^## Guide\n", readme, re.M) and "(docs/guide.md)" in readme.split("## Guide", 1)[1]


def test_matching_rules():
    assert _matches(["a", "...", "z"], ["a", "b", "c", "z"])
    assert _matches(["a", "...", "z"], ["a", "z"])
    assert not _matches(["a", "...", "z"], ["a", "b"])
    assert not _matches(["a"], ["a", "b"])
    assert _norm(["2 passed in 0.52s  ", ""]) == ["2 passed in <t>s"]
    module = DEPENDENCY_WARNINGS.split(":")[3]  # the filter ignores the dependencies' warnings, no others
    assert all(re.match(module, m) for m in ("torch._subclasses.functional_tensor", "numpy", "torchvision.ops"))
    assert not any(re.match(module, m) for m in ("shapeplan.testing", "test_tutorial_net", "torchlike", "__main__"))
    items = parse_guide("```console\n$ shapeplan check x.yaml   # exit code 1\nout\n```\n```python\nx = 1\n```\n")
    assert [(i.kind, i.line, i.expected, i.exit_code) for i in items] == [("command", 2, ["out"], 1), ("python", 6, [], 0)]

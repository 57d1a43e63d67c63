"""Shape assertions for your own test suite, and the pytest plugin that offers them.

    from shapeplan.testing import assert_shapes

    def test_net_shapes():
        assert_shapes(Net(), ("N", 1, "H", "W"), {
            "conv1": ("N", 6, "H - 4", "W - 4"),
            "flatten": "(N, 16*(H//4 - 3)*(W//4 - 3))",
            "fc3": ("N", 10),
        })

:func:`assert_shapes` imports the module (:func:`shapeplan.from_torch`), checks it for every
input size at once (no shape errors), compares layer shapes with ``expected`` as formulas,
and runs the module's own forward pass at sizes inside and just outside its domain (chosen
by :func:`shapeplan.backends.validate.choose_sizes`; see :mod:`shapeplan.backends.module_run`), comparing what
torch does with the prediction (whether torch accepts a size: the CPU's answer, whatever the device).
On failure it raises ``AssertionError`` with one line per differing layer.
:func:`assert_domain` asserts which input sizes are valid.

Shapes in ``expected`` are tuples of ints, symbol names and size expressions (``"H//4 - 3"``,
parsed by :func:`shapeplan.core.expr.parse_size`, never ``eval``), sympy expressions, or the text
shapeplan prints (``"(N, 6, H - 4, W - 4)"``).  Two dims are equal when their difference
expands to 0 (floor terms such as ``H//4`` are atoms: ``(H - 12)//4`` equals ``H//4 - 3``
because the parser normalises it, not because anything is simplified).

With shapeplan installed, pytest loads this module as a plugin (entry point ``pytest11``):
the fixture ``shapeplan_check`` is :func:`assert_shapes` with defaults taken from the test's
``@pytest.mark.shapeplan(input_shape, expected=..., sizes=..., device=...)`` marker.  Loading
the plugin does not import torch; checking a module does.
"""

from __future__ import annotations

import difflib
import operator
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Union

import sympy

from .analysis.check import Report, run_check
from .backends.validate import SIZE_CAP, SizeResult, choose_sizes
from .core.dims import Dim, Shape, fmt_shape, norm, sym
from .core.errors import Diagnostic, ShapeplanError
from .core.expr import ExprError, parse_size

DimSpec = Union[int, str, sympy.Expr]
ShapeSpec = Union[str, Sequence[DimSpec]]
Sizes = Union[Mapping[str, int], str]

__all__ = ["assert_domain", "assert_shapes", "parse_shape"]


# ---------------------------------------------------------------------- expected shapes


def _parse_dim(d: object) -> Dim:
    if isinstance(d, bool):
        raise TypeError(f"a size must be an int, a symbol name or a size expression, got {d!r}")
    if isinstance(d, str):
        try:
            return parse_size(d)
        except ExprError as e:
            raise ValueError(f"bad size expression {d!r}: {e}") from None
    if isinstance(d, sympy.Expr):  # user symbols (any assumptions) -> shapeplan's symbols, by name
        return norm(d.xreplace({s: sym(s.name) for s in d.free_symbols if isinstance(s, sympy.Symbol)}))
    try:
        return operator.index(d)  # type: ignore[arg-type]  # int, numpy ints, torch.Size items
    except TypeError:
        raise TypeError(f"a size must be an int, a symbol name or a size expression, got {d!r}") from None


def _split_top(text: str) -> list[str]:
    """Split at the commas outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += (c == "(") - (c == ")")
        if c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    if len(parts) > 1 and not parts[-1].strip():  # "(N,)"
        parts.pop()
    return parts


def _strip_parens(text: str) -> str:
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    for i, c in enumerate(text):
        depth += (c == "(") - (c == ")")
        if depth == 0:
            return text[1:-1] if i == len(text) - 1 else text
    return text


def parse_shape(spec: ShapeSpec) -> Shape:
    """An expected shape -> a tuple of ints and sympy expressions.

    ``("N", 6, "H - 4", "W - 4")``, ``"(N, 6, H - 4, W - 4)"`` (the text shapeplan prints)
    and tuples holding sympy expressions are accepted.
    """
    if isinstance(spec, str):
        items: Sequence[object] = [p.strip() for p in _split_top(_strip_parens(spec.strip()))]
        if items == [""]:
            items = []
    elif isinstance(spec, Sequence):  # tuples, lists, torch.Size
        items = list(spec)
    else:
        raise TypeError(f"a shape must be a tuple of sizes or a string like '(N, 6, H - 4, W - 4)', got {spec!r}")
    return tuple(_parse_dim(d) for d in items)


def same_dim(a: Dim, b: Dim) -> bool:
    """Exact equality of two sizes: equal ints, or a difference that expands to 0."""
    if a == b:
        return True
    if isinstance(a, int) and isinstance(b, int):
        return False
    return bool(sympy.expand(sympy.sympify(a) - sympy.sympify(b)) == 0)


def same_shape(a: Shape, b: Shape) -> bool:
    return len(a) == len(b) and all(same_dim(x, y) for x, y in zip(a, b))


def shape_diff(rep: Report, expected: Mapping[str, ShapeSpec]) -> list[str]:
    """One line per layer whose shape is not the expected one (empty: all as expected)."""
    shapes = rep.shapes
    rows: list[tuple[str, str]] = []
    for name, spec in expected.items():
        try:
            want = parse_shape(spec)
        except (TypeError, ValueError) as e:
            raise type(e)(f"expected[{name!r}]: {e}") from None
        if name not in shapes:
            close = difflib.get_close_matches(name, list(shapes), n=1)
            known = ", ".join(list(shapes)[:12]) + (", ..." if len(shapes) > 12 else "")
            rows.append((name, f"expected {fmt_shape(want)}, but there is no such layer"
                               + (f" (did you mean {close[0]!r}?)" if close else f" (layers: {known})")))
            continue
        got = shapes[name]
        if got is None:
            rows.append((name, f"expected {fmt_shape(want)}, got no shape (the layer has an error)"))
        elif not same_shape(want, got):
            rows.append((name, f"expected {fmt_shape(want)}, got {fmt_shape(got)}"))
    width = max((len(n) for n, _ in rows), default=0) + 1
    return [f"  {(n + ':').ljust(width)} {text}" for n, text in rows]


# ---------------------------------------------------------------------- the network


def _is_module(x: object) -> bool:
    torch = sys.modules.get("torch")  # no torch imported: x cannot be an nn.Module
    return torch is not None and isinstance(x, torch.nn.Module)


def _report(module: Any, input_shape: Any) -> Report:
    from .api import load
    from .frontends.torch.importer import from_torch

    if _is_module(module):
        if input_shape is None:
            raise TypeError("input_shape is required for an nn.Module, e.g. ('N', 3, 'H', 'W')")
        modes = {m: m.training for m in module.modules()}  # from_torch restores only the top module's mode
        try:
            net = from_torch(module, input_shape)
        except ShapeplanError as e:
            raise AssertionError(f"shapeplan cannot import {type(module).__name__}:\n{_indent(_diag_lines(e.diagnostics))}") from None
        finally:
            for m, mode in modes.items():
                m.training = mode
    else:
        if input_shape is not None:
            raise TypeError("input_shape is for an nn.Module; a net.yaml or Network gives its own inputs")
        net = load(module)
    return run_check(net)


def _diag_lines(diags: Iterable[Diagnostic]) -> list[str]:
    out = []
    for d in diags:
        out.append(f"{d.severity}[{d.code}]: {d.message}")
        if d.hint:
            out.append(f"  hint: {d.hint}")
    return out


def _indent(lines: Iterable[str]) -> str:
    return "\n".join("  " + line for line in lines)


def _sizes_text(env: Mapping[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in env.items()) or "(no symbols)"


def _problems(rep: Report) -> str | None:
    """Shape errors, or an empty domain: what makes a network fail before any comparison."""
    name = rep.network.name
    if rep.errors:
        return f"{name} has shape errors:\n" + _indent(_diag_lines(rep.errors))
    if not rep.ok:
        return f"{name} is valid at no input size:\n" + _indent(_diag_lines(rep.diagnostics))
    return None


# ---------------------------------------------------------------------- forward passes


def _disagreement(rep: Report, results: list[SizeResult], device: str) -> str | None:
    bad = [r for r in results if not r.agree]
    if not bad:
        return None
    r = bad[0]
    more = f"; {len(bad) - 1} more size{'s disagree' if len(bad) > 2 else ' disagrees'}" if len(bad) > 1 else ""
    lines = [f"the forward pass of {rep.network.name} on {device} disagrees with shapeplan at "
             f"{_sizes_text(r.sizes)} ({len(results)} sizes tried{more}):"]
    pred = "valid" if r.predicted_valid else f"invalid (valid inputs: {rep.domain})"
    lines.append(f"  predicted {pred}, torch " + ("ran" if r.ran else f"raised {r.error}"))
    lines += [f"  {m}" for m in r.mismatches[:20]]
    if r.device_note:
        lines.append(f"  note: {r.device_note}")
    return "\n".join(lines)


# ---------------------------------------------------------------------- the assertions


def assert_shapes(module: Any, input_shape: Any = None, expected: Mapping[str, ShapeSpec] | None = None, *,
                  sizes: Iterable[Mapping[str, int]] | None = None, device: str = "meta") -> Report:
    """Assert that ``module`` has no shape errors, that its layers have the ``expected``
    shapes (a dict layer name -> shape, for every input size at once), and that real forward
    passes at ``sizes`` on ``device`` agree with the prediction.

    ``module``: an ``nn.Module`` (then ``input_shape``, e.g. ``("N", 3, "H", "W")``, is
    required), or a net.yaml path, YAML text, dict or :class:`~shapeplan.Network` (whose
    emitted module is run, as :func:`shapeplan.validate` does).  ``sizes``: dicts of symbol
    values; default: chosen from the domain, inside and just outside it.  ``device``:
    where the layer shapes are computed, ``meta`` (nothing allocated, nothing computed) or
    ``cpu``/``cuda``; whether torch accepts a size is always the CPU's answer (each size
    also runs on the CPU, so a module whose forward makes its own tensors on a fixed
    device other than the CPU cannot be checked).  Returns the :class:`~shapeplan.Report`.
    """
    __tracebackhide__ = True
    rep = _report(module, input_shape)
    failures = [p for p in [_problems(rep)] if p]
    if expected:
        diff = shape_diff(rep, expected)
        if diff:
            n = len(diff)
            failures.append(f"{rep.network.name}: {n} layer{'s differ' if n != 1 else ' differs'} from the expected shapes:\n"
                            + "\n".join(diff))
    if failures:
        raise AssertionError("\n".join(failures))
    chosen = [dict(s) for s in sizes] if sizes is not None else \
        choose_sizes(rep, cap=SIZE_CAP)
    for env in chosen:
        missing = [s for s in rep.domain.symbols if s not in env]
        if missing:
            raise ValueError(f"sizes {_sizes_text(env)} do not give {', '.join(missing)}")
    if _is_module(module):
        from .backends.module_run import module_results

        results = module_results(module, rep, chosen, device)
    else:
        from .backends.validate import validate

        results = validate(rep, chosen, device).results
    text = _disagreement(rep, results, device)
    if text:
        raise AssertionError(text)
    return rep


def _parse_sizes(s: Sizes) -> dict[str, int]:
    if isinstance(s, Mapping):
        return {str(k): int(v) for k, v in s.items()}
    env: dict[str, int] = {}
    for item in str(s).split(","):
        name, sep, value = item.partition("=")
        if not sep or not name.strip().isidentifier() or not value.strip().isdigit():
            raise ValueError(f"bad size {item.strip()!r}: write NAME=INT, e.g. 'H=32,W=32'")
        env[name.strip()] = int(value)
    return env


def _listed(x: Sizes | Iterable[Sizes]) -> Iterator[dict[str, int]]:
    if isinstance(x, (Mapping, str)):
        yield _parse_sizes(x)
    else:
        for s in x:
            yield _parse_sizes(s)


def assert_domain(module: Any, input_shape: Any = None, *, contains: Sizes | Iterable[Sizes] = (),
                  excludes: Sizes | Iterable[Sizes] = ()) -> Report:
    """Assert that every size in ``contains`` is a valid input and none in ``excludes`` is.

    A size is a dict (``{"H": 32, "W": 32}``) or text (``"H=32,W=32"``); a symbol left out
    means "some allowed value", as in :meth:`shapeplan.Domain.contains`.  ``module`` and
    ``input_shape`` as in :func:`assert_shapes`.  Returns the :class:`~shapeplan.Report`.
    """
    __tracebackhide__ = True
    rep = _report(module, input_shape)
    dom = rep.domain
    rows = []
    for env in _listed(contains):
        if not dom.contains(**env):
            rows.append(f"  {_sizes_text(env)}: expected valid, but it is not")
    for env in _listed(excludes):
        if dom.contains(**env):
            rows.append(f"  {_sizes_text(env)}: expected invalid, but it is valid")
    if rows:
        head = f"{rep.network.name}: valid inputs are {dom}" if not dom.empty else f"{rep.network.name} is valid at no input size"
        problems = _problems(rep)
        raise AssertionError("\n".join([head, *rows] + ([problems] if problems else [])))
    return rep


# ---------------------------------------------------------------------- the pytest plugin

_MARKER = ("shapeplan(input_shape=None, expected=None, *, sizes=None, device='meta'): "
           "default arguments of the shapeplan_check fixture (shapeplan.testing.assert_shapes)")


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", _MARKER)


def pytest_runtest_setup(item: Any) -> None:
    import pytest

    if item.get_closest_marker("shapeplan") is not None and "shapeplan_check" not in getattr(item, "fixturenames", ()):
        pytest.fail("@pytest.mark.shapeplan gives the arguments of the shapeplan_check fixture: "
                    "add shapeplan_check to the test's arguments and call shapeplan_check(module)", pytrace=False)


def _marker_kwargs(marker: Any) -> dict[str, Any]:
    if marker is None:
        return {}
    if len(marker.args) > 2:
        raise TypeError("@pytest.mark.shapeplan takes at most (input_shape, expected) positionally")
    kwargs = dict(zip(("input_shape", "expected"), marker.args))
    for k, v in marker.kwargs.items():
        if k in kwargs:
            raise TypeError(f"@pytest.mark.shapeplan: {k} given twice")
        kwargs[k] = v
    unknown = set(kwargs) - {"input_shape", "expected", "sizes", "device"}
    if unknown:
        raise TypeError(f"@pytest.mark.shapeplan: unknown argument {sorted(unknown)[0]!r}")
    return kwargs


try:
    import pytest as _pytest
except ImportError:  # pragma: no cover - assert_shapes works without pytest
    pass
else:

    @_pytest.fixture
    def shapeplan_check(request: Any) -> Iterator[Callable[..., Report]]:
        """``shapeplan_check(module, input_shape=None, expected=None, *, sizes=None, device=None)``:
        :func:`assert_shapes`, with the test's ``@pytest.mark.shapeplan`` arguments as defaults."""
        marker = request.node.get_closest_marker("shapeplan")
        defaults = _marker_kwargs(marker)
        calls: list[object] = []

        def check(module: Any, input_shape: Any = None, expected: Mapping[str, ShapeSpec] | None = None,
                  **kwargs: Any) -> Report:
            given = {"input_shape": input_shape, "expected": expected, **kwargs}
            args = {**defaults, **{k: v for k, v in given.items() if v is not None}}
            if not _is_module(module) and "input_shape" in defaults and input_shape is None:
                args.pop("input_shape")
            __tracebackhide__ = True
            calls.append(module)
            return assert_shapes(module, **args)

        yield check
        if marker is not None and not calls:
            _pytest.fail("the test is marked @pytest.mark.shapeplan but never calls shapeplan_check(module)",
                         pytrace=False)

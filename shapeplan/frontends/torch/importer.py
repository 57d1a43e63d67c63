"""The torch front end: an ``nn.Module`` -> :class:`~shapeplan.core.ir.Network`.

``forward`` is traced with torch.fx, its sizes kept as formulas in the input's symbols
(:mod:`.tracer`), every call turned into a layer as it is made (:mod:`.interpreter`).  Where
forward branches on sizes (``if x.shape[-2:] != skip.shape[-2:]``, ``assert h % 32 == 0``,
``torch._assert``), each side is traced in turn (:func:`~shapeplan.analysis.region.explore`):
the Network returned is the path that most sizes take, with the other paths as its
``alternatives`` (a Refusal where forward raises), each with the condition on the sizes that
take it.  Nothing is run: the module may live on any device, the meta device included.

Layers are named after the module they come from: ``layer1.0.conv1`` for a submodule, and
``layer1.0.add`` for a function called inside ``layer1.0``'s forward.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...analysis.region import MAX_PATHS, Decider, Path, Region, TooManyPaths, explore
from ...core.dims import Dim, Shape, free_symbols, sym, valid_symbol_name
from ...core.errors import Diagnostic, InputError, Location
from ...core.ir import Network, Refusal
from .locate import exception_location, node_location, source_line
from .values import Unsupported

# exceptions that a model's own forward raises to refuse an input (its checks and asserts)
_REFUSALS = (AssertionError, ValueError, RuntimeError, ZeroDivisionError)
_NOT_REFUSALS = (RecursionError, NotImplementedError)


@dataclass
class _Run:
    """What one trace of forward gave: its interpreter, forward's return value, or the error."""

    interp: Any
    out: Any = None
    error: BaseException | None = None


def _input_shapes(placeholders: list[Any], input_shape: Any) -> tuple[dict[str, Shape], dict[str, Any]]:
    """Shapes for the forward's parameters; the others are traced at their defaults."""
    if isinstance(input_shape, Mapping):
        given = {str(k): v for k, v in input_shape.items()}
    elif input_shape and all(isinstance(s, (list, tuple)) for s in input_shape):
        given = {p.target: s for p, s in zip(placeholders, input_shape)}
    else:
        given = {placeholders[0].target: input_shape} if placeholders else {}
    shapes: dict[str, Shape] = {}
    for name, shape in given.items():
        if not isinstance(shape, (list, tuple)):
            raise InputError(f"the input shape of {name!r} must be a list of sizes, got {shape!r}", code="bad-input")
        dims: list[Dim] = []
        for d in shape:
            if isinstance(d, str):
                if not valid_symbol_name(d):
                    raise InputError(f"{d!r} is not a valid symbol name", code="bad-input",
                                     hint="use names such as N, H, W")
                dims.append(sym(d))
            elif isinstance(d, int) and not isinstance(d, bool) and d >= 0:
                dims.append(d)
            else:
                raise InputError(f"a size must be a non-negative int or a symbol name, got {d!r}", code="bad-input")
        shapes[name] = tuple(dims)
    return shapes, {}



def _symbols(shapes: Mapping[str, Shape]) -> list[str]:
    seen: dict[str, None] = {}
    for shape in shapes.values():
        for d in shape:
            if not isinstance(d, int):
                for s in sorted(d.free_symbols, key=lambda s: s.name):
                    seen.setdefault(s.name, None)
    return list(seen)


def _forward_arguments(module: Any, input_shape: Any) -> tuple[dict[str, Shape], dict[str, Any]]:
    """The shapes of forward's tensor arguments, and the values of the others (their defaults)."""
    sig = inspect.signature(module.forward)
    params = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    fake = [type("P", (), {"target": p.name})() for p in params]
    shapes, _ = _input_shapes(fake, input_shape)
    unknown = [k for k in shapes if k not in {p.name for p in params}]
    if unknown:
        raise InputError(f"forward() has no argument {unknown[0]!r}", code="bad-input",
                         hint=f"its arguments are: {', '.join(p.name for p in params)}")
    concrete: dict[str, Any] = {}
    for p in params:
        if p.name in shapes:
            continue
        if p.default is inspect.Parameter.empty:
            raise InputError(f"no input shape for forward()'s argument {p.name!r}", code="bad-input",
                             hint="pass input_shape as a dict {argument: shape} or a list of shapes")
        concrete[p.name] = p.default
    return shapes, concrete


def _trace_all(module: Any, shapes: dict[str, Shape], concrete: dict[str, Any]) -> list[Path[_Run]]:
    """Every path of forward through its decisions on sizes."""
    import torch

    from .interpreter import Interpreter
    from .tracer import trace_path

    def run(decider: Decider) -> _Run:
        r = _Run(Interpreter(module, decider))
        try:
            with torch.no_grad():
                r.out = trace_path(module, r.interp, decider, shapes, concrete)
        except Exception as e:  # noqa: BLE001 - the model's own errors end their path; classified below
            r.error = e
        return r

    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        return explore(run, Region.everything(_symbols(shapes)))
    except TooManyPaths:
        names = ", ".join(sorted({s for shape in shapes.values() for d in shape for s in free_symbols(d)}))
        raise InputError(f"{type(module).__name__}.forward branches on the input size ({names}) in more than "
                         f"{MAX_PATHS} ways; shapeplan follows each way as a case and stops there",
                         code="trace", location=forward_location(module),
                         hint="pin some sizes in the input shape (a number instead of a name, e.g. D=32), "
                              "and check the others") from None
    finally:
        for m, mode in modes:  # every submodule back in its own mode
            m.training = mode


def _failure(run: _Run) -> Diagnostic | None:
    """Why a path could not be imported (shapeplan could not follow it), or None."""
    from .tracer import Stop

    errors = [d for d in run.interp.diags if d.severity == "error"]
    if errors:
        return errors[0]
    e = run.error
    if e is None or isinstance(e, _REFUSALS) and not isinstance(e, (Unsupported, *_NOT_REFUSALS)):
        return None
    loc = exception_location(e)
    if isinstance(e, Stop):
        return Diagnostic("error", "trace", f"forward could not be followed: {e}", location=loc)
    if isinstance(e, Unsupported):
        return Diagnostic("error", e.code, e.message, hint=e.hint, location=loc)
    line = source_line(loc)
    return Diagnostic("error", "trace", f"forward could not be followed{f' at `{line}`' if line else ''}: "
                      f"{type(e).__name__}: {e}"[:600], location=loc,
                      hint="shapeplan follows forward with sizes as formulas; this line needs a plain value "
                           "(pin the size in the input shape) or has no rule yet")


def _refusal(path: Path[_Run]) -> Refusal:
    run = path.result
    assert run is not None and run.error is not None
    e = run.error
    text = str(e).strip() or type(e).__name__
    return Refusal(path.guard, f"{type(e).__name__}: {text}"[:400], exception_location(e))


def from_torch(module: Any, input_shape: Any = ("N", 3, "H", "W"), *, name: str | None = None) -> Network:
    """Trace ``module``'s forward and return its :class:`Network`.

    ``input_shape``: the shape of the forward's first argument, ints and symbol names
    (``("N", 3, "H", "W")``); for several tensor arguments, a list of shapes or a dict from
    argument name to shape.  Other arguments of ``forward`` keep their default values.  The
    module is traced in eval mode (the mode shapeplan's domain is about) and put back in
    the mode it was in; it may live on any device, ``meta`` included.
    """
    import torch.nn as nn

    if not isinstance(module, nn.Module):
        raise InputError(f"from_torch expects an nn.Module, got {type(module).__name__}", code="bad-input")
    shapes, concrete = _forward_arguments(module, input_shape)
    net_name = name or type(module).__name__
    if not valid_symbol_name(net_name):
        net_name = "Net"
    paths = _trace_all(module, shapes, concrete)
    networks: list[tuple[int, Network]] = []
    refusals: list[Refusal] = []
    for path in paths:
        run = path.result
        assert run is not None
        failure = _failure(run)
        if failure is not None:
            diags = run.interp.diags if any(d.severity == "error" for d in run.interp.diags) else [failure]
            raise InputError(f"cannot import {type(module).__name__}: {failure.message}", code=failure.code,
                             location=failure.location, diagnostics=diags)
        if run.error is not None:
            refusals.append(_refusal(path))
            continue
        networks.append((path.region.density(), _network(net_name, run, path.guard, module)))
    if not networks:
        first = refusals[0]
        raise InputError(f"{type(module).__name__} refuses every input size: {first.message}", code="refused",
                         location=first.location, hint="its forward raises on every path shapeplan followed")
    networks.sort(key=lambda dn: -dn[0])
    main = networks[0][1]
    others: tuple[Network | Refusal, ...] = (*(n for _, n in networks[1:]), *refusals)
    object.__setattr__(main, "alternatives", others)
    return main


def _network(name: str, run: _Run, guard: tuple[Any, ...], module: Any) -> Network:
    interp = run.interp
    outputs = _outputs(run.out)
    if not outputs:
        raise InputError("the module returns no tensor", code="no-output",
                         hint="shapeplan follows the tensors the forward returns")
    net = Network(name, interp.inputs, tuple(interp.layers), tuple(outputs), {}, None, guard=tuple(guard),
                  origin="torch")
    notes = [d for d in interp.diags if d.severity != "error"] + _unused_modules(module, net)
    if notes:
        object.__setattr__(net, "_load_diagnostics", tuple(notes))
    return net


def _outputs(value: Any) -> list[str]:
    """The layers whose tensors forward returns (in a tensor, tuple, list or dict), in order; a
    tensor returned twice (YOLO-seg's proto) is listed twice, as torch returns it."""
    from .tracer import TensorProxy
    from .values import Opaque, TensorValue

    found: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, TensorProxy) and isinstance(v.sp_value, TensorValue):
            found.append(v.sp_value.name)
        elif isinstance(v, TensorProxy) and isinstance(v.sp_value, Opaque) and not v.sp_value.failed:
            raise InputError(f"forward returns {v.sp_value.what}, a tensor whose shape shapeplan does not follow",
                             code="unsupported-output", location=node_location(v.node),
                             hint="return what shapeplan follows (for nn.MultiheadAttention, its output: "
                                  "attn(q, k, v, need_weights=False)[0])")
        elif isinstance(v, Mapping):
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)

    walk(value)
    return found


def _unused_modules(module: Any, net: Network) -> list[Diagnostic]:
    """Submodules with parameters that the traced forward never reaches (an auxiliary
    classifier used only in training): a note, since their parameters are not counted."""
    names = {layer.name for layer in net.layers}
    used = set(names)
    for n in names:
        parts = n.split(".")
        used.update(".".join(parts[:i]) for i in range(1, len(parts)))
    out: list[Diagnostic] = []
    for qual, child in module.named_children():
        if qual in used:
            continue
        from torch.nn.parameter import UninitializedParameter

        count = sum(p.numel() for p in child.parameters() if not isinstance(p, UninitializedParameter))
        if count:
            out.append(Diagnostic("note", "unused-module",
                                  f"module {qual!r} ({type(child).__name__}, {count:,} parameters) is not used by "
                                  "forward in eval mode; it is not part of the imported network"))
    return out


def forward_location(module: Any) -> Location | None:
    """The line where ``module``'s class defines forward."""
    try:
        fn = type(module).forward
        file = inspect.getsourcefile(fn)
        _, line = inspect.getsourcelines(fn)
    except (TypeError, OSError):
        return None
    return Location(file, line) if file else None

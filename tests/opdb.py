"""torch's own test inputs, compared through shapeplan's front door.

torch's OpInfo database (``op_db``: every op's sample inputs and error inputs) and module
database (``module_db``: each module's constructor and forward inputs) are what torch tests
itself with.  Each sample becomes a model whose forward makes that call on its tensors
(``x0``, ``x1``, ...); ``from_torch`` imports it at the sample's sizes (or with every size a
symbol, checked at the sample's sizes), ``check`` decides it, and the answer is compared with
torch's CPU forward: the output shapes where torch runs, "refused" where it raises.  A sample
shapeplan cannot follow (no rule for the op, an argument it does not model: an import error)
is counted apart as unsupported: that is a missing feature, never a wrong answer.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn as nn

import shapeplan
from shapeplan.core.dims import evaluate
from shapeplan.core.errors import ShapeplanError
from shapeplan.frontends.torch.tables import function_table

DTYPE = torch.float32


@dataclass
class Outcome:
    compared: int = 0
    agreed: int = 0
    unsupported: int = 0
    disagreements: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)  # why samples were unsupported

    def unsupported_because(self, why: str) -> None:
        self.unsupported += 1
        self.reasons[why] = self.reasons.get(why, 0) + 1

    @property
    def disagreed(self) -> int:
        return len(self.disagreements)


# --------------------------------------------------------------------------- the databases


def op_infos() -> list[Any]:
    """The OpInfos whose function shapeplan's torch front end knows (torch.*, F.*)."""
    from torch.testing._internal.common_methods_invocations import op_db

    table = function_table()
    out = []
    for info in op_db:
        fn = info.op
        try:
            known = fn in table
        except TypeError:
            known = False
        if known and DTYPE in info.supported_dtypes("cpu"):
            out.append(info)
    return out


def module_infos() -> list[Any]:
    from torch.testing._internal.common_modules import module_db

    return [m for m in module_db if DTYPE in m.dtypes]


# --------------------------------------------------------------------------- one call as a model


class _Call(nn.Module):
    """forward(x0, x1, ...) makes ``call`` with the tensors put back in their places."""

    def __init__(self, call: Callable[..., Any], structure: Any, n: int) -> None:
        super().__init__()
        self.call, self.structure, self.n = call, structure, n  # a module call is a submodule, "call"

    def forward(self, x0: Any, x1: Any = None, x2: Any = None, x3: Any = None, x4: Any = None, x5: Any = None,
                x6: Any = None, x7: Any = None) -> Any:
        xs = [x0, x1, x2, x3, x4, x5, x6, x7][: self.n]
        args, kwargs = _fill(self.structure, xs)
        return self.call(*args, **kwargs)


class _Slot:
    def __init__(self, i: int) -> None:
        self.i = i


def _split(value: Any, tensors: list[torch.Tensor]) -> Any:
    """``value`` with each tensor replaced by a slot (the tensors collected in order)."""
    if isinstance(value, torch.Tensor):
        tensors.append(value)
        return _Slot(len(tensors) - 1)
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        return type(value)(_split(v, tensors) for v in value)
    if isinstance(value, dict):
        return {k: _split(v, tensors) for k, v in value.items()}
    return value


def _fill(value: Any, xs: list[Any]) -> Any:
    if isinstance(value, _Slot):
        return xs[value.i]
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        return type(value)(_fill(v, xs) for v in value)
    if isinstance(value, dict):
        return {k: _fill(v, xs) for k, v in value.items()}
    return value


def _shapes(y: Any) -> list[tuple[int, ...]] | None:
    """The tensor shapes a call returns, in order (None: something else)."""
    if isinstance(y, torch.Tensor):
        return [tuple(y.shape)]
    if isinstance(y, (list, tuple)) and y and all(isinstance(t, torch.Tensor) for t in y):
        return [tuple(t.shape) for t in y]
    return None


def _torch_answer(call: Callable[[], Any]) -> list[tuple[int, ...]] | str | None:
    """torch's CPU answer: the shapes ``call()`` returns, "refused" where it raises, None for
    something that is not tensors."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.no_grad():
                y = call()
        except Exception:  # noqa: BLE001 - torch raises many kinds
            return "refused"
    return _shapes(y)


def _symbolic(xs: list[torch.Tensor]) -> tuple[dict[str, tuple[Any, ...]], dict[str, int]]:
    """Each dim of size >= 2 a symbol of its own (sizes 0 and 1 stay numbers: a symbol is
    positive and broadcasting asks about 1 anyway)."""
    shapes: dict[str, tuple[Any, ...]] = {}
    env: dict[str, int] = {}
    for i, x in enumerate(xs):
        dims: list[Any] = []
        for j, d in enumerate(x.shape):
            if d >= 2:
                name = f"S{i}_{j}"
                env[name] = int(d)
                dims.append(name)
            else:
                dims.append(int(d))
        shapes[f"x{i}"] = tuple(dims)
    return shapes, env


def compare_call(model: nn.Module, xs: list[torch.Tensor], what: str, out: Outcome, symbolic: bool = False) -> None:
    """One sample: shapeplan's answer against torch's, counted in ``out``."""
    if len(xs) > 8 or any(x.dtype != DTYPE and x.is_floating_point() for x in xs):
        return
    theirs = _torch_answer(lambda: model(*xs))
    if theirs is None:
        return  # not tensors: nothing to compare
    if symbolic:
        shapes, env = _symbolic(xs)
    else:
        shapes, env = {f"x{i}": tuple(x.shape) for i, x in enumerate(xs)}, {}
    try:
        rep = shapeplan.check(shapeplan.from_torch(model, shapes))
    except ShapeplanError as e:
        out.unsupported_because(str(e).split(": ", 1)[-1][:120])
        return
    except Exception as e:  # noqa: BLE001 - a crash is a disagreement, with its message
        out.compared += 1
        out.disagreements.append(f"{what}: crash {type(e).__name__}: {e}"[:400])
        return
    why = next((d for d in rep.diagnostics if d.severity == "error" and d.code in _UNSUPPORTED), None)
    if why is not None:
        out.unsupported_because(why.message[:120])
        return
    out.compared += 1
    mine: list[tuple[int, ...]] | str
    if not rep.domain.contains(**env):
        mine = "refused"
    else:
        try:
            mine = [tuple(int(evaluate(d, env)) for d in s) for s in (rep.outputs_at(**env) if env else rep.outputs)]
        except Exception as e:  # noqa: BLE001
            out.disagreements.append(f"{what}: outputs not concrete: {e}"[:400])
            return
    if mine == theirs:
        out.agreed += 1
    else:
        why = next((d.message for d in rep.diagnostics if d.severity == "error"), "")
        out.disagreements.append(f"{what}: shapeplan {mine}, torch {theirs} {why[:200]}")


# codes of errors that say shapeplan does not model an argument or value (not a wrong answer)
_UNSUPPORTED = frozenset({"unsupported-argument", "unsupported-function", "unsupported-method", "reshape-symbolic",
                          "not-modelled"})


def _samples(info: Any) -> Iterator[tuple[Any, str]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s in info.sample_inputs("cpu", DTYPE, requires_grad=False):
            yield s, "sample"
        if info.error_inputs_func is not None:
            try:
                for e in info.error_inputs("cpu"):
                    yield e.sample_input, "error"
            except Exception:  # noqa: BLE001 - some error generators need CUDA or other dtypes
                return


def compare_op_samples(info: Any, symbolic: bool = False, limit: int | None = None) -> Outcome:
    out = Outcome()
    for i, (s, kind) in enumerate(_samples(info)):
        if limit is not None and i >= limit:
            break
        tensors: list[torch.Tensor] = []
        structure = (_split([s.input, *s.args], tensors), _split(dict(s.kwargs), tensors))
        if not tensors or tensors[0].dtype != DTYPE:  # shapeplan's inputs are float32 tensors
            continue
        model = _Call(info.op, structure, len(tensors))
        what = f"{info.name} {kind} {[tuple(t.shape) for t in tensors]} args={_brief(s.args)} kwargs={_brief(s.kwargs)}"
        compare_call(model, tensors, what, out, symbolic)
    return out


def compare_module_samples(info: Any, symbolic: bool = False, limit: int | None = None) -> Outcome:
    out = Outcome()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inputs = info.module_inputs_func(info, device="cpu", dtype=DTYPE, requires_grad=False, training=False)
    for i, mi in enumerate(inputs):
        if limit is not None and i >= limit:
            break
        fi = mi.forward_input
        if fi is None:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = info.module_cls(*mi.constructor_input.args, **mi.constructor_input.kwargs).eval()
        except Exception:  # noqa: BLE001 - a constructor torch refuses: nothing to compare
            continue
        tensors: list[torch.Tensor] = []
        structure = (_split(list(fi.args), tensors), _split(dict(fi.kwargs), tensors))
        if not tensors:
            continue
        model = _Call(module, structure, len(tensors))
        what = (f"{info.module_cls.__name__}({_brief(mi.constructor_input.args)}, "
                f"{_brief(mi.constructor_input.kwargs)}) on {[tuple(t.shape) for t in tensors]}")
        compare_call(model, tensors, what, out, symbolic)
    return out


def _brief(v: Any) -> str:
    if isinstance(v, torch.Tensor):
        return f"T{tuple(v.shape)}"
    if isinstance(v, (list, tuple)):
        return "(" + ", ".join(_brief(x) for x in v) + ")"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}={_brief(x)}" for k, x in v.items()) + "}"
    return repr(v)[:40]


# --------------------------------------------------------------------------- the same samples as net.yaml


def _yaml_value(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return [_yaml_value(x) for x in v]
    return v


_PLAIN = (int, float, bool, str, list, tuple, type(None))


def compare_op_samples_yaml(info: Any, limit: int | None = None) -> Outcome:
    """The samples whose only tensor is the input, written as a one-layer net.yaml (the op's
    registry name, ``args`` and keywords as the sample gives them), checked with ``load`` /
    ``check`` and compared with torch's CPU call (the first tensor where it returns a tuple)."""
    out = Outcome()
    op = function_table().get(info.op)
    if op is None:
        return out
    for i, (s, kind) in enumerate(_samples(info)):
        if limit is not None and i >= limit:
            break
        plain = list(s.args) + list(s.kwargs.values())
        if not isinstance(s.input, torch.Tensor) or s.input.dtype != DTYPE or \
                not all(isinstance(v, _PLAIN) and not _has_tensor(v) for v in plain):
            continue
        layer = {"op": op, **({"args": _yaml_value(list(s.args))} if s.args else {}),
                 **{k: _yaml_value(v) for k, v in s.kwargs.items()}}
        what = f"{info.name} {kind} as net.yaml {layer} on {tuple(s.input.shape)}"
        answer = _torch_answer(lambda s=s: info.op(s.input, *s.args, **s.kwargs))
        if answer is None:
            continue
        theirs = answer if answer == "refused" else answer[:1]  # a layer is the first tensor of a tuple
        try:
            rep = shapeplan.check(shapeplan.load({"input": list(s.input.shape), "layers": [layer]}))
        except ShapeplanError as e:
            if theirs == "refused":
                out.compared, out.agreed = out.compared + 1, out.agreed + 1  # refused to load, as torch refuses
            else:
                out.unsupported_because(str(e).split(": ", 1)[-1][:120])
            continue
        out.compared += 1
        mine = [tuple(int(d) for d in rep.outputs[0])] if rep.domain.contains() else "refused"
        if mine == theirs:
            out.agreed += 1
        else:
            why = next((d.message for d in rep.diagnostics if d.severity == "error"), "")
            out.disagreements.append(f"{what}: shapeplan {mine}, torch {theirs} {why[:200]}")
    return out


def _has_tensor(v: Any) -> bool:
    return isinstance(v, torch.Tensor) or (isinstance(v, (list, tuple)) and any(_has_tensor(x) for x in v))

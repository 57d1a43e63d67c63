"""The reference oracle for op rules: predict with shapeplan, run with torch, compare.

``predict`` applies one op rule at concrete sizes and says the output shape, or None
where the rule says torch must raise.  ``predict_symbolic`` does the same with symbols and
evaluates the formulas and conditions at concrete sizes.  ``torch_shape`` runs torch
itself (CPU, tiny tensors) and returns the real shape, or None where torch raises.
Every op family's differential test is built from these three.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from shapeplan.core.dims import evaluate, norm, sym
from shapeplan.ops import REGISTRY
from shapeplan.ops.calls import call_source, module_call_source
from shapeplan.ops.ctx import ArgError, RuleCtx, RuleError
from shapeplan.ops.registry import bind, resolve_auto

Shape = tuple[int, ...]


def predict(op: str, shapes: Sequence[Sequence[Any]], args: Sequence[Any] = (),
            kwargs: Mapping[str, Any] | None = None) -> tuple[Any, ...] | None:
    """The rule's output shape at these (concrete) input shapes; None where invalid.

    Raises ArgError for arguments the op's signature rejects (torch rejects them too, at
    construction; tests should draw valid arguments or check that separately).
    """
    spec = REGISTRY[op]
    bound = bind(spec, args, kwargs or {})
    xs = [tuple(norm(d) for d in s) for s in shapes]
    try:
        a = resolve_auto(spec, bound, xs)
    except ArgError:
        return None
    ctx = RuleCtx()
    try:
        out = spec.rule(ctx, xs, a)
    except RuleError:
        return None
    for req in ctx.requirements:
        decided = req.cond.concrete()
        assert decided is not None, f"{op}: a requirement is undecided at concrete sizes: {req}"
        if not decided:
            return None
    return tuple(int(norm(d)) for d in out)  # type: ignore[arg-type]


class PointOracle:
    """Answers a rule's questions about sizes (is this size 1?) at one point: the case of the
    rule that holds there."""

    def __init__(self, env: Mapping[str, int]) -> None:
        self.env = env

    def decide(self, cond: Any, prefer: bool | None = None) -> bool:
        return bool(cond.holds_at(self.env))

    def assume(self, cond: Any) -> None:
        pass


def apply_rule(op: str, shapes: Sequence[Sequence[Any]], args: Sequence[Any] = (),
               kwargs: Mapping[str, Any] | None = None,
               env: Mapping[str, int] | None = None) -> tuple[tuple[Any, ...], list[Any]]:
    """The rule once, dims given as symbol names made symbolic: (output shape, requirements).
    Where the rule's output depends on whether a size is 1, ``env`` chooses the case (without
    it, the generic case: no symbolic size is 1).

    Raises RuleError where the rule fails outright, ArgError where ``auto`` cannot be inferred."""
    spec = REGISTRY[op]
    xs = [tuple(sym(d) if isinstance(d, str) else d for d in s) for s in shapes]
    a = resolve_auto(spec, bind(spec, args, kwargs or {}), xs)
    ctx = RuleCtx(oracle=PointOracle(env) if env is not None else None)
    out = spec.rule(ctx, xs, a)
    return tuple(out), ctx.requirements


def evaluate_rule(rule: tuple[tuple[Any, ...], list[Any]] | None, env: Mapping[str, int]) -> tuple[int, ...] | None:
    """A symbolic rule result at concrete sizes: the shape, or None where a requirement fails."""
    if rule is None:
        return None
    out, reqs = rule
    if not all(r.cond.holds_at(env) for r in reqs):
        return None
    return tuple(evaluate(norm(d), env) for d in out)


def predict_symbolic(op: str, shapes: Sequence[Sequence[Any]], env: Mapping[str, int], args: Sequence[Any] = (),
                     kwargs: Mapping[str, Any] | None = None) -> tuple[int, ...] | None:
    """Like :func:`predict`, but dims given as symbol names are symbolic; the formulas and
    conditions are evaluated at ``env``.  Must agree with ``predict`` at the same sizes."""
    bind(REGISTRY[op], args, kwargs or {})  # bad arguments raise ArgError, as in predict
    try:
        rule = apply_rule(op, shapes, args, kwargs, env)
    except (RuleError, ArgError):
        return None
    return evaluate_rule(rule, env)


def symbolize(shapes: Sequence[Sequence[int]], mask: Sequence[Sequence[bool]] | None = None,
              shared: bool = False) -> tuple[list[list[Any]], dict[str, int]]:
    """Dims >= 1 (under ``mask``) become symbol names: one per position (``D{i}x{j}``), or
    one per value (``S{v}``, with ``shared``: equal sizes become the same symbol).
    Returns the symbolic shapes and the sizes (env) at which they equal the given ones."""
    env: dict[str, int] = {}
    out = []
    for i, s in enumerate(shapes):
        row: list[Any] = []
        for j, v in enumerate(s):
            if v >= 1 and (mask is None or mask[i][j]):
                name = f"S{v}" if shared else f"D{i}x{j}"
                env[name] = v
                row.append(name)
            else:
                row.append(v)
        out.append(row)
    return out, env


def torch_call_source(op: str, n_inputs: int, args: Sequence[Any] = (),
                      kwargs: Mapping[str, Any] | None = None) -> str:
    spec = REGISTRY[op]
    bound = bind(spec, args, kwargs or {})
    names = [f"x{i}" for i in range(n_inputs)]
    if spec.kind == "module":  # eval mode: the SPEC's meaning of "valid"
        return module_call_source(spec, call_source(spec, names, bound) + ".eval()", names, bound)
    return call_source(spec, names, bound)


def torch_shape(op: str, shapes: Sequence[Sequence[int]], args: Sequence[Any] = (),
                kwargs: Mapping[str, Any] | None = None, dtype: Any = None,
                dtypes: Sequence[Any] | None = None) -> tuple[int, ...] | None:
    """Run the op in torch on zero tensors of these shapes (of ``dtype``, or ``dtypes[i]`` for
    input i): the output shape, or None if torch raises."""
    import torch
    import torch.nn.functional as F

    src = torch_call_source(op, len(shapes), args, kwargs)
    env: dict[str, Any] = {"torch": torch, "nn": torch.nn, "F": F}
    for i, s in enumerate(shapes):
        dims = tuple(s[0]) if len(s) == 1 and isinstance(s[0], (tuple, list)) else tuple(s)  # [()] is 0-d
        env[f"x{i}"] = torch.zeros(dims, dtype=(dtypes[i] if dtypes and i < len(dtypes) else None) or dtype or torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.no_grad():
                out = eval(src, env)  # noqa: S307 - source built by shapeplan from validated values
        except (RuntimeError, ValueError, IndexError, TypeError) as e:
            if isinstance(e, TypeError) and "argument" in str(e) and "must be" not in str(e):
                raise  # a wrong call signature is a bug in the spec, not an invalid size
            return None
    return tuple(out.shape)


def agree(op: str, shapes: Sequence[Sequence[int]], args: Sequence[Any] = (),
          kwargs: Mapping[str, Any] | None = None) -> tuple[Any, Any]:
    """(prediction, torch) for one case; tests assert they are equal."""
    return predict(op, shapes, args, kwargs), torch_shape(op, shapes, args, kwargs)

"""What an exported program assumes about its input sizes, as shapeplan conditions.

``torch.export`` records every assumption its trace made on the sizes: the range of each
dynamic dim (``ep.range_constraints``), the guards its ShapeEnv kept (checked when the program
is called), and the deferred runtime asserts.  They are sympy expressions over torch's own
symbols (``s0``, ``s53``, the roots of derived dims); here they are rewritten over the input's
symbols (``H``, ``W``) with shapeplan's exact floor division, so that the domain machinery can
decide, for every size of a spec at once, whether the program takes it.

torch is imported inside functions only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy

from ..core.conditions import Cond, eq, ge, negate
from ..core.dims import Dim, ceildiv, dmax, dmin, floordiv, norm

_SIZE_SOURCE = re.compile(r"^L\['([A-Za-z_][A-Za-z_0-9]*)'\]\.size\(\)\[(\d+)\]$")


class Untranslatable(Exception):
    """An expression of torch's outside what shapeplan decides exactly."""


@dataclass
class ProgramGuards:
    """The conditions an exported program puts on its input sizes: each with torch's own text;
    ``unknown``: the assumptions that could not be rewritten (their text)."""

    conditions: list[tuple[Cond, str]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _source_name(src: Any) -> str:
    name = src.name
    return str(name() if callable(name) else name)


def symbol_map(shape_env: Any, inputs: Mapping[str, tuple[Dim, ...]], roots: Mapping[str, Dim]) -> dict[Any, Dim]:
    """torch's symbols as sizes of the input: a size of an input (``L['x'].size()[2]``) is its
    dim; the root of a derived dim (a ConstantSource named after the Dim) is ``roots[name]``."""
    out: dict[Any, Dim] = {}
    for s, sources in shape_env.var_to_sources.items():
        for src in sources:
            name = _source_name(src)
            m = _SIZE_SOURCE.match(name)
            if m and m.group(1) in inputs and int(m.group(2)) < len(inputs[m.group(1)]):
                out[s] = inputs[m.group(1)][int(m.group(2))]
                break
            if name in roots:
                out[s] = roots[name]
                break
    return out


def _handlers() -> dict[type, Callable[[Any, Callable[[Any], Dim]], Dim]]:
    from torch.utils._sympy import functions as tf

    def floor(e: Any, tr: Callable[[Any], Dim]) -> Dim:
        return floordiv(tr(e.args[0]), _positive(tr(e.args[1])))

    def mod(e: Any, tr: Callable[[Any], Dim]) -> Dim:
        a, m = tr(e.args[0]), _positive(tr(e.args[1]))
        return norm(a - m * floordiv(a, m))

    def modular_indexing(e: Any, tr: Callable[[Any], Dim]) -> Dim:
        q = floordiv(tr(e.args[0]), _positive(tr(e.args[1])))
        m = _positive(tr(e.args[2]))
        return norm(q - m * floordiv(q, m))

    def power(e: Any, tr: Callable[[Any], Dim]) -> Dim:
        n = tr(e.args[1])
        if not isinstance(n, int) or n < 0:
            raise Untranslatable(f"a power {e}")
        return norm(tr(e.args[0]) ** n)

    def lattice(fn: Callable[[Dim, Dim], Dim]) -> Callable[[Any, Callable[[Any], Dim]], Dim]:
        def go(e: Any, tr: Callable[[Any], Dim]) -> Dim:
            args = [tr(a) for a in e.args]
            out = args[0]
            for a in args[1:]:
                out = fn(out, a)
            return out

        return go

    return {
        tf.FloorDiv: floor, tf.CleanDiv: floor, tf.PythonMod: mod, tf.Mod: mod, sympy.Mod: mod,
        tf.ModularIndexing: modular_indexing, tf.PowByNatural: power, sympy.Pow: power,
        tf.CeilDiv: lambda e, tr: ceildiv(tr(e.args[0]), _positive(tr(e.args[1]))),
        tf.Identity: lambda e, tr: tr(e.args[0]),
        tf.Max: lattice(dmax), tf.Min: lattice(dmin), sympy.Max: lattice(dmax), sympy.Min: lattice(dmin),
    }


def _positive(d: Dim) -> int:
    if not isinstance(d, int) or d <= 0:
        raise Untranslatable(f"a division by {d}")
    return d


def translate(e: Any, smap: Mapping[Any, Dim]) -> Dim:
    """A torch size expression over torch's symbols, as a shapeplan size over the input's."""
    handlers = _handlers()

    def tr(x: Any) -> Dim:
        if isinstance(x, int):
            return x
        if x.is_Integer:
            return int(x)
        if x.is_Symbol:
            if x not in smap:
                raise Untranslatable(f"the size {x} is not one of the input's")
            return smap[x]
        if isinstance(x, sympy.Add):
            out: Dim = 0
            for a in x.args:
                out = norm(out + tr(a))
            return out
        if isinstance(x, sympy.Mul):
            prod: Dim = 1
            for a in x.args:
                if a.is_Rational and not a.is_Integer:
                    raise Untranslatable(f"a fraction in {x}")
                prod = norm(prod * tr(a))
            return prod
        h = handlers.get(type(x))
        if h is None:
            raise Untranslatable(f"{type(x).__name__} in {x}")
        return h(x, tr)

    return tr(e)


def translate_bool(e: Any, smap: Mapping[Any, Dim]) -> list[Cond]:
    """A torch guard (a relation, or a conjunction of them) as conditions that all hold."""
    if e is sympy.true or e == sympy.true:
        return []
    if e is sympy.false or e == sympy.false:
        return [ge(0, 1)]
    if isinstance(e, sympy.And):
        return [c for a in e.args for c in translate_bool(a, smap)]
    if isinstance(e, sympy.Not):
        inner = translate_bool(e.args[0], smap)
        if len(inner) != 1:
            raise Untranslatable(f"the negation of a conjunction {e}")
        return [negate(inner[0])]
    if isinstance(e, (sympy.Eq, sympy.Ne)):
        by = _divides(e, smap)
        if by is not None:
            return by
    if isinstance(e, sympy.Rel):
        a, b = translate(e.lhs, smap), translate(e.rhs, smap)
        if isinstance(e, sympy.Eq):
            return [eq(a, b)]
        if isinstance(e, sympy.Ne):
            return [negate(eq(a, b))]
        if isinstance(e, sympy.Ge):
            return [ge(a, b)]
        if isinstance(e, sympy.Gt):
            return [ge(a, norm(b + 1))]
        if isinstance(e, sympy.Le):
            return [ge(b, a)]
        if isinstance(e, sympy.Lt):
            return [ge(b, norm(a + 1))]
    raise Untranslatable(f"{type(e).__name__}: {e}")


def _finite(v: Any) -> int | None:
    """A range's bound as an int (None: infinite, torch's int_oo)."""
    return int(v) if getattr(v, "is_Integer", False) or isinstance(v, int) else None


def _divides(e: Any, smap: Mapping[Any, Dim]) -> list[Cond] | None:
    """``Mod(a, a*q) == 0`` (or ``!=``), with a divisor that is a multiple of the dividend (torch's
    contiguity checks, ``Mod(N, N*(H//4)*(W//4))``): for a >= 1 it holds exactly where q == 1."""
    from torch.utils._sympy import functions as tf

    side, zero = (e.lhs, e.rhs) if e.rhs == 0 else (e.rhs, e.lhs)
    if zero != 0 or not isinstance(side, (tf.Mod, tf.PythonMod, sympy.Mod)) or side.args[1].is_Integer:
        return None
    a, b = side.args
    q = sympy.cancel(b / a)
    if not q.is_polynomial() or sympy.fraction(q)[1] != 1:
        return None
    dividend, ratio = translate(a, smap), translate(q, smap)
    one = eq(ratio, 1)
    return [ge(dividend, 1), one if isinstance(e, sympy.Eq) else negate(one)]


def shape_env_of(ep: Any) -> Any:
    """The ShapeEnv of an exported program (None when every size is static)."""
    for node in ep.graph.nodes:
        val = node.meta.get("val")
        fake_mode = getattr(val, "fake_mode", None)
        if fake_mode is not None and fake_mode.shape_env is not None:
            return fake_mode.shape_env
    return None


def program_guards(ep: Any, inputs: Mapping[str, tuple[Dim, ...]], roots: Mapping[str, Dim]) -> ProgramGuards:
    """Every assumption ``ep`` makes on its input sizes: range constraints, guards, runtime asserts."""
    out = ProgramGuards()
    shape_env = shape_env_of(ep)
    if shape_env is None:
        return out
    smap = symbol_map(shape_env, inputs, roots)

    def add(expr: Any, text: str) -> None:
        try:
            out.conditions += [(c, text) for c in translate_bool(expr, smap)]
        except (Untranslatable, ValueError, TypeError) as e:
            out.unknown.append(f"{text} ({e})")

    for key, vr in ep.range_constraints.items():
        lo, hi = _finite(vr.lower), _finite(vr.upper)
        if lo is not None:
            add(sympy.Ge(key, lo), f"{key} >= {lo}")
        if hi is not None:
            add(sympy.Le(key, hi), f"{key} <= {hi}")
    for g in shape_env.guards:
        add(g.expr, str(g.expr))
    for asserts in shape_env.deferred_runtime_asserts.values():
        for ra in asserts:
            add(ra.expr, str(ra.expr))
    return out

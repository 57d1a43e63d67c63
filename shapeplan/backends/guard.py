"""Input guards: Python that checks a model's input sizes against its domain, exactly.

The generated check is data and a few fixed lines: the domain's boxes as literals (per symbol,
segments ``(lo, hi, period, residues)``), the relations outside the boxes as Python
expressions printed from the formulas (never from user text), and small functions that test
membership, find the nearest valid sizes (below and above, jointly valid) and word the error:
``ValueError: input sizes N=1, H=100, W=64 are not valid: H must be 32k + r, r in {0, 29, 30,
31}, H >= 29; nearest valid sizes: N=1, H=95, W=64 or N=1, H=96, W=64``.  It raises exactly
where the domain says the forward fails.  Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..analysis.domain.domain import Domain
from ..core.dims import Shape, fmt
from ..core.sets import Seg, USet

_RUNTIME = '''

def _sp_in(v, segs):
    return any(v >= lo and (hi is None or v <= hi) and v % p in rs for lo, hi, p, rs in segs)


def _sp_step(v, segs, up):
    """The member of segs nearest to v from above (up) or below, or None."""
    best = None
    for lo, hi, p, rs in segs:
        for r in rs:
            if up:
                c = max(v, lo)
                c += (r - c) % p
                ok = hi is None or c <= hi
            else:
                c = v if hi is None else min(v, hi)
                c -= (c - r) % p
                ok = c >= lo
            if ok and (best is None or abs(c - v) < abs(best - v)):
                best = c
    return best


def _sp_valid(sizes):
    return any(all(_sp_in(sizes[k], segs) for k, segs in box.items()) and test(sizes)
               for boxes, test in _SP_PIECES for box in boxes)


def _sp_nearest(sizes):
    """Valid sizes nearest to these: one with no size above them, one with none below."""
    found = {}
    for boxes, test in _SP_PIECES:
        for box in boxes:
            for up in (False, True):
                cand = dict(sizes)
                for k, segs in box.items():
                    v = _sp_step(sizes[k], segs, up)
                    cand[k] = _sp_step(sizes[k], segs, not up) if v is None else v
                if None in cand.values():
                    continue
                for _ in range(64):  # the relations outside the boxes: walk on
                    if test(cand):
                        break
                    k = max(box, key=lambda k: abs(cand[k] - sizes[k]))
                    nxt = _sp_step(cand[k] + (1 if cand[k] >= sizes[k] else -1), box[k], cand[k] >= sizes[k])
                    if nxt is None:
                        break
                    cand[k] = nxt
                if test(cand):
                    d = sum(abs(cand[k] - sizes[k]) for k in cand)
                    side = "below" if all(cand[k] <= sizes[k] for k in cand) else "above"
                    if side not in found or d < found[side][0]:
                        found[side] = (d, cand)
    return [found[s][1] for s in ("below", "above") if s in found]


def _sp_text(sizes):
    return ", ".join(f"{k}={v}" for k, v in sizes.items())


def _sp_check(sizes):
    if _sp_valid(sizes):
        return
    near = _sp_nearest(sizes)
    rules = [rule for k, rule in _SP_RULES.items() if not _sp_in(sizes[k], _SP_PIECES[0][0][0][k])]
    msg = f"input sizes {_sp_text(sizes)} are not valid: {'; '.join(rules) or _SP_RULE}"
    if near:
        msg += "; nearest valid sizes: " + " or ".join(_sp_text(s) for s in near)
    raise ValueError(msg)
'''


def rule_text(domain: Domain) -> str:
    """The valid sizes as a rule: ``H must be 32k + r, r in {0, 29, 30, 31}, H >= 29``."""
    if domain.empty:
        return "no input size is valid"
    parts = []
    for piece in domain.pieces or (domain,):
        for box in piece.boxes:
            rules = [_symbol_rule(s, box[s]) for s in domain.symbols if box[s] != USet.range(1)]
            text = "; ".join(rules) or "any size"
            if piece.residual:
                text += "; and " + ", ".join(_cond_words(c) for c in piece.residual)
            if text not in parts:
                parts.append(text)
    if len(parts) == 1:
        return parts[0]
    return "one of: " + " | ".join(f"({p})" for p in parts[:6]) + (" | ..." if len(parts) > 6 else "")


def _cond_words(c: Any) -> str:
    from ..core.conditions import cond_text

    return cond_text(c)


def _symbol_rule(name: str, u: USet) -> str:
    segs = [_seg_rule(name, s) for s in u.segs]
    return f"{name} must be " + (segs[0] if len(segs) == 1 else " or ".join(f"({t})" for t in segs))


def _seg_rule(name: str, s: Seg) -> str:
    if s.period == 1:
        if s.hi is None:
            return f">= {s.lo}"
        return f"{s.lo}" if s.hi == s.lo else f"in [{s.lo}, {s.hi}]"
    bounds = f", {name} >= {s.lo}" + (f", {name} <= {s.hi}" if s.hi is not None else "")
    if len(s.residues) == 1:
        (r,) = s.residues
        return f"{s.period}k" + (f" + {r}" if r else "") + bounds
    res = ", ".join(str(r) for r in sorted(s.residues))
    return f"{s.period}k + r, r in {{{res}}}" + bounds


def _pieces_literal(domain: Domain) -> str:
    rows = []
    for piece in domain.pieces or (domain,):
        boxes = ", ".join(_box_literal(box, domain.symbols) for box in piece.boxes)
        names = ", ".join(domain.symbols)
        if piece.residual:
            test = " and ".join(f"({_cond_code(c)})" for c in piece.residual)
            fn = f"lambda s: (lambda {names}: {test})(**s)"
        else:
            fn = "lambda s: True"
        rows.append(f"    (({boxes},), {fn}),")
    return "_SP_PIECES = (  # (boxes, relations): boxes map each size to segments (lo, hi, period, residues)\n" + \
        "\n".join(rows) + "\n)"


def _box_literal(box: Mapping[str, USet], symbols: tuple[str, ...]) -> str:
    items = []
    for s in symbols:
        segs = ", ".join(f"({g.lo}, {g.hi}, {g.period}, {tuple(sorted(g.residues))!r})" for g in box[s].segs)
        items.append(f"{s!r}: ({segs},)")
    return "{" + ", ".join(items) + "}"


def _cond_code(c: Any) -> str:
    """A condition as a Python expression over the symbols (printed from the formulas)."""
    lhs, rhs = fmt(c.lhs), fmt(c.rhs)
    if c.kind == "ge":
        return f"{lhs} >= {rhs}"
    if c.kind == "eq":
        return f"{lhs} == {rhs}"
    if c.kind == "ne":
        return f"{lhs} != {rhs}"
    if c.kind == "dvd":
        return f"({lhs}) % ({rhs}) == 0"
    return f"({lhs}) % ({rhs}) != 0"


def _bind_lines(inputs: Mapping[str, Shape], args: Mapping[str, str], symbols: tuple[str, ...]) -> list[str]:
    """Lines that read every symbol from the inputs' shapes (and check their rank and fixed sizes)."""
    lines: list[str] = []
    seen: dict[str, str] = {}
    for name, shape in inputs.items():
        var = args[name]
        lines.append(f"if {var}.dim() != {len(shape)}:")
        lines.append(f"    raise ValueError(f\"{var} must have {len(shape)} dims, got {{tuple({var}.shape)}}\")")
        for i, d in enumerate(shape):  # a fixed size (channels) is left to the layers' own checks
            s = str(d) if getattr(d, "is_Symbol", False) else None
            if s is None or s not in symbols:
                continue
            here = f"{var}.shape[{i}]"
            if s in seen:
                lines.append(f"if {here} != {seen[s]}:")
                lines.append(f"    raise ValueError(f\"{here} and {seen[s]} must be equal ({s}), got "
                             f"{{{here}}} and {{{seen[s]}}}\")")
            else:
                seen[s] = here
    keys = ", ".join(f"{s!r}: {seen[s]}" for s in symbols if s in seen)
    lines.append(f"_sp_check({{{keys}}})")
    return lines


def guard_module_code(domain: Domain) -> str:
    """The module-level part of a guard: the domain as data and the helper functions."""
    rule = rule_text(domain)
    one = len(domain.boxes) == 1 and not domain.residual and not domain.pieces
    rules = {s: _symbol_rule(s, domain.boxes[0][s]) for s in domain.symbols
             if one and domain.boxes[0][s] != USet.range(1)}
    return (f"# Input sizes (generated by shapeplan): {rule}\n_SP_RULE = {rule!r}\n"
            f"_SP_RULES = {rules!r}  # each size's own rule, when the sizes are independent\n"
            + _pieces_literal(domain) + "\n" + _RUNTIME)


def guard_call_lines(rep: Any, args: Mapping[str, str] | None = None) -> list[str]:
    """The lines at the top of forward that check the inputs (``args``: the inputs' variables)."""
    inputs = rep.network.inputs
    names = args or {n: n for n in inputs}
    symbols = tuple(s for s in rep.domain.symbols)
    unbound = [s for s in symbols if not any(getattr(d, "name", None) == s for sh in inputs.values() for d in sh)]
    if unbound:
        from ..core.errors import ShapeError

        raise ShapeError(f"the valid sizes depend on {', '.join(unbound)}, which no input dim is", code="guard")
    return _bind_lines(inputs, names, symbols)


def docstring_lines(rep: Any) -> list[str]:
    """The "Input sizes" section of a class docstring."""
    lines = ["Input sizes:"]
    for name, shape in rep.network.inputs.items():
        lines.append(f"    {name}: ({', '.join(fmt(d) for d in shape)})")
    lines.append(f"    valid: {rule_text(rep.domain)}")
    lines.append("    forward raises ValueError at any other size, naming the nearest valid sizes.")
    return lines


def guard_source(rep: Any, function: str = "check_input_sizes") -> str:
    """Python to paste into a model's file: ``function(x)`` raises ValueError where forward
    fails (naming the sizes, the rule and the nearest valid sizes); call it at the top of
    forward.  ``rep``: a Report (of an imported module too)."""
    args = _arg_names(rep.network.inputs)
    body = guard_call_lines(rep, args)
    lines = [guard_module_code(rep.domain), "",
             f"def {function}({', '.join(args.values())}):",
             f'    """Raise ValueError unless the input sizes are valid for {_safe(rep.network.name)}: '
             f'call it at the top of forward."""',
             *("    " + ln for ln in body), ""]
    return "\n".join(lines)


def _arg_names(inputs: Mapping[str, Any]) -> dict[str, str]:
    """Legal, distinct Python parameter names for the inputs (their own names where they are)."""
    import keyword
    import re

    out: dict[str, str] = {}
    for name in inputs:
        base = re.sub(r"\W", "_", name) or "x"
        if base[0].isdigit() or keyword.iskeyword(base) or base.startswith("_sp"):
            base = "in_" + base
        cand, i = base, 1
        while cand in out.values():
            cand, i = f"{base}_{i}", i + 1
        out[name] = cand
    return out


def _safe(name: str) -> str:
    import re

    return re.sub(r"[^\w.]", "_", name)[:80]

"""Advanced indexing: ``x[idx]``, ``x[:, idx, ...]`` with integer index tensors (Swin's
``table[relative_position_index]``, LeViT's attention biases).

torch applies the basic items first (an int removes its dim, a slice keeps a range, None adds a
dim of 1, ``...`` keeps dims; a 0-d index tensor acts as an int); the other index tensors, which
take one dim each, broadcast together to
a shape B.  If the index tensors sit next to each other among the remaining dims, B takes their
place; otherwise B comes first.  The values of the index tensors are data: shapeplan does not
check that they are in range (torch raises there at run time, whatever the input size).  A
boolean mask's result has a data-dependent size and has no rule.
"""

from __future__ import annotations

from typing import Any

from ..core.dims import Shape, fmt, fmt_shape, norm
from .ctx import ArgError, RuleCtx
from .merge import broadcast_shapes
from .params import TENSOR, with_schema
from .registry import Param, op
from .tensor import _index_item, need, slice_length


def _items_t(v: Any) -> tuple[Any, ...]:
    items = v if isinstance(v, (list, tuple)) else [v]
    if len(items) > 64:
        raise ArgError(f"too many index items ({len(items)})")
    out = tuple(TENSOR if x == TENSOR else _index_item(x) for x in items)
    if TENSOR not in out:
        raise ArgError("an advanced index has at least one index tensor ('tensor')")
    return out


_items_t.__name__ = "index: list of ints, null, '...', slices and 'tensor' (an index tensor input)"
_ITEM = {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]}
with_schema(_items_t, {"anyOf": [{"const": TENSOR}, {"type": "array", "items": _ITEM, "contains": {"const": TENSOR},
                                                  "maxItems": 64}]})


@op("index", Param("index", _items_t), n_inputs=(2, None), torch_name="Tensor.__getitem__", call_style="index")
def index(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """x[..., idx, ...]: index tensors (inputs 1..) take one dim each and broadcast together."""
    x, items = xs[0], a["index"]
    tensors = list(xs[1:])
    if sum(1 for i in items if i == TENSOR) != len(tensors):
        ctx.fail("arity", f"names {sum(1 for i in items if i == TENSOR)} index tensors, got {len(tensors)}")
    rank = len(x)
    specified = sum(1 for i in items if i is not None and i is not Ellipsis)
    if specified > rank:
        ctx.fail("index", f"has too many indices ({specified}) for a {rank}-D tensor {fmt_shape(x)}", param="index")
    slots: list[Any] = []  # a size (basic dim), or TENSOR (a dim taken by an index tensor)
    d = 0
    shapes = iter(tensors)
    advanced: list[Shape] = []
    for item in items:
        if item == TENSOR:
            t = next(shapes, ())
            if not t:  # a 0-d index tensor acts as an int: it removes its dim
                d += 1
                continue
            advanced.append(t)
        if item is Ellipsis:
            slots += list(x[d:d + rank - specified])
            d += rank - specified
        elif item is None:
            slots.append(1)
        elif item == TENSOR:
            slots.append(TENSOR)
            d += 1
        elif isinstance(item, slice):
            slots.append(slice_length(ctx, x[d], item))
            d += 1
        else:
            n = x[d]
            msg = f"index {fmt(item)} is out of bounds for a dim of size {fmt(n)}"
            if not (isinstance(item, int) and item >= 0):
                need(ctx, norm(n + item), 0, "index", msg, show=n, param="index")
            if not (isinstance(item, int) and item < 0):
                need(ctx, norm(n - 1), item, "index", msg, show=n, param="index")
            d += 1
    slots += list(x[d:])
    if not advanced:
        return tuple(slots)
    b = broadcast_shapes(ctx, advanced, "the index tensors")
    where = [i for i, s in enumerate(slots) if s is TENSOR]
    basic = [s for s in slots if s is not TENSOR]
    if where == list(range(where[0], where[0] + len(where))):  # next to each other: B in their place
        return (*slots[:where[0]], *b, *slots[where[-1] + 1:])
    return (*b, *basic)

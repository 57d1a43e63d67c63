"""What the interpreter does with sizes, items and pieces: a tensor's attributes (``x.shape``,
``x.ndim``), the methods whose value is not a tensor (``x.size(2)``, ``x.chunk(2)``), the pieces
of chunk / split / unbind, and ``x[...]`` (a size of a shape, a piece, or the getitem op)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...core.dims import Shape, norm
from ...core.errors import Location
from ...ops import REGISTRY
from ...ops.params import TENSOR
from .tables import IDENTITY_METHODS
from .values import Extreme, Pieces, TensorValue, Unsupported, dim_index, index_item, prod


class ItemsMixin:
    """Sizes, items and pieces (mixed into :class:`~.interpreter.Interpreter`)."""

    if TYPE_CHECKING:  # what the interpreter provides
        bool_tensors: set[str]

        def add_layer(self, name: str, op: str, inputs: Sequence[TensorValue], kwargs: Mapping[str, Any],
                      locs: Mapping[str, Location] | None = None) -> TensorValue: ...

        def shape(self, t: TensorValue) -> Shape: ...

        def scoped(self, node: Any, base: str) -> str: ...

    def getattr_value(self, obj: Any, attr: str) -> Any:
        if isinstance(obj, Extreme):
            if attr == "values":
                return obj.values
            if attr in ("indices", "mean") and obj.second is not None:
                return obj.second
            raise Unsupported("unsupported-index", f"the {attr!r} of {obj.what} (shapeplan follows the values)")
        if isinstance(obj, TensorValue):
            if attr == "shape":
                return tuple(self.shape(obj))
            if attr == "ndim":
                return len(self.shape(obj))
            if attr == "T":
                raise Unsupported("unsupported-method", "the tensor attribute .T has no rule; use .permute")
            raise Unsupported("unsupported-method", f"the tensor attribute .{attr}")
        try:
            return getattr(obj, attr)
        except AttributeError:
            raise Unsupported("unsupported-function", f"getattr({type(obj).__name__}, {attr!r})") from None

    def special(self, node: Any, name: str, t: TensorValue, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if name in IDENTITY_METHODS:
            return t
        shape = self.shape(t)
        if name == "size":
            d = args[0] if args else kwargs.get("dim")
            return tuple(shape) if d is None else shape[dim_index(d, len(shape))]
        if name in ("dim", "ndimension"):
            return len(shape)
        if name in ("numel", "nelement"):
            return norm(prod(shape))
        if name == "get_device":
            return -1
        if name == "is_contiguous":
            return True  # every op's output is laid out contiguously as far as shapeplan follows
        if name in ("view_as", "reshape_as"):
            other = args[0] if args else kwargs.get("other")
            if not isinstance(other, TensorValue):
                raise Unsupported("unsupported-method", f".{name}() needs a tensor")
            op = "view" if name == "view_as" else "reshape"
            return self.add_layer(self.scoped(node, op), op, [t], {REGISTRY[op].params[0].name: list(self.shape(other))})
        if name in ("chunk", "split", "unbind"):
            return self.pieces(node, name, t, args, kwargs)
        raise Unsupported("unsupported-method", f"no shape rule for the tensor method .{name}()")

    def pieces(self, node: Any, how: str, t: TensorValue, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Pieces:
        shape = self.shape(t)
        if how == "unbind":
            dim = dim_index(args[0] if args else kwargs.get("dim", 0), len(shape))
            n = shape[dim]
            if not isinstance(n, int):
                raise Unsupported("symbolic-split", f"unbind along dim {dim} of symbolic size {n}")
            return Pieces(t, dim, tuple((i, -1) for i in range(n)), self.scoped(node, how))
        first = args[0] if args else kwargs.get("chunks", kwargs.get("split_size_or_sections", kwargs.get("split_size")))
        dim = dim_index(args[1] if len(args) > 1 else kwargs.get("dim", 0), len(shape))
        size = shape[dim]
        if not isinstance(size, int):
            raise Unsupported("symbolic-split", f"{how} along dim {dim}, whose size {size} depends on the input "
                                                "size", "shapeplan splits only dims of a fixed size (channels)")
        if how == "chunk":
            if not isinstance(first, int) or first < 1:
                raise Unsupported("bad-argument", f"chunk expects a positive number of chunks, got {first!r}")
            step = -(-size // first) if size else 0
            sizes = [min(step, size - s) for s in range(0, size, step)] if step else [0] * first
        elif isinstance(first, int):
            if first < 1 and size:
                raise Unsupported("bad-argument", f"split size must be positive, got {first}")
            sizes = [min(first, size - s) for s in range(0, size, first)] if size else [0]
        else:
            if not isinstance(first, (list, tuple)) or not all(isinstance(v, int) for v in first):
                raise Unsupported("bad-argument", f"split sizes must be ints, got {first!r}")
            sizes = [int(v) for v in first]
            if sum(sizes) != size:
                raise Unsupported("split-sizes", f"split sizes {sizes} do not add up to the size {size} of dim {dim}")
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        return Pieces(t, dim, tuple(zip(starts, sizes)), self.scoped(node, how))

    def piece(self, obj: Pieces, index: int) -> TensorValue:
        if not -len(obj.pieces) <= index < len(obj.pieces):
            raise Unsupported("index", f"{obj.base} has {len(obj.pieces)} pieces, index {index} is out of range")
        start, length = obj.pieces[index]
        i = index % len(obj.pieces)
        if length < 0:  # unbind: select one index
            idx: list[Any] = [":"] * obj.dim + [start]
            return self.add_layer(f"{obj.base}.{i}", "getitem", [obj.src], {"index": idx})
        return self.add_layer(f"{obj.base}.{i}", "narrow", [obj.src], {"dim": obj.dim, "start": start,
                                                                       "length": length})

    def getitem(self, node: Any, obj: Any, index: Any) -> Any:
        if isinstance(obj, Extreme):
            if index in (0, -2):
                return obj.values
            if index in (1, -1) and obj.second is not None:
                return obj.second
            raise Unsupported("unsupported-index", f"item {index!r} of {obj.what} (shapeplan follows the values)")
        if isinstance(obj, Pieces):
            if not isinstance(index, int):
                raise Unsupported("unsupported-index", f"indexing {obj.base} with {index!r}")
            return self.piece(obj, index)
        if isinstance(obj, TensorValue):
            items = index if isinstance(index, tuple) else (index,)
            tensors = [x for x in items if isinstance(x, TensorValue)]
            if tensors:  # advanced indexing with index tensors
                masks = [t.name for t in tensors if t.name in self.bool_tensors]
                if masks:
                    raise Unsupported("data-dependent", f"indexing with the boolean mask {masks[0]}: the result's "
                                                        "size depends on the mask's values")
                marks = [TENSOR if isinstance(x, TensorValue) else index_item(x) for x in items]
                return self.add_layer(self.scoped(node, "index"), "index", [obj, *tensors], {"index": marks})
            return self.add_layer(self.scoped(node, "getitem"), "getitem", [obj],
                                  {"index": [index_item(x) for x in items]})
        if isinstance(obj, (tuple, list, Mapping)):
            try:
                return obj[index]
            except (IndexError, KeyError, TypeError) as e:
                raise Unsupported("index", f"cannot index {type(obj).__name__} with {index!r}: {e}") from None
        raise Unsupported("unsupported-index", f"indexing a {type(obj).__name__}")

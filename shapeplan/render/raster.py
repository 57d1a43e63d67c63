"""A small RGB pixel canvas and a PNG writer, with the standard library only (zlib, struct)."""

from __future__ import annotations

import struct
import zlib

from . import _font

RGB = tuple[int, int, int]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Canvas:
    """``width`` x ``height`` RGB pixels, white to start with."""

    def __init__(self, width: int, height: int, background: RGB = (255, 255, 255)) -> None:
        if width <= 0 or height <= 0:
            raise ValueError(f"canvas size must be positive, got {width}x{height}")
        self.width, self.height = width, height
        self.rows = [bytearray(bytes(background) * width) for _ in range(height)]

    def pixel(self, x: int, y: int) -> RGB:
        r = self.rows[y]
        return r[3 * x], r[3 * x + 1], r[3 * x + 2]

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: RGB) -> None:
        """Fill the pixels x0 <= x < x1, y0 <= y < y1 (clipped to the canvas)."""
        x0, x1 = max(0, x0), min(self.width, x1)
        y0, y1 = max(0, y0), min(self.height, y1)
        if x0 >= x1 or y0 >= y1:
            return
        run = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            self.rows[y][3 * x0: 3 * x1] = run

    def frame(self, x0: int, y0: int, x1: int, y1: int, color: RGB) -> None:
        """A one-pixel outline just around the box x0 <= x < x1, y0 <= y < y1."""
        self.rect(x0 - 1, y0 - 1, x1 + 1, y0, color)
        self.rect(x0 - 1, y1, x1 + 1, y1 + 1, color)
        self.rect(x0 - 1, y0, x0, y1, color)
        self.rect(x1, y0, x1 + 1, y1, color)

    def text(self, x: int, y: int, text: str, color: RGB, scale: int = 1) -> None:
        """``text`` in the built-in 5x7 font, its top-left corner at (x, y)."""
        for dx, dy in _font.pixels(text, scale):
            px, py = x + dx, y + dy
            if 0 <= px < self.width and 0 <= py < self.height:
                self.rows[py][3 * px: 3 * px + 3] = bytes(color)

    def png(self) -> bytes:
        """The canvas as a PNG file (8-bit RGB, no interlace, filter 0 on every row)."""
        raw = b"".join(b"\x00" + bytes(r) for r in self.rows)
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


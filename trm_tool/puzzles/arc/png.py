"""Pictures of ARC grids in ARC's palette, as PNG files (written by hand: no imaging library)."""

from __future__ import annotations

import struct
import zlib

from ..base import Grid
from .grid import PALETTE

_CELL_PX, _LINE_PX, _MARGIN_PX = 16, 1, 12
_LINE_RGB, _BACKGROUND_RGB = bytes((0x55, 0x55, 0x55)), bytes((0xFF, 0xFF, 0xFF))


def _grid_pixels(grid: Grid) -> list[bytes]:
    """RGB pixel rows of one grid: coloured cells separated by thin grey lines."""
    rule = _LINE_RGB * (len(grid[0]) * (_CELL_PX + _LINE_PX) + _LINE_PX)
    rows = [rule]
    for row in grid:
        cells = b"".join(bytes(PALETTE[c]) * _CELL_PX + _LINE_RGB * _LINE_PX for c in row)
        rows += [_LINE_RGB * _LINE_PX + cells] * _CELL_PX + [rule] * _LINE_PX
    return rows


def side_by_side(grids: list[Grid]) -> tuple[int, list[bytes]]:
    """(width, RGB pixel rows) of the grids in a row on a white background."""
    pictures = [_grid_pixels(grid) for grid in grids]
    height = max(len(p) for p in pictures) + 2 * _MARGIN_PX
    margin = _BACKGROUND_RGB * _MARGIN_PX
    lines = []
    for y in range(height):
        parts = [margin]
        for picture in pictures:
            blank = _BACKGROUND_RGB * (len(picture[0]) // 3)
            inside = 0 <= y - _MARGIN_PX < len(picture)
            parts += [picture[y - _MARGIN_PX] if inside else blank, margin]
        lines.append(b"".join(parts))
    return len(lines[0]) // 3, lines


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png_bytes(width: int, rows: list[bytes]) -> bytes:
    """An 8-bit RGB PNG file of the given pixel rows (3 bytes per pixel)."""
    header = struct.pack(">IIBBBBB", width, len(rows), 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + row for row in rows), 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )

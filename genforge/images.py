"""PNG previews shared by every domain: encode, and lay several images out as a sheet or strip."""
from __future__ import annotations

import struct
import zlib

import numpy as np


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(pixels: np.ndarray, palette: np.ndarray | None = None) -> bytes:
    """An RGB image (H, W, 3), or palette indices (H, W) with their palette (K, 3), as PNG.

    Written with zlib alone (8-bit, no row filters, fast compression): what Pillow writes at
    compress_level=1, without importing Pillow on the sampling path."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = pixels.shape[:2]
    rows = np.zeros((h, 1 + pixels[0].size), np.uint8)  # each row: filter type 0, then its bytes
    rows[:, 1:] = pixels.reshape(h, -1)
    colour_type = 2 if palette is None else 3             # truecolour, or indexed
    out = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0))]
    if palette is not None:
        out.append(_chunk(b"PLTE", np.asarray(palette, np.uint8).reshape(-1).tobytes()))
    out += [_chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)), _chunk(b"IEND", b"")]
    return b"".join(out)


def sheet(images: list[np.ndarray], columns: int = 4, gap: int = 8, background=(255, 255, 255)) -> np.ndarray:
    """Images (each H x W x 3, sizes may differ) in rows of `columns`, separated by `gap` pixels.
    Palette-index images (H x W) work too, with `background` a palette index."""
    columns = max(1, min(columns, len(images)))
    rows = -(-len(images) // columns)
    cell_h = max(im.shape[0] for im in images)
    cell_w = max(im.shape[1] for im in images)
    out = np.empty((rows * cell_h + (rows - 1) * gap, columns * cell_w + (columns - 1) * gap, *images[0].shape[2:]),
                   np.uint8)
    out[:] = background
    for i, im in enumerate(images):
        r, c = divmod(i, columns)
        y, x = r * (cell_h + gap), c * (cell_w + gap)
        out[y:y + im.shape[0], x:x + im.shape[1]] = im
    return out


def strip(images: list[np.ndarray], gap: int = 8) -> np.ndarray:
    """Images side by side: an interpolation read left to right."""
    return sheet(images, columns=len(images), gap=gap)

"""PNG previews shared by every domain: encode, and lay several images out as a sheet or strip."""
from __future__ import annotations

import io

import numpy as np


def png_bytes(pixels: np.ndarray, palette: np.ndarray | None = None) -> bytes:
    """An RGB image (H, W, 3), or palette indices (H, W) with their palette (K, 3), as PNG."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8), "P" if palette is not None else None)
    if palette is not None:
        image.putpalette(np.asarray(palette, np.uint8).reshape(-1).tolist())
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


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

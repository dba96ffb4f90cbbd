"""The evaluation reports' figures, drawn with Pillow: blank panels, 2-D histograms, scatter plots,
histograms and legends, laid out as numpy RGB arrays."""
from __future__ import annotations

import numpy as np

COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]


def default_font():
    from PIL import ImageFont

    return ImageFont.load_default()


def panel(title: str, xlabel: str, ylabel: str, xr: tuple[float, float], yr: tuple[float, float],
           size: int = 300, margin: int = 42):
    """A blank plot: (PIL image, draw, to_pixel(x, y))."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size + margin + 10, size + margin + 24), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    x0, y0 = margin, 20
    draw.rectangle([x0, y0, x0 + size, y0 + size], outline=(0, 0, 0))
    font = default_font()
    draw.text((x0, 4), title, fill=(0, 0, 0), font=font)
    draw.text((x0 + size // 2 - 3 * len(xlabel), y0 + size + 12), xlabel, fill=(0, 0, 0), font=font)
    draw.text((x0, y0 + size + 2), f"{xr[0]:.2g}", fill=(80, 80, 80), font=font)
    draw.text((x0 + size - 24, y0 + size + 2), f"{xr[1]:.2g}", fill=(80, 80, 80), font=font)
    draw.text((2, y0 + size - 10), f"{yr[0]:.2g}", fill=(80, 80, 80), font=font)
    draw.text((2, y0), f"{yr[1]:.2g}", fill=(80, 80, 80), font=font)
    draw.text((2, y0 + size // 2), ylabel[:7], fill=(0, 0, 0), font=font)

    def to_pixel(x, y):
        fx = (np.asarray(x, float) - xr[0]) / ((xr[1] - xr[0]) or 1)
        fy = (np.asarray(y, float) - yr[0]) / ((yr[1] - yr[0]) or 1)
        return x0 + fx * size, y0 + (1 - fy) * size

    return img, draw, to_pixel, (x0, y0, size)


def value_range(*arrays, pad: float = 0.05) -> tuple[float, float]:
    values = np.concatenate([np.asarray(a, float).ravel() for a in arrays if len(a)])
    values = values[np.isfinite(values)]
    if not len(values):
        return 0.0, 1.0
    lo, hi = float(values.min()), float(values.max())
    span = (hi - lo) or 1.0
    return lo - pad * span, hi + pad * span


def heat_panel(title: str, bg: tuple[np.ndarray, np.ndarray], fg: tuple[np.ndarray, np.ndarray],
                xr, yr, colour=(214, 39, 40), bins: int = 30):
    """2-D histograms: the corpus in grey, the set over it in colour."""
    img, draw, to_pixel, (x0, y0, size) = panel(title, "density", "leniency", xr, yr)
    cell = size / bins

    def hist(x, y):
        h, _, _ = np.histogram2d(np.asarray(x, float), np.asarray(y, float), bins=bins, range=[xr, yr])
        return np.log1p(h) / max(np.log1p(h).max(), 1e-9)

    for grid, rgb, shrink in ((hist(*bg), (120, 120, 120), 0), (hist(*fg), colour, 2)):
        for i, j in zip(*np.nonzero(grid)):
            a = 0.25 + 0.75 * grid[i, j]
            fill = tuple(int(255 - a * (255 - c)) for c in rgb)
            px, py = x0 + i * cell, y0 + size - (j + 1) * cell
            draw.rectangle([px + shrink, py + shrink, px + cell - shrink, py + cell - shrink], fill=fill)
    return np.asarray(img)


def scatter_panel(title: str, bg: list[tuple[np.ndarray, tuple]], fg: list[tuple[np.ndarray, tuple]], xr, yr,
                   axis: str = "PC"):
    img, draw, to_pixel, _ = panel(title, f"{axis} 1", f"{axis} 2", xr, yr)
    for points, rgb, r in [(p, tuple(int(255 - 0.35 * (255 - c)) for c in rgb), 1) for p, rgb in bg] + \
                          [(p, rgb, 2) for p, rgb in fg]:
        xs, ys = to_pixel(points[:, 0], points[:, 1])
        for x, y in zip(xs, ys):
            draw.ellipse([x - r, y - r, x + r, y + r], fill=rgb)
    return np.asarray(img)


def histogram_edges(values: list[np.ndarray], bins: int = 20) -> np.ndarray:
    """Common histogram bins: whole numbers for counts (at most 40 bins), else `bins` equal ones."""
    v = np.concatenate([np.asarray(a, float) for a in values if len(a)]) if values else np.zeros(1)
    lo, hi = float(v.min()), float(v.max())
    if np.all(v == np.round(v)):
        step = max(1, int(np.ceil((hi - lo + 1) / 40)))
        return np.arange(lo - 0.5, hi + step + 0.5, step)
    return np.linspace(lo, hi + 1e-9, bins + 1)


def hist_panel(title: str, series: list[tuple[np.ndarray, tuple]], edges: np.ndarray, top: float):
    freqs = [np.histogram(v, edges)[0] / max(1, len(v)) for v, _ in series]
    img, draw, to_pixel, _ = panel(title, "value", "share", (float(edges[0]), float(edges[-1])), (0.0, top))
    centres = (edges[:-1] + edges[1:]) / 2
    for f, (_, rgb) in zip(freqs, series):
        xs, ys = to_pixel(centres, f)
        draw.line(list(zip(xs.tolist(), ys.tolist())), fill=rgb, width=2)
    return np.asarray(img)


def legend_strip(items: list[tuple[str, tuple]], width: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (max(width, 10), 18), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    x = 6
    for text, rgb in items:
        draw.rectangle([x, 5, x + 10, 14], fill=rgb)
        draw.text((x + 14, 4), text, fill=(0, 0, 0), font=default_font())
        x += 20 + 6 * len(text)
    return np.asarray(img)


def with_legend(panels: np.ndarray, items) -> np.ndarray:
    strip = legend_strip(items, panels.shape[1])
    strip = strip[:, :panels.shape[1]] if strip.shape[1] >= panels.shape[1] else \
        np.pad(strip, ((0, 0), (0, panels.shape[1] - strip.shape[1]), (0, 0)), constant_values=255)
    return np.concatenate([panels, strip], 0)

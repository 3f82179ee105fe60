"""The map as a PNG (`paperradar map --png FILE`): for the README, an email or a slide.

Drawn with Pillow from the stored fit: every paper a dot coloured by its area, the areas'
names at their centres. Same palette as the page (web/static/map.js).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46a0a8", "#d43fd4", "#9a9a1f",
           "#bc5f5f", "#008080", "#9a6324", "#800000", "#2f7f3f", "#808000", "#000075", "#5f5fbc",
           "#c28b00", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


def render(path: Path, xy: np.ndarray, area_index: np.ndarray, labels: list[tuple[str, float, float]],
           size: int = 1600) -> None:
    """Write the map to `path`: points `xy` in [-1, 1]², `area_index` their colour, and
    (name, x, y) labels."""
    img = Image.new("RGB", (size, size), "#fbfaf8")
    draw = ImageDraw.Draw(img)
    scale, centre = size * 0.45, size / 2
    px = centre + xy[:, 0] * scale
    py = centre - xy[:, 1] * scale
    dot = max(1.5, min(4.0, 3.0 * (20000 / max(len(xy), 1)) ** 0.25))
    for x, y, a in zip(px, py, area_index):
        draw.ellipse((x - dot, y - dot, x + dot, y + dot), fill=PALETTE[int(a) % len(PALETTE)])
    font = ImageFont.load_default(size=max(14, size // 60))
    for name, x, y in labels:
        X, Y = centre + x * scale, centre - y * scale
        draw.text((X, Y), name, fill="#1d2330", font=font, anchor="mm", stroke_width=3, stroke_fill="#fbfaf8")
    img.save(path, "PNG", optimize=True)

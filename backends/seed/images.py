"""Procedural product photos (gradients and shapes), so the demo shop needs no outside files."""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from image_pipeline.store import ImageStore

WIDTH, HEIGHT = 1600, 1200


def render(rng: random.Random, hue: tuple[int, int, int]) -> bytes:
    """A 1600x1200 JPEG: a two-tone gradient with a few soft shapes, distinct per seed."""
    top = hue
    bottom = tuple(max(0, min(255, c + rng.randint(-90, 90))) for c in hue)
    gradient = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    image = Image.composite(Image.new("RGB", (WIDTH, HEIGHT), bottom), Image.new("RGB", (WIDTH, HEIGHT), top), gradient)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(3, 6)):
        x, y = rng.randint(0, WIDTH), rng.randint(0, HEIGHT)
        r = rng.randint(80, 420)
        colour = tuple(rng.randint(30, 235) for _ in range(3))
        shape = rng.choice([draw.ellipse, draw.rectangle])
        shape((x - r, y - r, x + r, y + r), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(6))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88, optimize=True)
    return out.getvalue()


def write_originals(directory: Path, count: int, seed: int) -> list[dict[str, int | str]]:
    """Ingest `count` generated originals into the image store at `directory`; returns their references."""
    store = ImageStore(directory)
    rng = random.Random(seed)
    refs = []
    for _ in range(count):
        hue = (rng.randint(40, 220), rng.randint(40, 220), rng.randint(40, 220))
        record, _ = store.ingest(render(rng, hue))
        refs.append({"hash": record.hash, "width": record.width, "height": record.height})
    return refs

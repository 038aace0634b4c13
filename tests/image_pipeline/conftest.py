"""The shared fixture photographs (read in place, never copied into the project), and generated images."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

FIXTURES = Path(
    os.environ.get("STOREFRONT_FIXTURES_DIR", Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "images")
)


@pytest.fixture(scope="session")
def fixtures() -> Path:
    if not (FIXTURES / "rocket.jpg").exists():
        message = f"fixture images not found at {FIXTURES} (set STOREFRONT_FIXTURES_DIR)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return FIXTURES


def flat_png(width: int, height: int, colour: tuple[int, ...] = (200, 60, 40), mode: str = "RGB") -> bytes:
    """A generated PNG of one colour: many megapixels once decoded, a few kilobytes on the wire."""
    out = io.BytesIO()
    Image.new(mode, (width, height), colour if len(mode) > 1 else colour[0]).save(out, "PNG")
    return out.getvalue()

"""Ingest: check an original, store it once by SHA-256, and record its size, colour and placeholder."""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import asdict, dataclass

from PIL import Image, ImageFilter

from image_pipeline.variants import BadImage, check_encodable, decode, display_size, open_image

MAX_UPLOAD_BYTES = 40 * 1024 * 1024
PLACEHOLDER_WIDTH = 24
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "AVIF": "avif", "GIF": "gif", "TIFF": "tif"}


@dataclass(frozen=True, slots=True)
class ImageRecord:
    hash: str
    format: str
    width: int
    height: int
    bytes: int
    colour: str
    placeholder: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _placeholder(image: Image.Image) -> str:
    """A blurred 24-pixel-wide WebP as a data URI: a few hundred bytes, decoded natively by browsers."""
    small = image.convert("RGB")
    small.thumbnail((PLACEHOLDER_WIDTH, PLACEHOLDER_WIDTH * 4))
    small = small.filter(ImageFilter.GaussianBlur(1))
    out = io.BytesIO()
    small.save(out, "WEBP", quality=30, method=6)
    return "data:image/webp;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _dominant_colour(image: Image.Image) -> str:
    """The average colour: what the picture looks like from afar, which is what a placeholder is for."""
    red, green, blue = image.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))  # type: ignore[misc]
    return f"#{red:02x}{green:02x}{blue:02x}"


def inspect(data: bytes) -> ImageRecord:
    """Everything about an original that the shop needs, or BadImage saying why it is refused."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise BadImage(f"originals are at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    header = open_image(data)
    if header.format not in _EXTENSIONS:
        raise BadImage(f"{header.format} is not an accepted format")
    kind, (width, height) = _EXTENSIONS[header.format], display_size(header)
    del header  # an open WebP already holds its decoder's full-size canvas: not alongside the decode below
    check_encodable(width, height)
    small = decode(data, max_width=256)  # reads the whole stream, so truncation shows here too
    return ImageRecord(
        hash=hashlib.sha256(data).hexdigest(),
        format=kind,
        width=width,
        height=height,
        bytes=len(data),
        colour=_dominant_colour(small),
        placeholder=_placeholder(small),
    )

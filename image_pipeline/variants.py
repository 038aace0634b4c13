"""Decoding an original once and encoding one variant: orientation, sRGB, no metadata, alpha where allowed."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageCms, ImageOps

LADDER = (160, 320, 480, 640, 960, 1280, 1600, 2048)
FORMATS = {"avif": "image/avif", "webp": "image/webp", "jpg": "image/jpeg"}
MAX_PIXELS = 50_000_000
# Quality/speed per format; AVIF speed 6 is ~5x faster than speed 4 at nearly the same size (field notes).
ENCODE = {
    "avif": {"format": "AVIF", "quality": 55, "speed": 6},
    "webp": {"format": "WEBP", "quality": 75, "method": 4},
    "jpg": {"format": "JPEG", "quality": 80, "optimize": True, "progressive": True},
}
_SRGB = ImageCms.createProfile("sRGB")
_ROTATED = {5, 6, 7, 8}  # EXIF orientations that swap width and height


class BadImage(ValueError):
    pass


def _open(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise BadImage("image is too large") from exc
        except Exception as exc:
            raise BadImage("not a readable image") from exc
    if image.width * image.height > MAX_PIXELS:
        raise BadImage("image is too large")
    return image


def render_variant(data: bytes, width: int, fmt: str) -> bytes:
    """One variant `width` pixels wide (never wider than the original) in `fmt`."""
    image = _open(data)
    orientation = image.getexif().get(0x0112, 1)
    display_width = image.height if orientation in _ROTATED else image.width
    if width > display_width and width != LADDER[0]:
        raise BadImage("wider than the original")  # the URL would promise pixels that do not exist
    width = min(width, display_width)
    scale = width / display_width
    if image.format == "JPEG":
        box = (round(image.width * scale), round(image.height * scale))
        image.draft("RGB", box)  # decode at 1/2, 1/4 or 1/8 size when that is enough
    try:
        image.load()
    except Exception as exc:
        raise BadImage("image data is truncated or corrupt") from exc
    image = ImageOps.exif_transpose(image)
    icc = image.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") else "RGB"
            image = ImageCms.profileToProfile(image, source, _SRGB, outputMode=mode)
        except ImageCms.PyCMSError:
            pass  # an unusable profile: treat the pixels as sRGB
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    image = image.convert("RGBA" if has_alpha else "RGB")
    height = max(1, round(image.height * width / image.width))
    if (width, height) != image.size:
        image = image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if fmt == "jpg" and image.mode == "RGBA":
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    out = io.BytesIO()
    image.save(out, **ENCODE[fmt])  # no exif/icc/xmp passed: metadata is stripped
    return out.getvalue()

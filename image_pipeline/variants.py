"""Decoding an original and encoding variants: orientation, sRGB, 8-bit, no metadata, alpha where allowed."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, features

if not features.check("avif"):  # pragma: no cover - pillow>=11.3 wheels have native AVIF
    # Only for a Pillow built without it: the plugin replaces the native handler and copies EXIF by
    # default, so it must never be imported when the native one exists (field notes).
    try:
        import pillow_avif  # type: ignore[import-not-found]  # noqa: F401
    except ImportError as exc:
        raise ImportError("this Pillow has no AVIF support: install pillow>=11.3 or pillow-avif-plugin") from exc

LADDER = (160, 320, 480, 640, 960, 1280, 1600, 2048)
FORMATS = {"avif": "image/avif", "webp": "image/webp", "jpg": "image/jpeg"}
MAX_PIXELS = 40_000_000  # about 8000 x 5000; a decoded RGBA original stays under 160 MB


@dataclass(frozen=True, slots=True)
class Encoding:
    """Encoder settings. Defaults chosen with `python -m loadtests.bench --only images` (BENCHMARKS.md):
    WebP q80 and AVIF q64 (at speed 8) are the lowest settings that score what JPEG q80 scores on SSIMULACRA2 over
    the fixture photos; AVIF speed 8 encodes a ladder about 2.8x faster than speed 6 for about 8% more
    bytes and 0.4 points of SSIMULACRA2."""

    jpeg_quality: int = 80
    webp_quality: int = 80
    webp_method: int = 4
    avif_quality: int = 64
    avif_speed: int = 8

    def options(self, fmt: str) -> dict[str, object]:
        if fmt == "avif":
            return {"format": "AVIF", "quality": self.avif_quality, "speed": self.avif_speed}
        if fmt == "webp":
            return {"format": "WEBP", "quality": self.webp_quality, "method": self.webp_method}
        return {"format": "JPEG", "quality": self.jpeg_quality, "optimize": True, "progressive": True}


DEFAULT_ENCODING = Encoding()
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_SWAPS_AXES = {5, 6, 7, 8}  # EXIF orientations that rotate by 90 degrees


class BadImage(ValueError):
    """The bytes are not an image we will serve (corrupt, truncated, animated, too large...)."""


def open_image(data: bytes) -> Image.Image:
    """Open without decoding; refuse decompression bombs from the header, before any pixels are read."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise BadImage("the image has too many pixels") from exc
        except Exception as exc:
            raise BadImage("not an image format we can read") from exc
    if image.width * image.height > MAX_PIXELS:
        raise BadImage(f"the image has more than {MAX_PIXELS // 1_000_000} million pixels")
    if getattr(image, "n_frames", 1) > 1:
        raise BadImage("animated images are not supported")
    return image


def display_size(image: Image.Image) -> tuple[int, int]:
    """Width and height as shown, after EXIF orientation."""
    orientation = image.getexif().get(0x0112, 1)
    return (image.height, image.width) if orientation in _SWAPS_AXES else (image.width, image.height)


def decode(data: bytes, max_width: int | None = None) -> Image.Image:
    """Decode once, as small as `max_width` allows (JPEG draft), upright, sRGB, 8-bit RGB or RGBA."""
    image = open_image(data)
    shown_width, _ = display_size(image)
    if max_width and image.format == "JPEG" and max_width < shown_width:
        scale = max_width / shown_width
        image.draft("RGB", (max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    try:
        image.load()
    except Exception as exc:
        raise BadImage("the image data is truncated or corrupt") from exc
    icc = image.info.get("icc_profile")
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")  # 16-bit to 8-bit, not clipped
    elif image.mode == "F":
        image = image.convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            image = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGBA" if has_alpha else "RGB")
        except (ImageCms.PyCMSError, OSError):
            pass  # an unusable profile: treat the pixels as sRGB
    image = image.convert("RGBA" if has_alpha else "RGB")
    image.info.clear()  # encoders embed whatever is left here (an ICC profile, EXIF): strip it all
    return image


def encode(image: Image.Image, fmt: str, encoding: Encoding = DEFAULT_ENCODING) -> bytes:
    if fmt == "jpg" and image.mode == "RGBA":
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    out = io.BytesIO()
    image.save(out, **encoding.options(fmt))  # nothing passed for exif/icc/xmp: metadata is stripped
    return out.getvalue()


def resized(image: Image.Image, width: int) -> Image.Image:
    if width >= image.width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)


def ladder_for(width: int, widths: Iterable[int] = LADDER) -> list[int]:
    """The ladder widths an original this wide can fill; a tiny original still gets the smallest step."""
    fitting = [w for w in widths if w <= width]
    return fitting or [min(widths)]


def render_variant(data: bytes, width: int, fmt: str, encoding: Encoding = DEFAULT_ENCODING) -> bytes:
    """One variant. Widths wider than the original are refused: the URL would promise missing pixels."""
    shown_width, _ = display_size(open_image(data))
    if width not in ladder_for(shown_width):
        raise BadImage("wider than the original")
    return encode(resized(decode(data, max_width=width), width), fmt, encoding)


def render_ladder(
    data: bytes, widths: Iterable[int], formats: Iterable[str], encoding: Encoding = DEFAULT_ENCODING
) -> dict[tuple[int, str], bytes]:
    """Many variants from one decode: largest first, each step resized from the one above it."""
    shown_width, _ = display_size(open_image(data))
    wanted = sorted(set(ladder_for(shown_width)) & set(widths), reverse=True)
    if not wanted:
        return {}
    step = decode(data, max_width=wanted[0])
    out = {}
    for width in wanted:
        step = resized(step, width)
        for fmt in formats:
            out[(width, fmt)] = encode(step, fmt, encoding)
    return out

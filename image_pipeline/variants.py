"""Decoding an original and encoding variants: orientation, sRGB, 8-bit, no metadata, alpha where allowed."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image, ImageCms, features

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
WEBP_MAX_SIDE = 16383  # libwebp refuses anything longer on either side, so such variants cannot exist
# Modes `Image.reduce` averages correctly as they are (palette indices must not be averaged; alpha modes are
# premultiplied first, as `resize` does, so transparent pixels do not bleed their colour).
_REDUCIBLE = {"L", "RGB", "CMYK", "I", "F"}
_PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}


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
_UPRIGHT = {  # what makes each EXIF orientation upright (as ImageOps.exif_transpose does)
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


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
        except MemoryError:
            raise
        except Exception as exc:
            raise BadImage("not an image format we can read") from exc
    if image.width * image.height > MAX_PIXELS:
        raise BadImage(f"the image has more than {MAX_PIXELS // 1_000_000} million pixels")
    if getattr(image, "n_frames", 1) > 1:
        raise BadImage("animated images are not supported")
    return image


def orientation(image: Image.Image) -> int:
    """The EXIF orientation, read from the header alone."""
    if image.format == "PNG" and "exif" not in image.info:
        # Pillow's PNG getexif() decodes every pixel to look for an eXIf chunk after them (a second full
        # copy of a 40-megapixel original just to read its size): such a late chunk is not honoured.
        return 1
    return image.getexif().get(0x0112, 1)


def display_size(image: Image.Image) -> tuple[int, int]:
    """Width and height as shown, after EXIF orientation."""
    return (image.height, image.width) if orientation(image) in _SWAPS_AXES else (image.width, image.height)


def variant_size(width: int, height: int, target: int) -> tuple[int, int]:
    """The size of the `target`-wide variant of an original shown at `width` x `height` (see `resized`)."""
    if target >= width:
        return width, height
    return target, max(1, round(height * target / width))


def check_encodable(width: int, height: int) -> None:
    """Refuse an original whose variants no encoder can write: WebP stops at 16383 px on either side, so a
    1 x 60000 strip or a 1080 x 20000 scroll would be accepted and then fail on every WebP request."""
    for target in ladder_for(width):
        size = variant_size(width, height, target)
        if max(size) > WEBP_MAX_SIDE:
            raise BadImage(
                f"its {size[0]} x {size[1]} variant would exceed WebP's limit of {WEBP_MAX_SIDE} pixels a side"
            )


def decode(data: bytes, max_width: int | None = None) -> Image.Image:
    """Decode once, as small as `max_width` allows (JPEG draft), upright, sRGB, 8-bit RGB or RGBA."""
    image = open_image(data)
    turn = orientation(image)  # before load(), which would let a PNG's late eXIf chunk disagree with it
    shown_width, _ = display_size(image)
    if max_width and image.format == "JPEG" and max_width < shown_width:
        scale = max_width / shown_width
        image.draft("RGB", (max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    try:
        image.load()
    except MemoryError:
        raise  # not the file's fault: the caller's memory ceiling says what to do
    except Exception as exc:
        raise BadImage("the image data is truncated or corrupt") from exc
    icc = image.info.get("icc_profile")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")  # 16-bit to 8-bit, not clipped
    elif image.mode == "F":
        image = image.convert("L")
    if max_width:
        image = _reduced(image, max_width, image.height if turn in _SWAPS_AXES else image.width)
    if turn in _UPRIGHT:  # after the reduction: turning a few megapixels, not forty
        image = image.transpose(_UPRIGHT[turn])
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            image = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGBA" if has_alpha else "RGB")
        except (ImageCms.PyCMSError, OSError):
            pass  # an unusable profile: treat the pixels as sRGB
    if image.mode != ("RGBA" if has_alpha else "RGB"):  # `convert` to the same mode would copy every pixel
        image = image.convert("RGBA" if has_alpha else "RGB")
    image.info.clear()  # encoders embed whatever is left here (an ICC profile, EXIF): strip it all
    return image


def _reduced(image: Image.Image, max_width: int, shown_width: int) -> Image.Image:
    """Shrink by a whole factor right after decoding, as `resize(reducing_gap=3)` would do anyway, so the
    turns and colour conversions after it copy a few megapixels rather than all 40."""
    factor = shown_width // (max_width * 3)
    if factor < 2:
        return image
    if image.mode in _REDUCIBLE:
        return image.reduce(factor)
    if image.mode in _PREMULTIPLIED:
        return image.convert(_PREMULTIPLIED[image.mode]).reduce(factor).convert(image.mode)
    return image


def encode(image: Image.Image, fmt: str, encoding: Encoding = DEFAULT_ENCODING) -> bytes:
    if fmt == "jpg" and image.mode == "RGBA":
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    out = io.BytesIO()
    try:
        image.save(out, **encoding.options(fmt))  # nothing passed for exif/icc/xmp: metadata is stripped
    except (OSError, ValueError) as exc:  # the encoder's own limits (WebP's 16383 px): a refusal, not a crash
        raise BadImage(f"the {fmt} encoder refused a {image.width} x {image.height} image: {exc}") from exc
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
    shown_width, shown_height = display_size(open_image(data))
    if width not in ladder_for(shown_width):
        raise BadImage("wider than the original")
    check_encodable(shown_width, shown_height)  # originals stored before the check: refuse before decoding
    return encode(resized(decode(data, max_width=width), width), fmt, encoding)


def render_ladder(
    data: bytes, widths: Iterable[int], formats: Iterable[str], encoding: Encoding = DEFAULT_ENCODING
) -> dict[tuple[int, str], bytes]:
    """Many variants from one decode: largest first, each step resized from the one above it."""
    shown_width, shown_height = display_size(open_image(data))
    check_encodable(shown_width, shown_height)
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

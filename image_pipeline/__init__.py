"""Image variants (AVIF, WebP, JPEG) at a fixed width ladder, stored by content hash, and their route."""

from image_pipeline.store import ImageStore, UnknownImage
from image_pipeline.variants import FORMATS, LADDER

__all__ = ["FORMATS", "LADDER", "ImageStore", "UnknownImage"]

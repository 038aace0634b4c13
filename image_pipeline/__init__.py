"""Image variants (AVIF, WebP, JPEG) at a fixed width ladder, stored by content hash, and their route."""

from image_pipeline.store import ImageStore, UnknownImage
from image_pipeline.variants import FORMATS, LADDER, Encoding

__all__ = ["FORMATS", "LADDER", "Encoding", "ImageStore", "UnknownImage"]

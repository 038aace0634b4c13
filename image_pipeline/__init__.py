"""Image variants (AVIF, WebP, JPEG) at a fixed width ladder, stored by content hash, and their route."""

from image_pipeline.store import ImageStore, UnknownImage
from image_pipeline.variants import FORMATS, LADDER, Encoding
from image_pipeline.workers import ImageWorkers

__all__ = ["FORMATS", "LADDER", "Encoding", "ImageStore", "ImageWorkers", "UnknownImage"]

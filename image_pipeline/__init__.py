"""Image ingest, AVIF/WebP/JPEG variants at a fixed width ladder, placeholders, the image route."""

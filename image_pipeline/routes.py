"""`GET /img/{sha256}/{width}.{avif|webp|jpg}`: immutable variant URLs; anything off the ladder is a 404."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.response import File

from image_pipeline.store import ImageStore, UnknownImage
from image_pipeline.variants import FORMATS, LADDER, BadImage

_FILE = re.compile(r"^(\d{2,4})\.(avif|webp|jpg)$")
IMMUTABLE = "public, max-age=31536000, immutable"


@get("/img/{digest:str}/{name:str}", name="image")
async def image(request: Request[Any, Any, Any], digest: str, name: str) -> Response[Any]:
    match = _FILE.match(name)
    if match is None or int(match.group(1)) not in LADDER:
        raise NotFoundException(detail=f"Variants are {', '.join(map(str, LADDER))} wide, as avif, webp or jpg.")
    width, fmt = int(match.group(1)), match.group(2)
    store: ImageStore = request.app.state.images
    try:
        path = await store.variant(digest, width, fmt)
    except (UnknownImage, BadImage) as exc:
        raise NotFoundException(detail="No such image.") from exc
    return File(
        path,
        content_disposition_type="inline",
        media_type=FORMATS[fmt],
        etag=None,
        headers={"Cache-Control": IMMUTABLE, "ETag": f'"{digest[:16]}-{width}-{fmt}"'},
    )

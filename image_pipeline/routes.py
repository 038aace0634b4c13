"""Image HTTP routes: immutable variants by content hash, and the authenticated upload of originals."""

from __future__ import annotations

import re
from email.utils import formatdate
from typing import Any

from litestar import Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import ClientException, NotFoundException
from litestar.response import File

from backends.common.auth import require_token
from backends.common.problems import problem
from image_pipeline.ingest import MAX_UPLOAD_BYTES
from image_pipeline.store import EAGER_WIDTHS, ImageStore, UnknownImage
from image_pipeline.variants import FORMATS, LADDER, BadImage
from image_pipeline.workers import ImagesBusy, WorkerDied

_FILE = re.compile(r"^(\d{2,4})\.(avif|webp|jpg)$")
# s-maxage too: edges cache by it (Varnish takes no TTL from max-age alone once s-maxage rules its VCL).
IMMUTABLE = "public, max-age=31536000, s-maxage=31536000, immutable"
_RETRY = {"Retry-After": "5", "Cache-Control": "no-store"}


def _busy(detail: str) -> Response[Any]:
    """The image workers cannot take the job now: a 503 that nobody stores, and when to come back."""
    return problem(503, "Temporarily unavailable", detail, headers=_RETRY)


@get("/img/{digest:str}/{name:str}", name="image")
async def image(request: Request[Any, Any, Any], digest: str, name: str) -> Response[Any]:
    """`/img/{sha256}/{width}.{avif|webp|jpg}`: widths off the ladder, unknown formats or hashes are 404."""
    match = _FILE.match(name)
    if match is None or int(match.group(1)) not in LADDER:
        raise NotFoundException(detail=f"Variants are {', '.join(map(str, LADDER))} wide, as avif, webp or jpg.")
    width, fmt = int(match.group(1)), match.group(2)
    store: ImageStore = request.app.state.images
    try:
        path = await store.variant(digest, width, fmt)
    except (ImagesBusy, WorkerDied) as exc:  # worth retrying: a worker will be free, or a new one started
        return _busy(str(exc))
    except (UnknownImage, BadImage) as exc:  # includes a variant the encoders or the memory ceiling refuse
        raise NotFoundException(detail="No such image.") from exc
    except Exception:  # a disk error, say: logged, and answered as unavailable rather than a 500
        request.logger.exception("variant %s/%s failed", digest, name)
        return _busy("The variant could not be made.")
    return File(
        path,
        content_disposition_type="inline",
        filename=name,  # "Save image as" offers 640.avif, not an empty name
        media_type=FORMATS[fmt],
        etag=None,
        headers={
            "Cache-Control": IMMUTABLE,
            "ETag": f'"{digest[:32]}-{width}-{fmt}"',
            # The original's time, not the variant file's: a variant made for this very request would
            # otherwise claim a Last-Modified after the response's own Date.
            "last-modified": formatdate(store.stored_at(digest), usegmt=True),
        },
    )


@post("/admin/images", guards=[require_token], request_max_body_size=MAX_UPLOAD_BYTES, name="upload-image")
async def upload(request: Request[Any, Any, Any]) -> Response[Any]:
    """Ingest an original (the raw bytes as the body); 201 when new, 200 when it was already stored."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (content_type.startswith("image/") or content_type == "application/octet-stream"):
        return problem(415, "Unsupported media type", "Send the image bytes with an image/* content type.")
    try:
        data = await request.body()
    except ClientException as exc:
        return problem(exc.status_code, "Upload refused", f"Originals are at most {MAX_UPLOAD_BYTES >> 20} MB.")
    if not data:
        return problem(
            422, "Invalid image", "The body is empty.", **{"invalid-params": [{"name": "body", "reason": "empty"}]}
        )
    store: ImageStore = request.app.state.images
    try:
        record, created = await store.add(data)
    except ImagesBusy as exc:
        return _busy(str(exc))
    except BadImage as exc:  # also over the memory ceiling (ImageTooLarge) or its worker dying (WorkerDied)
        return problem(422, "Invalid image", str(exc), **{"invalid-params": [{"name": "body", "reason": str(exc)}]})
    except Exception:
        request.logger.exception("image upload failed")
        return _busy("The image could not be stored.")
    body = {
        **record.as_dict(),
        "variants": {fmt: f"/img/{record.hash}/{{width}}.{fmt}" for fmt in FORMATS},
    }
    # The common widths are made after the answer is sent; the rest on first request.
    eager = BackgroundTask(store.build_eagerly, record.hash, EAGER_WIDTHS) if created else None
    return Response(body, status_code=201 if created else 200, background=eager)

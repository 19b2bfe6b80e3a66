"""``GET /v1/files/{key}``: serves blobs behind HMAC-signed, expiring links (no API key needed)."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from pyai.gateway.errors import ProblemError

router = APIRouter(tags=["Files"])

mimetypes.add_type("text/vtt", ".vtt")
mimetypes.add_type("application/x-subrip", ".srt")


@router.get("/v1/files/{key:path}", operation_id="getSignedFile", summary="Download a signed file")
async def get_file(request: Request, key: str, exp: int = Query(...), sig: str = Query(...)) -> FileResponse:
    blobs = request.app.state.services.blobs
    gone = ProblemError(404, "not_found", "The link is invalid or has expired.")
    try:
        if not blobs.verify(key, exp, sig):
            raise gone
        path = blobs.file_path(key)
    except ValueError:
        raise gone from None
    if path is None:
        raise gone
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type)

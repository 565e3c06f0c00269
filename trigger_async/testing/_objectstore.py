"""Packet offload: presigned-URL endpoints and the emulated object store behind them.

``PUT /api/v2/packets/{path}`` answers a presigned upload URL on the emulator itself
(``/__objectstore/upload/{path}``, no auth, as a real presigned URL); the stored object is
read back from ``/__objectstore/download/{path}`` with the content type it was uploaded
with. A run whose payload is such a ``storagePath`` (``payloadType: application/store``)
reports ``payloadPresignedUrl`` pointing at the download URL.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

from aiohttp import web

from ._auth import authenticate, authenticate_legacy
from ._http import Call, Route, json_response
from ._presenters import download_url
from ._records import StoredObject

DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"


def upload_url(base_url: str, path: str) -> str:
    """The presigned PUT URL of ``path``."""
    return f"{base_url}/__objectstore/upload/{quote(path, safe='/')}"


async def presign_upload(call: Call) -> web.StreamResponse:
    """``PUT /api/v2/packets/{path}``: upload URL and the canonical ``storagePath``."""
    authenticate_legacy(call, "Invalid or Missing API key")
    path = call.params["path"]
    return json_response({"presignedUrl": upload_url(call.base_url, path), "storagePath": path})


async def presign_upload_v1(call: Call) -> web.StreamResponse:
    """``PUT /api/v1/packets/{path}``: the older variant, without ``storagePath``."""
    authenticate_legacy(call, "Invalid or Missing API key")
    return json_response({"presignedUrl": upload_url(call.base_url, call.params["path"])})


async def presign_download(call: Call) -> web.StreamResponse:
    """``GET /api/v1/packets/{path}``: a download URL (public access tokens allowed)."""
    authenticate(call, allow_jwt=True)
    return json_response({"presignedUrl": download_url(call.base_url, call.params["path"])})


async def upload(call: Call) -> web.StreamResponse:
    """``PUT /__objectstore/upload/{path}``: store the body as the object."""
    content_type = call.header("content-type") or DEFAULT_CONTENT_TYPE
    call.state.store.objects[call.params["path"]] = StoredObject(call.body, content_type)
    return web.Response(status=200)


async def download(call: Call) -> web.StreamResponse:
    """``GET /__objectstore/download/{path}``: the stored bytes and content type."""
    stored = call.state.store.objects.get(call.params["path"])
    if stored is None:
        return web.Response(status=404, text="NoSuchKey")
    return web.Response(status=200, body=stored.data, headers={"Content-Type": stored.content_type})


ROUTES = [
    Route(
        "/api/v2/packets/{path*}",
        action=presign_upload,
        action_methods=frozenset({"PUT"}),
        legacy_wrong_method=True,
        limiter=None,
    ),
    Route(
        "/api/v1/packets/{path*}",
        loader=presign_download,
        action=presign_upload_v1,
        action_methods=frozenset({"PUT"}),
        legacy_wrong_method=True,
        cors=True,
        limiter=None,
    ),
    Route("/__objectstore/upload/{path*}", action=upload, action_methods=frozenset({"PUT"}), limiter=None),
    Route("/__objectstore/download/{path*}", loader=download, limiter=None),
]

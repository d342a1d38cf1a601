"""``GET /docs``: Swagger UI for the OpenAPI document, every asset served by us (works offline).

FastAPI's own docs page loads Swagger UI from a CDN. This page loads Swagger UI 5 (the first major
version that renders OpenAPI 3.1) from the files the ``fastapi-offline`` package ships, and its
start-up script from ``/docs/init.js`` (no inline script, so the page runs under a CSP of
``script-src 'self'``). The ``swagger-ui-bundle`` package was not used: it ships Swagger UI 4.15,
which cannot render OpenAPI 3.1.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Final

from fastapi import APIRouter
from starlette.responses import FileResponse, HTMLResponse, Response

from lendcore.core.errors import NotFoundError

DOCS_PATH: Final = "/docs"
ASSETS: Final = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}


def assets_directory() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def docs_router(openapi_url: str, title: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{DOCS_PATH}/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="{DOCS_PATH}/assets/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{DOCS_PATH}/assets/swagger-ui-bundle.js"></script>
<script src="{DOCS_PATH}/init.js"></script>
</body>
</html>
"""
    init = (
        "window.ui = SwaggerUIBundle({"
        f"url: {json.dumps(openapi_url)}, dom_id: '#swagger-ui', deepLinking: true, "
        "presets: [SwaggerUIBundle.presets.apis], layout: 'BaseLayout'});\n"
    )

    @router.get(DOCS_PATH)
    def docs_page() -> HTMLResponse:
        return HTMLResponse(page)

    @router.get(f"{DOCS_PATH}/init.js")
    def docs_init() -> Response:
        return Response(init, media_type="text/javascript; charset=utf-8")

    @router.get(DOCS_PATH + "/assets/{name}")
    def docs_asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise NotFoundError("no such file", code="NOT_FOUND")
        return FileResponse(
            assets_directory() / name,
            media_type=ASSETS[name],
            headers={"Cache-Control": "public, max-age=86400"},
        )

    return router

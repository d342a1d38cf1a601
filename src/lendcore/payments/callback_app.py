"""An ASGI app that receives channel callbacks: ``POST /callbacks`` → :func:`handle_callback`.

For the HTTP API to mount (``app.mount("/channel", callback_app(factory, secrets))``) and for tests
that run the simulator against a real receiver. The database work runs in a worker thread (the
session is synchronous); the answer is sent only after it committed.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker

from lendcore.payments.inbound import handle_callback


def callback_app(session_factory: sessionmaker[Session], secrets: Sequence[str | bytes]) -> FastAPI:
    app = FastAPI(title="lendcore channel callbacks")

    @app.post("/callbacks")
    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        headers = dict(request.headers)
        ack = await run_in_threadpool(handle_callback, session_factory, headers, body, secrets=secrets)
        return JSONResponse(ack.body, status_code=ack.status)

    return app

"""The HTTP API (FastAPI): ``create_app`` in :mod:`lendcore.api.app`, served by ``lendcore serve``.

Kept import-free so that ``lendcore.api.errors`` and friends load without FastAPI's application.
See docs/api.md.
"""

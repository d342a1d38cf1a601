"""The API's routers; :func:`lendcore.api.app.create_app` lists the ones it serves.

Each router carries its full prefix (``APIRouter(prefix=API_PREFIX)``) and is included without one, so
a route's ``path`` is its full template (what metrics, logs and idempotency records name it by)."""

from typing import Final

API_PREFIX: Final = "/api/v1"

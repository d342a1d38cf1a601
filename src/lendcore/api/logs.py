"""Structured logs: one JSON object a line, with the request id, and PII masked.

:func:`configure_logging` puts one handler on the root logger with :class:`JsonFormatter` and the
project's :class:`~lendcore.security.logging.PiiMaskingFilter` (ID, card and mobile numbers are masked
in every message and traceback), and routes uvicorn's loggers through it. :func:`uvicorn_log_config`
is the same set-up as uvicorn's ``log_config`` (so ``lendcore serve --workers N`` workers get it too).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Final

from lendcore.api.context import current_request_id
from lendcore.security.logging import PiiMaskingFilter

#: LogRecord attributes that are not "extra" fields (uvicorn's ``color_message`` is its message
#: with terminal colour codes).
_STANDARD: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "request_id", …extra fields, "exception"}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            entry["request_id"] = request_id
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in entry and not name.startswith("_"):
                entry[name] = value if isinstance(value, str | int | float | bool | None) else str(value)
        if record.exc_text or record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(entry, ensure_ascii=False)


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn: JSON lines on stderr, PII masked; uvicorn's own
    access log is off (the API logs every request itself, by route template, with its request id)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"pii": {"()": PiiMaskingFilter}},
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["pii"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True, "level": level},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": level},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
        },
    }


def configure_logging(level: str = "INFO") -> None:
    import logging.config

    logging.config.dictConfig(uvicorn_log_config(level))

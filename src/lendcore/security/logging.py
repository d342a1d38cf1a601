"""A logging filter that masks resident ID, bank card and mobile numbers in every log record.

Attach it to handlers (so records propagated from any logger are covered)::

    from lendcore.security.logging import install_pii_log_filter
    install_pii_log_filter()          # every handler of the root logger

The filter formats the message with its arguments, masks it, and also masks the exception and stack
text, so PII in ``log.info("phone %s", phone)`` or in an exception message never reaches a sink.
"""

from __future__ import annotations

import logging

from lendcore.security.pii import mask_text


class PiiMaskingFilter(logging.Filter):
    """Rewrites ``record.msg``/``args``/``exc_text``/``stack_info`` with PII masked; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed format string: mask what we have
            message = f"{record.msg} {record.args}"
        record.msg = mask_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def install_pii_log_filter(logger: logging.Logger | None = None) -> PiiMaskingFilter:
    """Add one :class:`PiiMaskingFilter` to ``logger`` (root by default) and to each of its handlers."""
    target = logger or logging.getLogger()
    flt = PiiMaskingFilter()
    target.addFilter(flt)
    for handler in target.handlers:
        handler.addFilter(flt)
    return flt

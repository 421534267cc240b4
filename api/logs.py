"""Logging set-up: every handler masks individual numbers, whatever logger the record comes from.

Uvicorn's access log prints the request line, and a GET query string can carry anything a client
typed; the filter sits on the handlers, so no record reaches a stream unmasked.
"""

from __future__ import annotations

import logging
from typing import Any

from policies.individual_number import contains_valid_number, mask_valid_numbers


class MaskIndividualNumbers(logging.Filter):
    """Masks valid individual numbers in the message and in string arguments (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: leave it to logging's own error report
            message = str(record.msg)
        if contains_valid_number(message):
            if record.name.startswith("uvicorn.access") and isinstance(record.args, tuple):
                # the access formatter reads its fields from args: mask them one by one
                record.args = tuple(mask_valid_numbers(a) if isinstance(a, str) else a for a in record.args)
            else:
                record.msg, record.args = mask_valid_numbers(message), None
        if record.exc_info:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = mask_valid_numbers(text)
        return True


FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_config(level: str = "INFO") -> dict[str, Any]:
    """A dictConfig for the root logger and uvicorn's loggers, every handler with the mask."""
    mask = {"()": MaskIndividualNumbers}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask_numbers": mask},
        "formatters": {
            "default": {"format": FORMAT},
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": '%(asctime)s INFO access: %(client_addr)s "%(request_line)s" %(status_code)s',
                "use_colors": False,
            },
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["mask_numbers"],
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "filters": ["mask_numbers"],
                "stream": "ext://sys.stdout",
            },
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["access"], "level": level, "propagate": False},
        },
    }

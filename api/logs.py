"""Logging set-up: every handler masks individual numbers, whatever logger the record comes from.

Uvicorn's access log prints the request line, and a GET query string can carry anything a client
typed; the filter sits on the handlers, so no record reaches a stream unmasked.

``KAIGO_LOG_FORMAT=json`` (the production default) writes one JSON object a line, with the trace and
span ids of the current span so a log line leads to its trace; ``text`` (the development default)
writes plain lines. The JSON access line names the path without its query string.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Mapping
from typing import Any, Final

from persistence.tracing import current_span_context
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

# What every LogRecord has; anything else on a record came as ``extra=`` and is written as a field.
_STANDARD: Final = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, trace_id and span_id of
    the current span (when one is recording), the ``extra=`` fields, and the (masked) traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.message(record),
        }
        line.update(self.fields(record))
        context = current_span_context()
        if context.is_valid:
            line["trace_id"] = format(context.trace_id, "032x")
            line["span_id"] = format(context.span_id, "016x")
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in line:
                line[key] = _json_value(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        text = json.dumps(line, ensure_ascii=False, default=str)
        # extra fields are not seen by the filter (it masks the message): mask the whole line again
        return mask_valid_numbers(text) if contains_valid_number(text) else text

    def message(self, record: logging.LogRecord) -> str:
        return record.getMessage()

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        return {}


class JsonAccessFormatter(JsonFormatter):
    """Uvicorn's access record as fields: client, method, path (no query string), version, status."""

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        args = record.args
        if not isinstance(args, tuple) or len(args) != 5:
            return {}
        client, method, full_path, version, status = args
        path, _, query = str(full_path).partition("?")
        return {
            "client_addr": client,
            "http.request.method": method,
            "url.path": path,
            "url.query_present": bool(query),
            "network.protocol.version": version,
            "http.response.status_code": status,
        }

    def message(self, record: logging.LogRecord) -> str:
        args = record.args
        if not isinstance(args, tuple) or len(args) != 5:
            return record.getMessage()
        return f"{args[1]} {str(args[2]).partition('?')[0]} {args[4]}"


def log_format(env: Mapping[str, str] | None = None) -> str:
    """``KAIGO_LOG_FORMAT`` (json or text); json in production, text in development by default."""
    env = os.environ if env is None else env
    chosen = env.get("KAIGO_LOG_FORMAT", "").strip().lower()
    if chosen in ("json", "text"):
        return chosen
    if chosen:
        raise SystemExit(f"KAIGO_LOG_FORMAT={chosen} is not supported (json or text)")
    return "json" if env.get("KAIGO_ENV") == "production" else "text"


def log_config(level: str = "INFO", fmt: str | None = None) -> dict[str, Any]:
    """A dictConfig for the root logger and uvicorn's loggers, every handler with the mask; ``fmt``
    (json or text) defaults to :func:`log_format`."""
    mask = {"()": MaskIndividualNumbers}
    if (fmt or log_format()) == "json":
        formatters: dict[str, Any] = {
            "default": {"()": JsonFormatter},
            "access": {"()": JsonAccessFormatter},
        }
    else:
        formatters = {
            "default": {"format": FORMAT},
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": '%(asctime)s INFO access: %(client_addr)s "%(request_line)s" %(status_code)s',
                "use_colors": False,
            },
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask_numbers": mask},
        "formatters": formatters,
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

"""JSON log lines: their fields, the current span's ids, masked numbers, uvicorn's access line."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from typing import Any

import pytest

from api.logs import JsonAccessFormatter, JsonFormatter, MaskIndividualNumbers, log_config, log_format
from persistence.tracing import current_tracer

from .tracing_support import traced

NUMBER = "123456789018"


def _logger(formatter: logging.Formatter, name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(MaskIndividualNumbers())
    logger = logging.getLogger(f"{name}-{id(stream)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    return logger, stream


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_has_its_fields_and_extras() -> None:
    logger, stream = _logger(JsonFormatter(), "test-json")
    logger.info("served %s", "x", extra={"kaigo.request_id": "r-1", "count": 3, "n": NUMBER})
    (line,) = _lines(stream)
    assert line["level"] == "INFO" and line["logger"].startswith("test-json")
    assert line["message"] == "served x"
    assert line["time"].endswith("+00:00")
    assert line["kaigo.request_id"] == "r-1" and line["count"] == 3
    assert "trace_id" not in line
    assert NUMBER not in stream.getvalue()  # an extra field is masked too


def test_a_json_line_names_the_current_span() -> None:
    logger, stream = _logger(JsonFormatter(), "test-json-span")
    with traced():
        tracer = current_tracer()
        assert tracer is not None
        with tracer.start_as_current_span("work") as span:
            logger.warning("inside")
            context = span.get_span_context()
    (line,) = _lines(stream)
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")


def test_numbers_and_tracebacks_are_masked() -> None:
    logger, stream = _logger(JsonFormatter(), "test-json-mask")
    logger.warning("number %s", NUMBER)
    try:
        raise ValueError(f"bad {NUMBER}")
    except ValueError:
        logger.exception("failed")
    _, second = _lines(stream)
    assert NUMBER not in stream.getvalue()
    assert "ValueError" in second["exception"]


def test_the_access_line_leaves_out_the_query_string() -> None:
    logger, stream = _logger(JsonAccessFormatter(), "uvicorn.access")
    logger.info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/graphql?query={{x(n:{NUMBER})}}", "1.1", 200
    )
    (line,) = _lines(stream)
    assert line["message"] == "GET /graphql 200"
    assert line["url.path"] == "/graphql" and line["url.query_present"] is True
    assert line["http.response.status_code"] == 200
    assert "query=" not in stream.getvalue() and NUMBER not in stream.getvalue()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "text"),
        ({"KAIGO_ENV": "production"}, "json"),
        ({"KAIGO_ENV": "production", "KAIGO_LOG_FORMAT": "text"}, "text"),
        ({"KAIGO_LOG_FORMAT": "JSON"}, "json"),
    ],
)
def test_the_format_follows_the_environment(env: dict[str, str], expected: str) -> None:
    assert log_format(env) == expected


def test_a_bad_format_is_refused() -> None:
    with pytest.raises(SystemExit):
        log_format({"KAIGO_LOG_FORMAT": "xml"})


def test_the_json_config_masks_every_handler() -> None:
    config = log_config(fmt="json")
    assert config["formatters"]["default"]["()"] is JsonFormatter
    assert config["formatters"]["access"]["()"] is JsonAccessFormatter
    assert all(h["filters"] == ["mask_numbers"] for h in config["handlers"].values())
    text = log_config(fmt="text")
    assert "format" in text["formatters"]["default"]

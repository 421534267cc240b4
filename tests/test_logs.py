"""No log line carries an individual number, whichever logger writes it."""

from __future__ import annotations

import io
import logging

from api.logs import MaskIndividualNumbers

NUMBER = "123456789018"


def _capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskIndividualNumbers())
    logger = logging.getLogger(f"test-mask-{id(stream)}")
    logger.propagate = False
    logger.addHandler(handler)
    return logger, stream


def test_messages_arguments_and_tracebacks_are_masked() -> None:
    logger, stream = _capture()
    logger.warning("number %s in %s", NUMBER, {"n": NUMBER})
    logger.warning(f"inline {NUMBER}")
    logger.warning('%s - "GET /graphql?query=%s HTTP/1.1" %d', "127.0.0.1", NUMBER, 200)
    try:
        raise ValueError(f"bad {NUMBER}")
    except ValueError:
        logger.exception("failed")
    text = stream.getvalue()
    assert NUMBER not in text
    assert text.count("************") >= 4
    assert "200" in text


def test_the_access_log_keeps_its_fields() -> None:
    from uvicorn.logging import AccessFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskIndividualNumbers())
    handler.setFormatter(
        AccessFormatter('%(client_addr)s "%(request_line)s" %(status_code)s', use_colors=False)
    )
    logger = logging.getLogger("uvicorn.access.test")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/graphql?n={NUMBER}", "1.1", 200)
    line = stream.getvalue()
    assert NUMBER not in line
    assert '"GET /graphql?n=************ HTTP/1.1" 200' in line

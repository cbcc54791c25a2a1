"""Log lines carry request ids and never personal numbers."""

from __future__ import annotations

import json
import logging

from app.platform.log_format import ContextFilter, JsonFormatter, redact
from app.seed.fake_identifiers import fake_id_number


def test_redact_masks_id_numbers_and_mobile_numbers():
    id_number = fake_id_number("530102")
    text = redact(f"user {id_number} phone 13812345678 order 12345")
    assert id_number not in text
    assert "13812345678" not in text
    assert "530102********" in text and "138****5678" in text and "12345" in text


def test_json_log_line_has_request_id_and_masked_message():
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "id %s", (fake_id_number(),),
                               None)
    ContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "-"
    assert "********" in line["message"]

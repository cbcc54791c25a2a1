"""Department request signatures, checked without any HTTP around them."""

from __future__ import annotations

import pytest

from app.identity.partner_signing import signature, verify_signature
from app.platform.errors import Unauthenticated

SECRET = b"0123456789abcdef0123456789abcdef"
KEYS = {"dept-1": SECRET}
NOW = 1_800_000_000


def signed(**overrides: object) -> dict:
    request = {"key_id": "dept-1", "timestamp": str(NOW), "method": "POST",
               "path": "/api/v1/integrations/certificates", "body": b'{"event_id": "e1"}'}
    request["sent"] = signature(SECRET, request["method"], request["path"],
                                request["timestamp"], request["body"])
    return {**request, **overrides}


def test_a_correctly_signed_timely_request_gives_its_key_id():
    assert verify_signature(KEYS, now=NOW, **signed()) == "dept-1"


def test_the_signature_may_come_in_upper_case_hex():
    request = signed()
    assert verify_signature(KEYS, now=NOW, **{**request, "sent": request["sent"].upper()})


@pytest.mark.parametrize(("change", "error"), [
    ({"sent": ""}, "signature_missing"),
    ({"key_id": "dept-2"}, "unknown_department_key"),
    ({"timestamp": str(NOW - 301)}, "timestamp_out_of_range"),
    ({"timestamp": "１８００"}, "timestamp_out_of_range"),
    ({"timestamp": "²"}, "timestamp_out_of_range"),  # isdigit() says yes, int() says no
    ({"timestamp": "9" * 40}, "timestamp_out_of_range"),
    ({"sent": "é" * 64}, "bad_signature"),  # compare_digest raises on non-ASCII text
    ({"body": b'{"event_id": "e2"}'}, "bad_signature"),
    ({"path": "/api/v1/integrations/certificates/1/revoke"}, "bad_signature"),
])
def test_a_request_that_is_not_right_is_refused_saying_why(change, error):
    request = signed()
    with pytest.raises(Unauthenticated) as refused:
        verify_signature(KEYS, now=NOW, **{**request, **change})
    assert refused.value.error == error

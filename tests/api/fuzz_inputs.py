"""What the fuzzer sends: schemathesis cases, valid and invalid, with real ids of the world
mixed in (so requests reach real objects) and inputs that have broken parsers before."""

from __future__ import annotations

import json
from typing import Any, NamedTuple
from urllib.parse import unquote

import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.generation.feedback import FeedbackSources

from tests.api.world import department_headers

# Unicode digits pass str.isdigit() and regex \d but not int(); then a bidi control, a NUL,
# a huge number as text, a long run.
NASTY_TEXT = ["١٢٣", "５３０１０２", "\u202e530102", "5301\x0002", "9" * 400, "a" * 5000]
# Headers travel as Latin-1: superscript digits are its non-ASCII digits.
NASTY_HEADER = ["²³", "1²", "½", "9" * 400]
# JSON bodies also carry lone surrogates and numbers no column holds.
NASTY_JSON = [*NASTY_TEXT, "\ud800", "a\udfffb", 10**40, -(2**63) - 1, 1e308, [[[[]]]], {}]
# Multipart parts are bytes: files that begin like a type the uploads take and then are not.
NASTY_FILES = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"%PDF-%%EOF", b"PK\x03\x04" * 8,
               b"PK\x05\x06" + b"\xff" * 18, b"<svg onload=alert(1)>"]
NASTY = {"path": NASTY_TEXT, "query": NASTY_TEXT, "header": NASTY_HEADER, "body": NASTY_JSON,
         "files": NASTY_FILES}
# Nested deeper than any parser's recursion limit.
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
JSON = "application/json"


class FuzzRequest(NamedTuple):
    case: schemathesis.Case
    raw_body: bytes | None  # sent instead of the case's body


def _varied(draw: st.DrawFn, value: Any, real: list[str] | None, location: str) -> Any:
    """Mostly the generated value; often a real one where there is one; sometimes a nasty one."""
    kinds = ["generated", "generated", "nasty"] + ["real", "real"] * bool(real)
    kind = draw(st.sampled_from(kinds))
    if kind == "real":
        return draw(st.sampled_from(real))
    return draw(st.sampled_from(NASTY[location])) if kind == "nasty" else value


@st.composite
def fuzz_requests(draw: st.DrawFn, operation: schemathesis.APIOperation,
                  values: dict[str, list[str]], feedback: FeedbackSources) -> FuzzRequest:
    """A request to the operation; `values` are real values by parameter name."""
    has_input = operation.body or any(True for _ in operation.iter_parameters())
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE] if has_input else [
        GenerationMode.POSITIVE]
    case = draw(operation.as_strategy(generation_mode=draw(st.sampled_from(modes)),
                                      feedback=feedback))
    body = "files" if case.media_type == "multipart/form-data" else "body"
    for location, container in (("path", case.path_parameters), ("query", case.query),
                                ("header", case.headers),
                                (body, case.body if isinstance(case.body, dict) else None)):
        for name in list(container or {}):
            # Credentials are the caller's; only the API's own headers are fuzzed.
            if location != "header" or name.lower().startswith("x-"):
                container[name] = _varied(draw, container[name], values.get(name), location)
    deep = operation.body and draw(st.integers(min_value=0, max_value=15)) == 0
    return FuzzRequest(case, DEEP_JSON if deep else None)


def _body_as_sent(request: FuzzRequest, headers: dict[str, str]) -> bytes:
    if request.raw_body is not None:
        return request.raw_body
    sent = request.case.as_transport_kwargs(headers=headers)
    body = sent.get("data") or (json.dumps(sent["json"]).encode() if "json" in sent else b"")
    return body.encode() if isinstance(body, str) else body


def send(request: FuzzRequest, headers: dict[str, str], *, signed: bool
         ) -> schemathesis.Response:
    """Send the request with the caller's headers (and a department's signature over it)."""
    case = request.case
    if signed:
        path = case.as_transport_kwargs(headers=headers)["path"]
        # The signature covers the path as the server reads it: percent-escapes decoded.
        headers = {**headers, **department_headers(case.method, unquote(path),
                                                   _body_as_sent(request, headers))}
    if request.raw_body is None:
        return case.call(headers=headers)
    return case.call(headers={**headers, "Content-Type": JSON}, data=request.raw_body)

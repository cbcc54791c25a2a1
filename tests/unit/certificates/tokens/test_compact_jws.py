"""Presentation tokens: signing, strict verification and its exact failure reasons, and
interoperability with independent JOSE libraries (app/certificates/tokens/compact_jws.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string
import time
import warnings

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.errors import BadSignatureError, SecurityWarning
from joserfc.jwk import KeySet

from app.certificates.tokens import (
    MAX_CLOCK_SKEW_SECONDS,
    MAX_TOKEN_LENGTH,
    PRESENTATION_TTL_SECONDS,
    REASONS,
    VerificationFailure,
    generate_signing_key,
    jwks,
    key_to_pem,
    sign_presentation,
    verify_presentation,
)
from app.certificates.tokens import compact_jws as tokens_module

NOW = 1_795_000_000
KEY = generate_signing_key()
OTHER_KEY = generate_signing_key()
PUBLIC_KEYS = {KEY.kid: KEY.public_key()}
HEADER = {"alg": "EdDSA", "kid": KEY.kid, "typ": "vp+jwt"}
B64URL = string.ascii_letters + string.digits + "-_"


def create_claims(**overrides: object) -> dict:
    claims = {
        "iss": "https://zwfw.example.gov.cn", "sub": "9d2a4f60b1c3", "jti": "5b0e7c1e-presentation",
        "purpose": "酒店入住登记", "cert_type": "id_card",
        "fields": {"name": "张三", "ethnicity": "汉"}, "derived": {"age_over_18": True},
    }
    claims.update(overrides)
    return claims


def b64(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def as_json(value: object) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(value).encode("utf-8")


def forge(header: object, payload: object, private_key: Ed25519PrivateKey | None = KEY.private_key,
          ) -> str:
    """A token with any header and payload, correctly Ed25519-signed (or unsigned: None)."""
    signing_input = b64(as_json(header)) + "." + b64(as_json(payload))
    signature = private_key.sign(signing_input.encode("ascii")) if private_key else b""
    return signing_input + "." + b64(signature)


def valid_payload(**overrides: object) -> dict:
    return create_claims(**{"iat": NOW, "exp": NOW + PRESENTATION_TTL_SECONDS, **overrides})


def reason_for(token: object, now: int = NOW, public_keys: dict = PUBLIC_KEYS) -> str:
    with pytest.raises(VerificationFailure) as caught:
        verify_presentation(token, public_keys, now=now)  # type: ignore[arg-type]
    assert caught.value.reason in REASONS
    return caught.value.reason


def published_jwks() -> dict:
    """The JWKS as an offline verifier gets it: JSON over the wire, our current and old key."""
    return json.loads(json.dumps(jwks([OTHER_KEY.public_jwk(), KEY.public_jwk()])))


# --- signing and the round trip ------------------------------------------------------------

def test_a_signed_presentation_verifies_to_its_claims_with_iat_and_a_60_second_exp():
    token = sign_presentation(KEY, create_claims(), now=NOW)
    assert verify_presentation(token, PUBLIC_KEYS, now=NOW) == {
        **create_claims(), "iat": NOW, "exp": NOW + 60}


def test_signing_without_now_uses_the_current_time():
    before = int(time.time())
    claims = verify_presentation(sign_presentation(KEY, create_claims()), PUBLIC_KEYS)
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] == claims["iat"] + PRESENTATION_TTL_SECONDS


def test_signing_keeps_an_iat_and_a_shorter_exp_the_caller_gives():
    token = sign_presentation(KEY, create_claims(iat=NOW - 5, exp=NOW + 10), now=NOW)
    claims = verify_presentation(token, PUBLIC_KEYS, now=NOW)
    assert (claims["iat"], claims["exp"]) == (NOW - 5, NOW + 10)


def test_signing_does_not_change_the_callers_claims():
    claims = create_claims()
    sign_presentation(KEY, claims, now=NOW)
    assert claims == create_claims()


@pytest.mark.parametrize("jti", [None, "", 42])
def test_signing_requires_a_string_jti_from_the_caller(jti):
    claims = create_claims(jti=jti)
    if jti is None:
        del claims["jti"]
    with pytest.raises(ValueError, match="jti"):
        sign_presentation(KEY, claims, now=NOW)


@pytest.mark.parametrize("times", [
    {"exp": NOW + 61}, {"exp": NOW + 3600}, {"exp": NOW - 1}, {"iat": float(NOW)},
    {"iat": str(NOW)}, {"exp": True},
])
def test_signing_refuses_a_life_longer_than_the_ttl_or_times_that_are_not_integers(times):
    with pytest.raises(ValueError):
        sign_presentation(KEY, create_claims(**times), now=NOW)


def test_signing_refuses_a_token_too_long_for_a_qr_code():
    with pytest.raises(ValueError, match="disclose fewer fields"):
        sign_presentation(KEY, create_claims(disclosed={"经营范围": "餐饮服务" * 200}), now=NOW)


def test_the_token_is_compact_unpadded_with_our_header_and_compact_utf8_json():
    token = sign_presentation(KEY, create_claims(), now=NOW)
    header_segment, payload_segment, signature_segment = token.split(".")
    assert "=" not in token
    assert json.loads(unb64(header_segment)) == HEADER
    payload = unb64(payload_segment)
    assert payload == json.dumps({**create_claims(), "iat": NOW, "exp": NOW + 60},
                                 ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert len(unb64(signature_segment)) == 64


def test_the_longest_token_sign_allows_is_verified():
    # Each filler byte adds 1 or 2 characters: walk up until signing refuses.
    filler, longest = "", ""
    while True:
        try:
            longest = sign_presentation(KEY, create_claims(note=filler), now=NOW)
        except ValueError:
            break
        filler += "x"
    assert MAX_TOKEN_LENGTH - 2 <= len(longest) <= MAX_TOKEN_LENGTH
    assert verify_presentation(longest, PUBLIC_KEYS, now=NOW)["note"] == filler[:-1]


# --- independent libraries, with nothing but the published JWKS ----------------------------

def test_joserfc_verifies_a_token_using_only_the_published_jwks():
    token = sign_presentation(KEY, create_claims(), now=NOW)
    key_set = KeySet.import_key_set(published_jwks())
    with warnings.catch_warnings():
        # joserfc 1.x warns that RFC 9864 prefers the alg name "Ed25519"; "EdDSA" is our contract.
        warnings.simplefilter("ignore", SecurityWarning)
        verified = jws.deserialize_compact(token, key_set, algorithms=["EdDSA"])
    assert verified.protected == HEADER
    assert json.loads(verified.payload) == {**create_claims(), "iat": NOW, "exp": NOW + 60}


def test_joserfc_rejects_a_tampered_token_using_the_published_jwks():
    token = tamper_payload(sign_presentation(KEY, create_claims(), now=NOW), purpose="边检")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        with pytest.raises(BadSignatureError):
            jws.deserialize_compact(token, KeySet.import_key_set(published_jwks()),
                                    algorithms=["EdDSA"])


def test_pyjwt_verifies_a_token_with_the_jwk_named_by_its_kid():
    token = sign_presentation(KEY, create_claims(), now=int(time.time()))
    kid = jwt.get_unverified_header(token)["kid"]
    public_key = jwt.PyJWKSet.from_dict(published_jwks())[kid].key
    claims = jwt.decode(token, key=public_key, algorithms=["EdDSA"],
                        options={"require": ["iat", "exp", "jti"]})
    assert claims["fields"] == {"name": "张三", "ethnicity": "汉"}


def test_pyjwt_rejects_a_token_signed_by_another_key():
    token = sign_presentation(OTHER_KEY, create_claims(), now=int(time.time()))
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, key=jwt.PyJWK(KEY.public_jwk()).key, algorithms=["EdDSA"])


# --- tampering, keys and algorithms --------------------------------------------------------

def tamper_payload(token: str, **changes: object) -> str:
    header_segment, payload_segment, signature_segment = token.split(".")
    payload = {**json.loads(unb64(payload_segment)), **changes}
    return ".".join([header_segment, b64(json.dumps(payload, ensure_ascii=False)),
                     signature_segment])


@pytest.mark.parametrize("change", [{"purpose": "边检"}, {"derived": {"age_over_18": False}},
                                   {"exp": NOW + 55}, {"jti": "5b0e7c1e-presentatioN"}])
def test_a_token_with_one_claim_changed_is_a_bad_signature(change):
    token = sign_presentation(KEY, create_claims(), now=NOW)
    assert reason_for(tamper_payload(token, **change)) == "bad_signature"


@pytest.mark.parametrize("bit", [0, 7, 255, 511])
def test_a_token_with_one_signature_bit_flipped_is_a_bad_signature(bit):
    signing_input, _, signature_segment = sign_presentation(
        KEY, create_claims(), now=NOW).rpartition(".")
    signature = bytearray(unb64(signature_segment))
    signature[bit // 8] ^= 1 << (bit % 8)
    assert reason_for(signing_input + "." + b64(bytes(signature))) == "bad_signature"


@pytest.mark.parametrize("signature", [bytes(63), bytes(65), b""])
def test_a_signature_that_is_not_64_bytes_is_a_bad_signature(signature):
    signing_input = sign_presentation(KEY, create_claims(), now=NOW).rpartition(".")[0]
    assert reason_for(signing_input + "." + b64(signature)) == "bad_signature"


def test_a_non_canonical_signature_encoding_is_malformed_though_its_bytes_verify():
    token = sign_presentation(KEY, create_claims(), now=NOW)
    last = B64URL.index(token[-1])
    alias = token[:-1] + B64URL[last | 1]  # same 64 bytes: only a spare bit differs
    assert unb64(alias.rpartition(".")[2]) == unb64(token.rpartition(".")[2])
    assert reason_for(alias) == "malformed"


def test_a_token_signed_by_a_key_not_in_the_map_is_an_unknown_key():
    assert reason_for(sign_presentation(OTHER_KEY, create_claims(), now=NOW)) == "unknown_key"


def test_a_token_naming_a_known_kid_but_signed_by_another_key_is_a_bad_signature():
    token = forge(HEADER, valid_payload(), private_key=OTHER_KEY.private_key)
    assert reason_for(token) == "bad_signature"


def test_alg_none_with_an_empty_signature_is_a_bad_signature():
    token = forge({**HEADER, "alg": "none"}, valid_payload(), private_key=None)
    assert token.endswith(".")
    assert reason_for(token) == "bad_signature"


def hs256(header: dict, payload: dict, secret: bytes) -> str:
    signing_input = b64(as_json(header)) + "." + b64(as_json(payload))
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64(mac)


@pytest.mark.parametrize("secret", [
    KEY.public_key().public_bytes_raw(),
    KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                  serialization.PublicFormat.SubjectPublicKeyInfo),
    json.dumps(KEY.public_jwk()).encode(),
    KEY.public_jwk()["x"].encode(),
], ids=["raw", "pem", "jwk-json", "x"])
def test_an_hs256_token_keyed_with_our_public_key_is_a_bad_signature(secret):
    token = hs256({**HEADER, "alg": "HS256"}, valid_payload(), secret)
    assert reason_for(token) == "bad_signature"


def test_an_es256_token_is_a_bad_signature_even_with_a_64_byte_signature():
    ec_key = ec.generate_private_key(ec.SECP256R1())
    signing_input = b64(as_json({**HEADER, "alg": "ES256"})) + "." + b64(as_json(valid_payload()))
    r, s = decode_dss_signature(ec_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert reason_for(signing_input + "." + b64(signature)) == "bad_signature"


@pytest.mark.parametrize("alg", ["eddsa", "EDDSA", "Ed25519", "EdDSA ", ["EdDSA"], None, 1])
def test_any_alg_but_exactly_eddsa_is_a_bad_signature_even_when_the_signature_holds(alg):
    assert reason_for(forge({**HEADER, "alg": alg}, valid_payload())) == "bad_signature"


def test_a_header_without_alg_is_a_bad_signature():
    header = {"kid": KEY.kid, "typ": "vp+jwt"}
    assert reason_for(forge(header, valid_payload())) == "bad_signature"


@pytest.mark.parametrize("header", [
    {**HEADER, "crit": ["exp"]},
    {**HEADER, "crit": ["b64"], "b64": False},
    {**HEADER, "typ": "JWT"},
    {"alg": "EdDSA", "kid": KEY.kid},
    {"alg": "EdDSA", "typ": "vp+jwt"},
    {**HEADER, "kid": 7},
    {**HEADER, "kid": [KEY.kid]},
], ids=["crit", "crit-b64", "typ-jwt", "no-typ", "no-kid", "kid-int", "kid-list"])
def test_crit_other_typ_and_missing_or_non_string_kid_are_malformed(header):
    assert reason_for(forge(header, valid_payload())) == "malformed"


# --- the clock -----------------------------------------------------------------------------

@pytest.mark.parametrize(("offset", "reason"), [
    (-MAX_CLOCK_SKEW_SECONDS - 1, "not_yet_valid"),
    (-MAX_CLOCK_SKEW_SECONDS, None),
    (-29, None),
    (0, None),
    (PRESENTATION_TTL_SECONDS + 29, None),
    (PRESENTATION_TTL_SECONDS + MAX_CLOCK_SKEW_SECONDS, None),
    (PRESENTATION_TTL_SECONDS + MAX_CLOCK_SKEW_SECONDS + 1, "expired"),
    (3600, "expired"),
], ids=["iat-31", "iat-30", "iat-29", "iat", "exp+29", "exp+30", "exp+31", "hour-later"])
def test_the_clock_allows_30_seconds_of_skew_around_iat_and_exp(offset, reason):
    token = sign_presentation(KEY, create_claims(), now=NOW)
    if reason is None:
        assert verify_presentation(token, PUBLIC_KEYS, now=NOW + offset)["jti"]
    else:
        assert reason_for(token, now=NOW + offset) == reason


# --- malformed input, before and after the signature ---------------------------------------

@pytest.mark.parametrize("token", [
    "", ".", "..", "a.b", "a.b.c.d", "a.b.c.d.e", "not a token", "eyJ.eyJ.", "🙂.🙂.🙂",
    "ｅｙＪ.ｅｙＪ.ｅｙＪ", "a..c", ".b.c", "a+b.c/d.e", "\x00.\x00.\x00", "a.b.c\ud800",
])
def test_garbage_strings_are_malformed(token):
    assert reason_for(token) == "malformed"


@pytest.mark.parametrize("token", [None, b"a.b.c", 123, 1.5, ["a", "b", "c"], {"token": "x"}])
def test_values_that_are_not_strings_are_malformed(token):
    assert reason_for(token) == "malformed"


def test_a_3_mb_token_is_malformed_before_any_decoding(monkeypatch):
    class NoDecoding:
        def fullmatch(self, _text: str) -> None:
            raise AssertionError("a too-long token reached decoding")

    monkeypatch.setattr(tokens_module, "_COMPACT_JWS", NoDecoding())
    token = sign_presentation(KEY, create_claims(), now=NOW)
    assert reason_for(token + "A" * 3_000_000) == "malformed"
    assert reason_for("A" * (MAX_TOKEN_LENGTH + 1)) == "malformed"


def test_nested_arrays_100k_deep_are_malformed():
    bomb = b"[" * 100_000 + b"]" * 100_000
    assert reason_for(b64(bomb) + "." + b64(bomb) + "." + b64(bytes(64))) == "malformed"


def test_a_header_nested_as_deep_as_its_length_allows_is_malformed():
    assert reason_for(forge(b"[" * 380 + b"]" * 380, valid_payload())) == "malformed"


def test_a_signed_payload_nested_past_the_recursion_limit_is_malformed():
    bomb = b"[" * 1100
    with pytest.raises(RecursionError):  # the case under test: json's own recursion guard
        json.loads(bomb)
    assert reason_for(forge(HEADER, bomb)) == "malformed"


@pytest.mark.parametrize("mangle", [
    lambda t: t + "=",
    lambda t: t.replace(".", "=.", 1),
    lambda t: t.replace(".", ".=", 1),
    lambda t: t + "\n",
    lambda t: " " + t,
    lambda t: t[:20] + " " + t[20:],
    lambda t: t[:20] + "\t" + t[20:],
    lambda t: t.replace(".", "\n.", 1),
    lambda t: t.replace("-", "+").replace("_", "/") if ("-" in t or "_" in t) else t + "+",
], ids=["pad-end", "pad-header", "pad-payload", "newline-end", "space-start", "space-mid",
        "tab-mid", "newline-mid", "standard-alphabet"])
def test_padding_whitespace_and_the_standard_base64_alphabet_are_malformed(mangle):
    assert reason_for(mangle(sign_presentation(KEY, create_claims(), now=NOW))) == "malformed"


@pytest.mark.parametrize("value", [[], [HEADER], "header", 1, None, True])
def test_a_header_that_is_not_a_json_object_is_malformed(value):
    assert reason_for(forge(value, valid_payload())) == "malformed"


@pytest.mark.parametrize("value", [[], [valid_payload()], "claims", 1, None, 1.5])
def test_a_signed_payload_that_is_not_a_json_object_is_malformed(value):
    assert reason_for(forge(HEADER, value)) == "malformed"


@pytest.mark.parametrize("raw_header", [
    b'{"alg":"EdDSA","alg":"none","kid":"%s","typ":"vp+jwt"}',
    b'{"alg":"EdDSA","kid":"%s","typ":"vp+jwt","x":NaN}',
    b'{"alg":"EdDSA","kid":"%s","typ":"vp+jwt","x":1e999}',
    b'{"alg":"EdDSA","kid":"%s","typ":"vp+jwt"} trailing',
    b'{"alg":"EdDSA","kid":"\xff%s","typ":"vp+jwt"}',
], ids=["duplicate", "nan", "infinite", "trailing", "not-utf8"])
def test_a_header_with_duplicates_non_json_numbers_trailing_data_or_bad_utf8_is_malformed(
        raw_header):
    assert reason_for(forge(raw_header % KEY.kid.encode(), valid_payload())) == "malformed"


def test_a_header_in_utf16_is_malformed():
    assert reason_for(forge(json.dumps(HEADER).encode("utf-16"), valid_payload())) == "malformed"


def test_a_signed_payload_with_duplicate_claims_is_malformed():
    payload = json.dumps(valid_payload()).encode()[:-1] + b',"jti":"other"}'
    assert reason_for(forge(HEADER, payload)) == "malformed"


@pytest.mark.parametrize("payload", [
    json.dumps(valid_payload()).encode()[:-1] + b',"score":NaN}',
    json.dumps(valid_payload()).encode()[:-1] + b',"score":-Infinity}',
    json.dumps(valid_payload()).encode()[:-1] + b',"score":1e400}',
    json.dumps(valid_payload(), ensure_ascii=False).encode("gb18030"),
], ids=["nan", "infinity", "overflow", "gb18030"])
def test_a_signed_payload_with_non_json_numbers_or_not_in_utf8_is_malformed(payload):
    assert reason_for(forge(HEADER, payload)) == "malformed"


@pytest.mark.parametrize("missing", ["jti", "iat", "exp"])
def test_a_signed_payload_missing_a_required_claim_is_malformed(missing):
    payload = valid_payload()
    del payload[missing]
    assert reason_for(forge(HEADER, payload)) == "malformed"


@pytest.mark.parametrize("change", [
    {"jti": ""}, {"jti": 42}, {"jti": None}, {"iat": float(NOW)}, {"iat": str(NOW)},
    {"exp": True}, {"iat": None}, {"iat": False, "exp": True},
])
def test_a_signed_payload_with_claims_of_the_wrong_type_is_malformed(change):
    assert reason_for(forge(HEADER, {**valid_payload(), **change})) == "malformed"


@pytest.mark.parametrize("exp_offset", [PRESENTATION_TTL_SECONDS + 1, 90, 3600, 10**30, -1])
def test_a_signed_payload_claiming_a_life_outside_0_to_60_seconds_is_malformed(exp_offset):
    payload = valid_payload(exp=NOW + exp_offset)
    assert reason_for(forge(HEADER, payload), now=NOW) == "malformed"


def test_huge_integer_times_are_judged_not_crashed_on():
    payload = valid_payload(iat=10**300, exp=10**300 + 60)
    assert reason_for(forge(HEADER, payload)) == "not_yet_valid"


def test_a_failure_says_its_reason_and_refuses_reasons_it_does_not_know():
    failure = VerificationFailure("expired", "expired")
    assert (failure.reason, str(failure)) == ("expired", "expired: expired")
    with pytest.raises(ValueError):
        VerificationFailure("replayed")  # type: ignore[arg-type]


def test_failure_details_never_carry_key_material():
    pem = key_to_pem(KEY).decode()
    for token in [forge(HEADER, valid_payload(), private_key=OTHER_KEY.private_key), "x.y.z"]:
        with pytest.raises(VerificationFailure) as caught:
            verify_presentation(token, PUBLIC_KEYS, now=NOW)
        assert KEY.public_jwk()["x"] not in str(caught.value)
        assert pem.splitlines()[1] not in str(caught.value)


# --- anything at all ends in VerificationFailure -------------------------------------------

def outcome(token: object) -> str:
    try:
        verify_presentation(token, PUBLIC_KEYS, now=NOW)  # type: ignore[arg-type]
    except VerificationFailure as failure:
        assert failure.reason in REASONS
        return failure.reason
    return "valid"


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_arbitrary_text_only_ever_fails_verification(text):
    assert outcome(text) == "malformed"


segments = st.text(alphabet=B64URL + "=. \n+/", max_size=200)


@settings(max_examples=500, deadline=None)
@given(segments, segments, segments)
def test_arbitrary_three_segment_strings_only_ever_fail_verification(header, payload, signature):
    assert outcome(f"{header}.{payload}.{signature}") != "valid"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["alg", "kid", "typ", "crit", "b64", "jwk"]) | st.text(),
                       json_values | st.sampled_from(["EdDSA", KEY.kid, "vp+jwt"]), max_size=5),
       st.binary(max_size=300), st.binary(max_size=70))
def test_arbitrary_headers_payloads_and_signatures_only_ever_fail_verification(
        header, payload, signature):
    token = b64(json.dumps(header)) + "." + b64(payload) + "." + b64(signature)
    assert outcome(token) != "valid"


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_arbitrary_signed_payloads_verify_or_fail_verification(payload):
    try:
        payload_json = json.dumps(payload).encode()
    except (TypeError, ValueError):
        return
    outcome(forge(HEADER, payload_json))

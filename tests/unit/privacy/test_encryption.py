"""Encryption and blind indexes of personal data."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.privacy.encryption import (
    DecryptionError,
    KeyRing,
    PersonalDataCipher,
    decode_key,
    generate_key,
    parse_key_ring,
)

KEY_1 = base64.b64encode(bytes(range(32))).decode()
KEY_2 = base64.b64encode(bytes(range(100, 132))).decode()
INDEX_KEY = bytes(range(200, 232))
TOKEN = re.compile(r"[A-Za-z0-9_-]+:[A-Za-z0-9_-]+")


def create_cipher(ring: str = f"k1:{KEY_1}", index_key: bytes = INDEX_KEY) -> PersonalDataCipher:
    return PersonalDataCipher(parse_key_ring(ring), index_key)


def flip_bit(token: str, byte_position: int) -> str:
    kid, _, data = token.partition(":")
    raw = bytearray(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    raw[byte_position % len(raw)] ^= 1
    return f"{kid}:{base64.urlsafe_b64encode(bytes(raw)).decode()}"


# ---------------------------------------------------------------------------
# Key ring


def test_key_ring_takes_the_first_key_as_current() -> None:
    ring = parse_key_ring(f" k2:{KEY_2} , k1:{KEY_1} ")
    assert ring.current_kid == "k2"
    assert ring.key_ids == ("k2", "k1")
    assert ring.keys["k1"] == bytes(range(32))


def test_key_ring_accepts_url_safe_base64_without_padding() -> None:
    raw = bytes([0xFB, 0xFF] * 16)
    url_safe = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert "-" in url_safe or "_" in url_safe
    assert parse_key_ring(f"k1:{url_safe}").keys["k1"] == raw


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "empty"),
        (" , ", "empty"),
        (KEY_1, "form"),
        (f":{KEY_1}", "key id"),
        (f"k 1:{KEY_1}", "key id"),
        (f"k1:{KEY_1},k1:{KEY_2}", "repeated"),
        (f"k1:{KEY_1},k2:{KEY_1}", "same key"),
        ("k1:not base64!", "base64"),
        (f"k1:{base64.b64encode(bytes(16)).decode()}", "32 bytes"),
    ],
)
def test_malformed_key_ring_is_refused_with_a_reason(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_key_ring(text)


def test_key_ring_errors_never_show_key_material() -> None:
    short_key = base64.b64encode(b"secret-material-16").decode()
    with pytest.raises(ValueError) as caught:
        parse_key_ring(f"k1:{KEY_1},k2:{short_key}")
    assert short_key not in str(caught.value)
    assert KEY_1 not in str(caught.value)


def test_key_ring_and_cipher_reprs_never_show_key_material() -> None:
    ring = parse_key_ring(f"k1:{KEY_1}")
    for shown in (repr(ring), repr(PersonalDataCipher(ring, INDEX_KEY))):
        assert "k1" in shown
        assert KEY_1 not in shown
        assert repr(bytes(range(32))) not in shown


def test_key_ring_current_key_must_be_in_the_ring() -> None:
    with pytest.raises(ValueError, match="not in the key ring"):
        KeyRing(current_kid="k9", keys={"k1": bytes(32)})


def test_generated_keys_are_random_256_bit_keys() -> None:
    first, second = generate_key(), generate_key()
    assert first != second
    assert len(decode_key(first)) == 32
    assert parse_key_ring(f"k1:{first},k0:{second}").current_kid == "k1"


def test_index_key_must_be_long_and_apart_from_encryption_keys() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        create_cipher(index_key=bytes(16))
    with pytest.raises(ValueError, match="differ"):
        create_cipher(index_key=bytes(range(32)))


# ---------------------------------------------------------------------------
# Encryption


@given(st.text())
def test_encrypted_text_decrypts_to_itself(plaintext: str) -> None:
    cipher = create_cipher()
    assert (
        cipher.decrypt(cipher.encrypt(plaintext, "user.id_number"), "user.id_number") == plaintext
    )


def test_token_is_compact_ascii_naming_its_key() -> None:
    token = create_cipher().encrypt("53010219900101001X", "user.id_number")
    assert TOKEN.fullmatch(token)
    assert token.startswith("k1:")
    assert "53010219900101001X" not in token


def test_encrypting_the_same_value_twice_gives_different_tokens() -> None:
    cipher = create_cipher()
    tokens = {cipher.encrypt("13812345678", "user.phone") for _ in range(20)}
    assert len(tokens) == 20


def test_token_cannot_be_decrypted_in_another_context() -> None:
    cipher = create_cipher()
    token = cipher.encrypt("13812345678", "user.phone")
    with pytest.raises(DecryptionError):
        cipher.decrypt(token, "user.id_number")


@given(st.integers(min_value=0))
def test_tampered_token_fails_to_decrypt(byte_position: int) -> None:
    cipher = create_cipher()
    token = cipher.encrypt("53010219900101001X", "user.id_number")
    with pytest.raises(DecryptionError):
        cipher.decrypt(flip_bit(token, byte_position), "user.id_number")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "no-separator",
        "k9:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "k1:AAAA",
        "k1:@@@@",
        "k1:",
    ],
)
def test_malformed_or_unknown_key_token_fails_to_decrypt(token: str) -> None:
    with pytest.raises(DecryptionError):
        create_cipher().decrypt(token, "user.phone")


def test_context_must_not_be_empty() -> None:
    with pytest.raises(ValueError, match="context"):
        create_cipher().encrypt("13812345678", "")


def test_token_under_an_old_key_decrypts_after_rotation_and_is_flagged() -> None:
    old_token = create_cipher(f"k1:{KEY_1}").encrypt("13812345678", "user.phone")
    rotated = create_cipher(f"k2:{KEY_2},k1:{KEY_1}")

    assert rotated.decrypt(old_token, "user.phone") == "13812345678"
    assert rotated.key_id_of(old_token) == "k1"
    assert rotated.needs_rotation(old_token)

    new_token = rotated.reencrypt(old_token, "user.phone")
    assert rotated.key_id_of(new_token) == "k2"
    assert not rotated.needs_rotation(new_token)
    assert rotated.decrypt(new_token, "user.phone") == "13812345678"


def test_token_under_a_retired_key_no_longer_decrypts() -> None:
    old_token = create_cipher(f"k1:{KEY_1}").encrypt("13812345678", "user.phone")
    with pytest.raises(DecryptionError, match="unknown key"):
        create_cipher(f"k2:{KEY_2}").decrypt(old_token, "user.phone")


# ---------------------------------------------------------------------------
# Blind index


def test_blind_index_is_64_hex_characters_and_stable() -> None:
    index = create_cipher().blind_index("13812345678", "phone")
    assert re.fullmatch(r"[0-9a-f]{64}", index)
    assert create_cipher(f"k2:{KEY_2}").blind_index("13812345678", "phone") == index


def test_blind_index_ignores_case_of_x_and_surrounding_spaces() -> None:
    cipher = create_cipher()
    assert cipher.blind_index(" 44011320141005001x", "id_number") == cipher.blind_index(
        "44011320141005001X", "id_number"
    )


def test_same_digits_as_phone_and_as_id_number_give_different_indexes() -> None:
    cipher = create_cipher()
    assert cipher.blind_index("13812345678", "phone") != cipher.blind_index(
        "13812345678", "id_number"
    )


def test_kind_and_value_cannot_be_shifted_into_each_other() -> None:
    cipher = create_cipher()
    # Without the NUL between them, kind "A" + value "1B" and kind "A1" + value "B" would collide.
    assert cipher.blind_index("1B", "A") != cipher.blind_index("B", "A1")
    with pytest.raises(ValueError, match="kind"):
        cipher.blind_index("x", "a\x00b")


def test_blind_index_depends_on_the_index_key() -> None:
    other = create_cipher(index_key=bytes(range(1, 33)))
    assert other.blind_index("13812345678", "phone") != create_cipher().blind_index(
        "13812345678", "phone"
    )

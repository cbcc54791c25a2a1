"""The app's personal-data cipher, built once from configuration."""

from __future__ import annotations

from flask import Flask

from app.config import ConfigError
from app.platform.app_services import AppService
from app.privacy.encryption import PersonalDataCipher, decode_key, parse_key_ring


def build_cipher(app: Flask) -> PersonalDataCipher:
    """The cipher of the configured keys; a bad key is a configuration error."""
    try:
        cipher = PersonalDataCipher(parse_key_ring(app.config["PERSONAL_DATA_KEYS"]),
                                    decode_key(app.config["BLIND_INDEX_KEY"]))
    except ValueError as exc:
        raise ConfigError(f"PERSONAL_DATA_KEYS / BLIND_INDEX_KEY: {exc}") from exc
    return cipher


vault: AppService[PersonalDataCipher] = AppService("vault", build_cipher)

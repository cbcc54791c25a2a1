"""The app's personal-data cipher, built once from configuration."""

from __future__ import annotations

from flask import Flask, current_app

from app.config import ConfigError
from app.privacy.encryption import PersonalDataCipher, decode_key, parse_key_ring


def init_vault(app: Flask) -> None:
    """Parse the keys at start-up, so a bad key stops the app instead of the first request."""
    try:
        cipher = PersonalDataCipher(parse_key_ring(app.config["PERSONAL_DATA_KEYS"]),
                                    decode_key(app.config["BLIND_INDEX_KEY"]))
    except ValueError as exc:
        raise ConfigError(f"PERSONAL_DATA_KEYS / BLIND_INDEX_KEY: {exc}") from exc
    app.extensions["vault"] = cipher


def vault() -> PersonalDataCipher:
    """The cipher of the current app."""
    return current_app.extensions["vault"]

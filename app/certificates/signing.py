"""Presentation-signing keys: private keys from configuration, public keys from the database.

Private keys come from `SIGNING_KEY_PEM` or the `*.pem` files of `SIGNING_KEY_DIR` (shared by
every host, like any secret); embedded mode generates one into the instance folder. Each
key's public half is recorded in `signing_keys`, so any host can verify what another signed
and the JWKS lists them. `flask rotate-signing-key` adds a key and retires the old ones, which
stay verifiable until their last token has expired.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask, current_app

from app.certificates.tokens import (
    MAX_CLOCK_SKEW_SECONDS,
    PRESENTATION_TTL_SECONDS,
    SigningKey,
    generate_signing_key,
    key_from_pem,
    key_to_pem,
    public_key_from_jwk,
)
from app.config import ConfigError
from app.extensions import db
from app.models.certificate import SigningKeyRecord
from app.platform.orm import utcnow

log = logging.getLogger(__name__)
# A retired key verifies for as long as a token it signed can still be accepted.
RETIRED_KEY_GRACE = timedelta(seconds=PRESENTATION_TTL_SECONDS + MAX_CLOCK_SKEW_SECONDS)
PUBLIC_KEYS_TTL_SECONDS = 10.0
_lock = threading.Lock()


def key_dir(app: Flask) -> Path:
    return Path(app.config["SIGNING_KEY_DIR"] or Path(app.instance_path) / "signing-keys")


def _load_dir(folder: Path) -> list[SigningKey]:
    keys = []
    for path in sorted(folder.glob("*.pem")):
        created = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        try:
            keys.append(key_from_pem(path.read_bytes(), created_at=created))
        except ValueError as exc:
            raise ConfigError(f"signing key {path.name}: {exc}") from None
    return keys


def write_key(folder: Path, key: SigningKey) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key.kid}.pem"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key_to_pem(key))
    return path


def init_signing(app: Flask) -> None:
    """Load the private keys; embedded mode makes one on first run, production needs one."""
    keys = []
    if app.config["SIGNING_KEY_PEM"]:
        try:
            keys.append(key_from_pem(app.config["SIGNING_KEY_PEM"].encode()))
        except ValueError as exc:
            raise ConfigError(f"SIGNING_KEY_PEM: {exc}") from None
    keys += _load_dir(key_dir(app))
    if not keys and app.config["EMBEDDED"]:
        key = generate_signing_key()
        write_key(key_dir(app), key)
        keys.append(key)
    if not keys:
        raise ConfigError("no presentation signing key: set SIGNING_KEY_PEM or SIGNING_KEY_DIR")
    app.extensions["signing_keys"] = {key.kid: key for key in keys}


def _records(now: datetime) -> list[SigningKeyRecord]:
    return list(db.session.scalars(sa.select(SigningKeyRecord).where(sa.or_(
        SigningKeyRecord.retired_at.is_(None),
        SigningKeyRecord.retired_at > now - RETIRED_KEY_GRACE)).order_by(
        SigningKeyRecord.created_at)))


def register_local_keys() -> None:
    """Record the public half of every local key the database does not know yet."""
    local = current_app.extensions["signing_keys"]
    known = set(db.session.scalars(sa.select(SigningKeyRecord.kid).where(
        SigningKeyRecord.kid.in_(list(local)))))
    for kid in sorted(set(local) - known, key=lambda k: local[k].created_at):
        db.session.add(SigningKeyRecord(kid=kid, public_jwk=local[kid].public_jwk(),
                                        created_at=local[kid].created_at))
    if set(local) - known:
        db.session.commit()


@dataclass(frozen=True)
class KeyView:
    """The keys that may sign or verify now, as one process last read them."""

    fetched_at: float
    active: tuple[str, ...]  # not retired, oldest first
    jwks: tuple[dict, ...]
    public: dict[str, Ed25519PublicKey]


def _key_view(refresh: bool = False) -> KeyView:
    """Read the key records at most every PUBLIC_KEYS_TTL_SECONDS; register local keys once."""
    view = current_app.extensions.get("signing_key_view")
    if (view is not None and not refresh
            and time.monotonic() - view.fetched_at <= PUBLIC_KEYS_TTL_SECONDS):
        return view
    with _lock:
        if not current_app.extensions.get("signing_keys_registered"):
            register_local_keys()
            current_app.extensions["signing_keys_registered"] = True
        records = _records(utcnow())
        view = KeyView(time.monotonic(),
                       tuple(r.kid for r in records if r.retired_at is None),
                       tuple(r.public_jwk for r in records),
                       {r.kid: public_key_from_jwk(r.public_jwk) for r in records})
        current_app.extensions["signing_key_view"] = view
    return view


def current_signing_key() -> SigningKey:
    """The newest local key that rotation has not retired."""
    local = current_app.extensions["signing_keys"]
    active = [kid for kid in _key_view().active if kid in local]
    if not active:
        raise ConfigError("every local signing key is retired: install the current key")
    return local[active[-1]]


def public_keys(refresh: bool = False) -> dict[str, Ed25519PublicKey]:
    """kid → public key of every key that may still verify, cached briefly per process."""
    return _key_view(refresh).public


def jwks_document() -> dict:
    """The JWKS that verifies presentation tokens offline: current and recently retired keys."""
    return {"keys": list(_key_view().jwks)}


def rotate_signing_key() -> SigningKey:
    """Make a new current key; the previous ones verify until their tokens have expired."""
    key = generate_signing_key()
    write_key(key_dir(current_app), key)
    now = utcnow()
    db.session.execute(sa.update(SigningKeyRecord).where(SigningKeyRecord.retired_at.is_(None))
                       .values(retired_at=now))
    db.session.add(SigningKeyRecord(kid=key.kid, public_jwk=key.public_jwk(), created_at=now))
    db.session.commit()
    current_app.extensions["signing_keys"][key.kid] = key
    current_app.extensions.pop("signing_key_view", None)
    log.info("presentation signing key rotated; new kid %s", key.kid)
    return key

"""Presentation-signing keys: private keys from configuration, public keys from the database.

Private keys come from `SIGNING_KEY_PEM` or the `*.pem` files of `SIGNING_KEY_DIR` (shared by
every host, like any secret); embedded mode generates one into the instance folder. Each
key's public half is recorded in `signing_keys` as the app starts (or, if the database could
not take it then, on first use), so any host can verify what another signed and the JWKS
lists them; reading them never commits the caller's session. `flask rotate-signing-key` adds
a key and retires the old ones, which stay verifiable until their last token has expired.
"""

from __future__ import annotations

import logging
import os
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
from app.platform.app_services import AppService
from app.platform.local_views import LocalView
from app.platform.orm import utcnow

log = logging.getLogger(__name__)
# A retired key verifies for as long as a token it signed can still be accepted.
RETIRED_KEY_GRACE = timedelta(seconds=PRESENTATION_TTL_SECONDS + MAX_CLOCK_SKEW_SECONDS)
PUBLIC_KEYS_TTL_SECONDS = 10.0


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


def load_private_keys(app: Flask) -> dict[str, SigningKey]:
    """kid → private key; embedded mode makes one on first run, production needs one."""
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
    return {key.kid: key for key in keys}


# This host's private keys, loaded as the app starts.
signing_keys: AppService[dict[str, SigningKey]] = AppService("signing_keys", load_private_keys)


def _records(connection: sa.Connection, now: datetime) -> list[sa.Row]:
    return list(connection.execute(sa.select(
        SigningKeyRecord.kid, SigningKeyRecord.public_jwk, SigningKeyRecord.retired_at).where(
        sa.or_(SigningKeyRecord.retired_at.is_(None),
               SigningKeyRecord.retired_at > now - RETIRED_KEY_GRACE)).order_by(
        SigningKeyRecord.created_at)))


# Another worker starting at the same moment may record the same kid first: let it.
_RECORD_KEY = (sa.insert(SigningKeyRecord)
               .prefix_with("IGNORE", dialect="mysql")
               .prefix_with("IGNORE", dialect="mariadb")
               .prefix_with("OR IGNORE", dialect="sqlite"))


def register_local_keys() -> None:
    """Record the public half of every local key the database does not know yet, in a
    transaction of its own (never the caller's)."""
    local = signing_keys()
    with db.engine.begin() as connection:
        known = set(connection.scalars(sa.select(SigningKeyRecord.kid).where(
            SigningKeyRecord.kid.in_(list(local)))))
        missing = sorted(set(local) - known, key=lambda kid: local[kid].created_at)
        if missing:
            connection.execute(_RECORD_KEY, [
                {"kid": kid, "public_jwk": local[kid].public_jwk(),
                 "created_at": local[kid].created_at} for kid in missing])


def _register_once(_: object) -> bool:
    register_local_keys()
    return True


# Whether this process has recorded its local keys: at start-up, or on first use when the
# database could not take them then. Reset with the other views (tests empty the tables).
_registration = LocalView(_register_once)


def register_keys_at_start(app: Flask) -> None:
    """Record the local keys as the app starts; without the table or the database, on first use.

    `flask db upgrade` builds the app before the migrations make the table, and an app whose
    database is down must still start (its readiness check says so).
    """
    with app.app_context():
        try:
            if not sa.inspect(db.engine).has_table(SigningKeyRecord.__tablename__):
                log.debug("no signing_keys table yet: local signing keys recorded on first use")
                return
            _registration.get()
        except sa.exc.SQLAlchemyError as exc:
            log.warning("signing keys not recorded at start (%s): recorded on first use",
                        type(exc).__name__)
        finally:
            # Leave no pooled connection behind: Celery's prefork pool (or gunicorn --preload)
            # forks after the app is built, and children must not share the parent's socket.
            db.engine.dispose()


@dataclass(frozen=True)
class KeyView:
    """The keys that may sign or verify now, as one process last read them."""

    active: tuple[str, ...]  # not retired, oldest first
    jwks: tuple[dict, ...]
    public: dict[str, Ed25519PublicKey]


def _read_key_view(_: object) -> KeyView:
    _registration.get()
    # On a connection of its own: what the process then serves for ten seconds must not
    # depend on the transaction (and snapshot) of whichever request happened to ask first.
    with db.engine.connect() as connection:
        records = _records(connection, utcnow())
    return KeyView(tuple(r.kid for r in records if r.retired_at is None),
                   tuple(r.public_jwk for r in records),
                   {r.kid: public_key_from_jwk(r.public_jwk) for r in records})


_key_views = LocalView(_read_key_view, max_age_seconds=PUBLIC_KEYS_TTL_SECONDS)


def _key_view(refresh: bool = False) -> KeyView:
    """The key records as read at most PUBLIC_KEYS_TTL_SECONDS ago (now, with `refresh`)."""
    return _key_views.get(refresh=refresh)


def current_signing_key() -> SigningKey:
    """The newest local key that rotation has not retired."""
    local = signing_keys()
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
    signing_keys()[key.kid] = key
    _key_views.clear()
    log.info("presentation signing key rotated; new kid %s", key.kid)
    return key

"""Operator commands: `flask seed-demo`, `flask create-admin`, `flask purge-expired`."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app

from app.certificates.signing import key_dir, rotate_signing_key
from app.extensions import db
from app.identity.admin_accounts import create_admin
from app.models.admin import ACCOUNT_ROLES
from app.platform import audit, retention
from app.platform.errors import DomainError
from app.seed import seed_demo


@click.command("seed-demo")
def seed_demo_command() -> None:
    """Load the demo data (safe to run again: existing rows are kept)."""
    changes = seed_demo()
    for name, count in changes.items():
        click.echo(f"{name}: {count} changed")


@click.command("create-admin")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(ACCOUNT_ROLES), help="repeat for several roles")
@click.option("--institution", default=None, help="institution name, for verifier accounts")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def create_admin_command(username: str, roles: tuple[str, ...], institution: str | None,
                         password_stdin: bool) -> None:
    """Create an admin or verifier account; the password is prompted for, never an argument."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        account = create_admin(username, password, list(roles), institution_name=institution)
        db.session.flush()
        audit.record("admin.created", actor=None, actor_name="cli", target_type="admin_account",
                     target_id=account.id, details={"username": username, "roles": sorted(roles)})
        db.session.commit()
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"created {username} with roles {', '.join(sorted(roles))}")


@click.command("rotate-signing-key")
def rotate_signing_key_command() -> None:
    """Start signing presentations with a new key; the old ones verify until their tokens expire."""
    key = rotate_signing_key()
    audit.record("signing_key.rotated", actor=None, actor_name="cli", target_type="signing_key",
                 target_id=key.kid)
    db.session.commit()
    click.echo(f"new signing key {key.kid}, written to {key_dir(current_app)}")


@click.command("purge-expired")
def purge_expired_command() -> None:
    """Delete now what is past its retention, as the daily task does."""
    for kind, count in retention.purge_expired(current_app.config).items():
        click.echo(f"{kind}: {count} deleted")


def register_commands(app: Flask) -> None:
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(rotate_signing_key_command)
    app.cli.add_command(purge_expired_command)

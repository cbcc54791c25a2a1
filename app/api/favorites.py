"""The caller's favourite and recently used items."""

from __future__ import annotations

from flask_jwt_extended import current_user

from app.api.catalog_schemas import ItemListSchema
from app.api.docs import ErrorSchema
from app.api.permissions import user_required
from app.api.request_bodies import Blueprint
from app.catalog.personal_lists import add_favorite, favorites, recent, remove_favorite
from app.extensions import db

blp = Blueprint("favorites", __name__, url_prefix="/api/v1/me",
                description="Favourites and recent items")


@blp.get("/favorites")
@user_required
@blp.response(200, ItemListSchema)
def get_favorites() -> dict:
    """Favourite items, newest first."""
    return {"items": [item.payload() for item in favorites(current_user)]}


@blp.put("/favorites/<item_code:code>")
@user_required
@blp.response(204)
@blp.alt_response(409, schema=ErrorSchema, description="the favourites list is full")
def put_favorite(code: str) -> None:
    """Add an item to the favourites (idempotent)."""
    add_favorite(current_user, code)
    db.session.commit()


@blp.delete("/favorites/<item_code:code>")
@user_required
@blp.response(204)
def delete_favorite(code: str) -> None:
    """Remove an item from the favourites."""
    remove_favorite(current_user, code)
    db.session.commit()


@blp.get("/recent")
@user_required
@blp.response(200, ItemListSchema)
def get_recent() -> dict:
    """Items the caller used lately, newest first."""
    return {"items": [item.payload() for item in recent(current_user)]}

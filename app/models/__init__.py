"""SQLAlchemy models, one module per aggregate; importing this package registers them all."""

from app.models.admin import AdminAccount, AdminRole
from app.models.catalog import Theme

__all__ = ["AdminAccount", "AdminRole", "Theme"]

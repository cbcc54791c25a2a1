"""Themes, and cached reads that keep answering while Redis is down."""

from __future__ import annotations

from app.cache import invalidate
from app.catalog_queries import CATALOG_CACHE
from app.extensions import db
from app.models import Theme
from tests.conftest import CLOSED_REDIS_URL


def create_theme(*, code: str = "birth", name: str = "生育收养", audience: str = "personal",
                 sort_order: int = 0) -> Theme:
    theme = Theme(code=code, name=name, audience=audience, sort_order=sort_order)
    db.session.add(theme)
    db.session.commit()
    return theme


def test_themes_are_listed_in_curated_order(client, app_context):
    create_theme(code="tax", name="纳税缴费", audience="enterprise", sort_order=2)
    create_theme(code="birth", sort_order=1)
    names = [t["name"] for t in client.get("/api/v1/themes").get_json()["items"]]
    assert names == ["生育收养", "纳税缴费"]


def test_themes_filter_by_audience_includes_themes_for_both(client, app_context):
    create_theme(code="tax", name="纳税缴费", audience="enterprise")
    create_theme(code="birth")
    create_theme(code="legal", name="司法公证", audience="both")
    codes = {t["code"] for t in client.get("/api/v1/themes?audience=enterprise").json["items"]}
    assert codes == {"tax", "legal"}


def test_cached_read_is_stale_until_the_namespace_is_invalidated(client, app_context):
    theme = create_theme()
    assert client.get("/api/v1/themes").json["items"][0]["name"] == "生育收养"
    theme.name = "生育服务"
    db.session.commit()
    assert client.get("/api/v1/themes").json["items"][0]["name"] == "生育收养"
    invalidate(CATALOG_CACHE)
    assert client.get("/api/v1/themes").json["items"][0]["name"] == "生育服务"


def test_themes_are_served_from_the_database_when_redis_is_unreachable(app_context, make_app):
    create_theme()
    offline_redis = make_app(REDIS_URL=CLOSED_REDIS_URL).test_client()
    first = offline_redis.get("/api/v1/themes")
    second = offline_redis.get("/api/v1/themes")  # within the back-off: Redis is not retried
    assert first.status_code == second.status_code == 200
    assert first.json["items"][0]["name"] == "生育收养"

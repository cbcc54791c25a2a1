"""Themes, and cached reads that keep answering while Redis is down."""

from __future__ import annotations

from app.catalog.upkeep import commit_catalog_change
from app.extensions import db
from tests.conftest import CLOSED_REDIS_URL
from tests.factories import create_item, create_theme


def names(response) -> list[str]:
    return [t["name"] for t in response.get_json()["items"]]


def test_themes_are_listed_in_curated_order_with_item_counts(client, app_context):
    create_theme(code="tax", name="纳税缴费", audience="enterprise", sort_order=2)
    create_theme(code="birth", name="生育收养", sort_order=1)
    create_item(themes=("birth",))
    body = client.get("/api/v1/themes").get_json()
    assert [(t["name"], t["item_count"]) for t in body["items"]] == [("生育收养", 1),
                                                                      ("纳税缴费", 0)]


def test_themes_filter_by_audience_includes_themes_for_both(client, app_context):
    create_theme(code="tax", name="纳税缴费", audience="enterprise")
    create_theme(code="birth", name="生育收养")
    create_theme(code="legal", name="司法公证", audience="both")
    codes = {t["code"] for t in client.get("/api/v1/themes?audience=enterprise").json["items"]}
    assert codes == {"tax", "legal"}


def test_a_change_outside_the_catalog_api_shows_once_the_version_moves(client, app_context):
    theme = create_theme(code="birth", name="生育收养")
    assert names(client.get("/api/v1/themes")) == ["生育收养"]
    theme.name = "生育服务"
    db.session.commit()
    assert names(client.get("/api/v1/themes")) == ["生育收养"]  # still the cached answer
    commit_catalog_change()
    assert names(client.get("/api/v1/themes")) == ["生育服务"]


def test_themes_are_served_from_the_database_when_redis_is_unreachable(app_context, make_app):
    create_theme(code="birth", name="生育收养")
    offline_redis = make_app(REDIS_URL=CLOSED_REDIS_URL).test_client()
    first = offline_redis.get("/api/v1/themes")
    second = offline_redis.get("/api/v1/themes")  # within the back-off: Redis is not retried
    assert first.status_code == second.status_code == 200
    assert names(first) == ["生育收养"]

"""Search through the API: Chinese, pinyin, initials, synonyms; never an error for junk."""

from __future__ import annotations

import pytest

from app.catalog.upkeep import commit_catalog_change, put_synonym
from tests.factories import create_item, create_theme


@pytest.fixture
def catalog(app_context):
    create_theme(code="social_security")
    create_item(code="GF00005001", name="社会保障卡申领",
                faqs=[{"question": "社保卡丢了怎么办？", "answer": "先挂失再补办"}])
    create_item(code="GF00005002", name="机动车驾驶证期满换证", regions=("530102",))
    put_synonym("社保卡", ["社会保障卡"])
    put_synonym("驾照", ["机动车驾驶证"])
    commit_catalog_change()


def keys(response, group: str = "items") -> list[str]:
    return [hit["key"] for hit in response.get_json()[group]]


@pytest.mark.parametrize("q", ["sbk", "shebaoka", "社保卡", "社会保障卡", "shebaoak"])
def test_social_security_card_is_found_every_way_people_type_it(client, catalog, q):
    assert keys(client.get(f"/api/v1/search?q={q}"))[0] == "GF00005001"


def test_synonym_finds_the_official_name(client, catalog):
    assert keys(client.get("/api/v1/search?q=驾照")) == ["GF00005002"]


def test_faqs_are_searched(client, catalog):
    assert keys(client.get("/api/v1/search?q=挂失"), "faqs") == ["GF00005001#faq1"]


def test_region_filter_hides_items_of_other_places(client, catalog):
    assert keys(client.get("/api/v1/search?q=驾照&region=530302")) == []
    assert keys(client.get("/api/v1/search?q=驾照&region=530102")) == ["GF00005002"]


@pytest.mark.parametrize("q", ["", "   ", "!!!", "🙂🙂"])
def test_empty_or_junk_queries_answer_an_empty_result(client, catalog, q):
    response = client.get("/api/v1/search", query_string={"q": q})
    assert response.status_code == 200
    assert response.get_json()["items"] == []


def test_a_query_over_50_characters_is_422_naming_q(client, catalog):
    response = client.get("/api/v1/search", query_string={"q": "社" * 51})
    assert response.status_code == 422
    assert "q" in response.get_json()["errors"]

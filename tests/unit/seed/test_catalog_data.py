"""The demo catalog data files are complete and consistent with each other and the code formats."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from app.models.catalog import ITEM_AUDIENCES, MATERIAL_FORMS, ONLINE_LEVELS, USER_AUDIENCES
from app.models.enterprise import RELATIONS
from app.privacy.identifiers import InvalidIdentifier, parse_region_code, parse_service_item_code

APP_DIR = Path(__file__).resolve().parents[3] / "app"
DATA_DIR = APP_DIR / "seed" / "data"
RULES_FILE = APP_DIR / "catalog" / "recommendation_rules.json"
CATALOG_FILES = [
    "seed/data/themes.json",
    "seed/data/regions.json",
    "seed/data/services.json",
    "seed/data/bundles.json",
    "seed/data/synonyms.json",
    "catalog/recommendation_rules.json",
]

FIELD_TYPES = {"text", "id_number", "phone", "date", "select", "region", "number"}
RULE_CONDITIONS = {
    "age_min",
    "age_max",
    "gender",
    "region_prefix",
    "enterprise_relation",
    "enterprise_industry",
    "has_enterprise",
}
ITEM_KEYS = {
    "code",
    "name",
    "short_name",
    "department",
    "audience",
    "themes",
    "regions",
    "legal_basis",
    "conditions",
    "materials",
    "steps",
    "legal_limit_days",
    "promised_limit_days",
    "fee",
    "online_level",
    "zero_trip",
    "faqs",
    "keywords",
    "complete",
}
# The application form and the instant-approval rule, on the items that have them.
OPTIONAL_ITEM_KEYS = {"form", "instant_approval"}


def _load(name: str) -> dict[str, Any]:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def themes() -> list[dict[str, Any]]:
    return _load("themes.json")["themes"]


@pytest.fixture(scope="module")
def regions() -> list[dict[str, Any]]:
    return _load("regions.json")["regions"]


@pytest.fixture(scope="module")
def items() -> list[dict[str, Any]]:
    return _load("services.json")["items"]


@pytest.fixture(scope="module")
def bundles() -> list[dict[str, Any]]:
    return _load("bundles.json")["bundles"]


@pytest.fixture(scope="module")
def synonyms() -> dict[str, list[str]]:
    return _load("synonyms.json")["synonyms"]


@pytest.fixture(scope="module")
def rules() -> list[dict[str, Any]]:
    return json.loads(RULES_FILE.read_text(encoding="utf-8"))["rules"]


@pytest.fixture(scope="module")
def region_codes(regions) -> set[str]:
    codes: list[str] = []

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            codes.append(node["code"])
            walk(node.get("children", []))

    walk(regions)
    assert len(codes) == len(set(codes)), "duplicate region codes"
    return set(codes)


@pytest.fixture(scope="module")
def certificate_types() -> set[str]:
    """The codes the certificate-type table is seeded with: what materials may name."""
    return {t["code"] for t in _load("certificate_types.json")["types"]}


@pytest.fixture(scope="module")
def item_codes(items) -> set[str]:
    return {item["code"] for item in items}


# ---------------------------------------------------------------- files


@pytest.mark.parametrize("name", CATALOG_FILES)
def test_every_catalog_file_is_utf8_json_with_version_1(name):
    raw = (APP_DIR / name).read_bytes()
    document = json.loads(raw.decode("utf-8"))
    assert document["version"] == 1


@pytest.mark.parametrize("name", CATALOG_FILES)
def test_catalog_files_hold_no_id_or_mobile_numbers(name):
    text = (APP_DIR / name).read_text(encoding="utf-8")
    assert re.search(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])", text) is None
    assert re.search(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])", text) is None


# ---------------------------------------------------------------- regions


def test_regions_are_yunnan_with_16_prefectures_and_129_counties(regions):
    assert [(r["code"], r["name"]) for r in regions] == [("530000", "云南省")]
    prefectures = regions[0]["children"]
    counties = [county for prefecture in prefectures for county in prefecture["children"]]
    assert len(prefectures) == 16
    assert len(counties) == 129
    names = {p["code"]: p["name"] for p in prefectures}
    assert names["530100"] == "昆明市"
    assert names["532900"] == "大理白族自治州"
    assert names["533400"] == "迪庆藏族自治州"
    kunming = {c["code"]: c["name"] for c in prefectures[0]["children"]}
    assert kunming["530102"] == "五华区"
    assert kunming["530181"] == "安宁市"
    assert len(kunming) == 14


def test_region_codes_are_valid_and_nest_under_their_parents(regions, region_codes):
    assert len(region_codes) == 1 + 16 + 129
    for prefecture in regions[0]["children"]:
        assert parse_region_code(prefecture["code"]) == prefecture["code"]
        assert prefecture["code"].startswith("53") and prefecture["code"].endswith("00")
        assert prefecture["name"]
        for county in prefecture["children"]:
            assert parse_region_code(county["code"]) == county["code"]
            assert county["code"][:4] == prefecture["code"][:4], county
            assert not county["code"].endswith("00"), county
            assert county["name"] and "children" not in county


# ---------------------------------------------------------------- services


def test_catalog_has_enough_items_and_complete_guides(items):
    assert len(items) >= 160
    assert sum(1 for item in items if item["complete"] is True) >= 45


def test_item_codes_and_names_are_unique_and_valid(items):
    codes = Counter(item["code"] for item in items)
    assert [code for code, n in codes.items() if n > 1] == []
    names = Counter(item["name"] for item in items)
    assert [name for name, n in names.items() if n > 1] == []
    bad = []
    for item in items:
        try:
            if parse_service_item_code(item["code"]) != item["code"]:
                bad.append(item["code"])
        except InvalidIdentifier:
            bad.append(item["code"])
    assert bad == []


def test_every_item_has_the_required_fields(items):
    problems = []
    for item in items:
        code = item.get("code")
        if set(item) - OPTIONAL_ITEM_KEYS != ITEM_KEYS:
            problems.append((code, "keys", sorted((set(item) - OPTIONAL_ITEM_KEYS) ^ ITEM_KEYS)))
            continue
        for key in ("name", "short_name", "department", "fee"):
            if not isinstance(item[key], str) or not item[key].strip():
                problems.append((code, key))
        if item["audience"] not in ITEM_AUDIENCES:
            problems.append((code, "audience"))
        if item["online_level"] not in ONLINE_LEVELS:
            problems.append((code, "online_level"))
        if not isinstance(item["complete"], bool) or not isinstance(item["zero_trip"], bool):
            problems.append((code, "flags"))
        if not item["materials"] or not item["steps"] or not item["regions"]:
            problems.append((code, "materials/steps/regions"))
        for step in item["steps"]:
            if not step.get("name") or not step.get("description"):
                problems.append((code, "step", step))
        if not all(isinstance(k, str) and k for k in item["keywords"]):
            problems.append((code, "keywords"))
    assert problems == []


def test_item_themes_exist_and_every_theme_has_at_least_four_items(items, themes):
    theme_codes = {theme["code"] for theme in themes}
    assert len(theme_codes) == 27
    per_theme: Counter[str] = Counter()
    for item in items:
        assert 1 <= len(item["themes"]) <= 2, item["code"]
        assert len(set(item["themes"])) == len(item["themes"]), item["code"]
        assert set(item["themes"]) <= theme_codes, item["code"]
        per_theme.update(item["themes"])
    assert set(per_theme) == theme_codes
    assert {code: n for code, n in per_theme.items() if n < 4} == {}


def test_item_regions_exist_in_the_region_tree(items, region_codes):
    unknown = [(i["code"], r) for i in items for r in i["regions"] if r not in region_codes]
    assert unknown == []


def test_time_limits_are_working_days_with_promise_within_the_legal_limit(items):
    for item in items:
        legal, promised = item["legal_limit_days"], item["promised_limit_days"]
        assert isinstance(legal, int) and isinstance(promised, int), item["code"]
        assert 0 <= promised <= legal, item["code"]


def test_zero_trip_only_with_full_online_service(items):
    wrong = [i["code"] for i in items if i["zero_trip"] and i["online_level"] != "全程网办"]
    assert wrong == []


def test_materials_have_unique_ids_and_known_forms_and_certificate_types(items,
                                                                        certificate_types):
    problems = []
    for item in items:
        ids = [m["id"] for m in item["materials"]]
        if len(ids) != len(set(ids)):
            problems.append((item["code"], "duplicate material ids"))
        for material in item["materials"]:
            if not material["name"] or not isinstance(material["required"], bool):
                problems.append((item["code"], material["id"], "name/required"))
            if material["form"] not in MATERIAL_FORMS:
                problems.append((item["code"], material["id"], material["form"]))
            if not isinstance(material["copies"], int) or material["copies"] < 1:
                problems.append((item["code"], material["id"], "copies"))
            cert = material["certificate_type"]
            if cert is not None and cert not in certificate_types:
                problems.append((item["code"], material["id"], cert))
    assert problems == []


def test_identity_card_materials_are_marked_as_such(items):
    unmarked = [
        (item["code"], m["name"])
        for item in items
        for m in item["materials"]
        if m["name"] == "居民身份证" and m["certificate_type"] != "id_card"
    ]
    assert unmarked == []


def test_complete_guides_meet_the_completeness_bar(items):
    short = []
    for item in items:
        if not item["complete"]:
            continue
        if (
            len(item["conditions"]) < 2
            or len(item["materials"]) < 3
            or len(item["steps"]) < 3
            or len(item["faqs"]) < 2
            or not item["legal_basis"].strip()
            or not item["keywords"]
            or any(not f.get("question") or not f.get("answer") for f in item["faqs"])
        ):
            short.append(item["code"])
    assert short == []


def test_catalog_names_the_items_users_search_for(items):
    names = {item["name"] for item in items}
    expected = {
        "生育登记",
        "出生医学证明办理",
        "新生儿落户（出生登记）",
        "居民身份证换领",
        "居民身份证挂失补领",
        "临时居民身份证办理",
        "户口迁移",
        "居住证办理",
        "机动车驾驶证期满换证",
        "机动车驾驶证遗失补证",
        "机动车检验标志核发",
        "城乡居民基本养老保险参保登记",
        "城镇职工基本养老保险待遇申领",
        "住房公积金提取（租房）",
        "住房公积金提取（退休）",
        "社会保障卡申领",
        "社会保障卡挂失",
        "社会保障卡补换",
        "医保关系转移接续",
        "异地就医备案",
        "失业保险金申领",
        "结婚登记",
        "离婚登记",
        "无犯罪记录证明",
        "最低生活保障审核确认",
        "残疾人证办理",
        "高龄津贴申领",
        "企业设立登记",
        "企业名称自主申报",
        "企业印章刻制备案",
        "发票申领",
        "企业职工参保登记",
        "食品经营许可",
        "公共场所卫生许可",
        "建筑工程施工许可证核发",
        "建设工程规划许可证核发",
        "企业简易注销登记",
        "商标注册申请指导",
        "不动产登记（转移登记）",
        "供水过户",
        "供电过户",
        "燃气过户",
    }
    assert expected - names == set()
    assert sum("社会保障卡" in name for name in names) >= 3
    assert sum("机动车驾驶证" in name for name in names) >= 3


def test_items_use_several_item_types(items):
    types = Counter(item["code"][:2] for item in items)
    assert {"XK", "QR", "GF", "JF"} <= set(types)


# ---------------------------------------------------------------- bundles


def test_bundles_reference_existing_items_and_carry_one_merged_form(bundles, item_codes):
    assert len(bundles) >= 7
    assert len({b["code"] for b in bundles}) == len(bundles)
    for bundle in bundles:
        assert bundle["name"] and bundle["description"], bundle["code"]
        assert bundle["audience"] in USER_AUDIENCES, bundle["code"]
        assert len(bundle["items"]) >= 3, bundle["code"]
        assert len(set(bundle["items"])) == len(bundle["items"]), bundle["code"]
        assert set(bundle["items"]) <= item_codes, bundle["code"]
        fields = bundle["form"]["fields"]
        assert 6 <= len(fields) <= 12, bundle["code"]
        assert len({f["name"] for f in fields}) == len(fields), bundle["code"]
        for field in fields:
            assert field["label"] and isinstance(field["required"], bool), field
            assert field["type"] in FIELD_TYPES, field
            if field["type"] == "select":
                assert field["options"], field
            else:
                assert "options" not in field, field


def test_the_expected_bundles_exist(bundles):
    names = " ".join(bundle["name"] for bundle in bundles)
    for word in ("企业开办", "新生儿出生", "退休", "水电气", "身后", "餐饮", "退役"):
        assert word in names, word


# ---------------------------------------------------------------- synonyms


def test_synonyms_map_colloquial_words_to_terms_found_in_the_catalog(
    synonyms, items, bundles, themes
):
    assert len(synonyms) >= 40
    assert synonyms["驾照"] == ["机动车驾驶证"]
    assert synonyms["社保卡"] == ["社会保障卡"]
    haystack = " ".join(
        [item["name"] for item in items]
        + [keyword for item in items for keyword in item["keywords"]]
        + [m["name"] for item in items for m in item["materials"]]
        + [bundle["name"] for bundle in bundles]
        + [theme["name"] for theme in themes]
    )
    missing = []
    for word, targets in synonyms.items():
        assert word.strip() and targets, word
        missing += [(word, t) for t in targets if not isinstance(t, str) or t not in haystack]
    assert missing == []


# ---------------------------------------------------------------- recommendations


def test_recommendation_rules_are_well_formed_and_point_at_items(rules, item_codes, region_codes):
    assert len(rules) >= 10
    assert len({rule["id"] for rule in rules}) == len(rules)
    for rule in rules:
        when = rule["when"]
        assert when and set(when) <= RULE_CONDITIONS, rule["id"]
        assert rule["items"] and set(rule["items"]) <= item_codes, rule["id"]
        assert rule["reason"].strip(), rule["id"]
        ages = [when[k] for k in ("age_min", "age_max") if k in when]
        assert all(isinstance(a, int) and 0 <= a <= 120 for a in ages), rule["id"]
        if "age_min" in when and "age_max" in when:
            assert when["age_min"] <= when["age_max"], rule["id"]
        if "gender" in when:
            assert when["gender"] in {"male", "female"}, rule["id"]
        if "enterprise_relation" in when:
            assert when["enterprise_relation"] in RELATIONS, rule["id"]
        if "enterprise_industry" in when:
            assert isinstance(when["enterprise_industry"], str) and when["enterprise_industry"]
        if "has_enterprise" in when:
            assert when["has_enterprise"] is True, rule["id"]
        if "region_prefix" in when:
            prefix = when["region_prefix"]
            assert prefix.isascii() and prefix.isdigit(), rule["id"]
            assert any(code.startswith(prefix) for code in region_codes), rule["id"]


def test_recommendations_cover_the_main_life_stages(rules, items):
    name_of = {item["code"]: item["name"] for item in items}
    by_id = {rule["id"]: rule for rule in rules}
    assert by_id["retiring_men"]["when"] == {"gender": "male", "age_min": 58, "age_max": 63}
    assert any(r["when"].get("age_min", 0) >= 80 for r in rules)
    catering = [r for r in rules if r["when"].get("enterprise_industry") == "餐饮服务"]
    assert catering and any("食品经营许可" in name_of[c] for c in catering[0]["items"])
    transport = [r for r in rules if r["when"].get("enterprise_industry") == "道路运输"]
    assert transport and any("道路运输" in name_of[c] for c in transport[0]["items"])
    assert any(r["when"].get("region_prefix") == "5301" for r in rules)

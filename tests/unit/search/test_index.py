"""Searching a small realistic catalog: words, pinyin, initials, synonyms, typos, ranking,
filters and the byte form shared between workers (app/search/index.py, query.py, ranking.py)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.search import MAX_QUERY_LENGTH, QueryTooLong, SearchDocument, SearchIndex

SYNONYMS = {"社保卡": ["社会保障卡"], "社保": ["社会保障"], "驾照": ["机动车驾驶证"],
            "公积金": ["住房公积金"]}


def create_item(*, code: str, name: str, keywords: tuple[str, ...] = (), text: str = "",
                popularity: float = 0.0, regions: tuple[str, ...] = ()) -> SearchDocument:
    return SearchDocument(kind="item", key=code, title=name, keywords=keywords, text=text,
                          popularity=popularity, regions=regions)


def create_bundle(*, code: str, name: str, keywords: tuple[str, ...] = (), text: str = "",
                  popularity: float = 0.0) -> SearchDocument:
    return SearchDocument(kind="bundle", key=code, title=name, keywords=keywords, text=text,
                          popularity=popularity)


def create_faq(*, item_code: str, number: int, question: str, answer: str = "",
               popularity: float = 0.0, regions: tuple[str, ...] = ()) -> SearchDocument:
    return SearchDocument(kind="faq", key=f"{item_code}#faq{number}", title=question,
                          text=answer, popularity=popularity, regions=regions)


def realistic_catalog() -> list[SearchDocument]:
    return [
        create_item(code="SB01", name="社会保障卡申领", keywords=("社保卡办理",),
                    text="携带居民身份证到人力资源和社会保障局窗口申领。", popularity=900),
        create_item(code="SB02", name="社会保障卡挂失", keywords=("社保卡丢失",),
                    text="可通过掌上办或服务窗口办理临时挂失。", popularity=300),
        create_item(code="JZ01", name="机动车驾驶证期满换证", keywords=("换驾照",),
                    text="驾驶证有效期满前九十日内申请换证。", popularity=700,
                    regions=("530000",)),
        create_item(code="JZ02", name="机动车驾驶证遗失补证", text="驾驶证遗失的，申请补领。",
                    popularity=200),
        create_item(code="GJ01", name="住房公积金提取", keywords=("公积金取现",),
                    text="购房、租房、退休可提取住房公积金。", popularity=800,
                    regions=("530100",)),
        create_item(code="SY01", name="生育登记", keywords=("准生证",),
                    text="夫妻双方到户籍地乡镇街道办理生育登记。", popularity=400),
        create_item(code="QY01", name="企业设立登记", keywords=("开公司",),
                    text="向市场监督管理局申请营业执照。", popularity=500, regions=("530102",)),
        create_item(code="SP01", name="食品经营许可", keywords=("餐饮许可证",),
                    text="从事食品销售和餐饮服务需取得许可。", popularity=300,
                    regions=("530300",)),
        create_item(code="SYB01", name="失业保险金申领",
                    text="失业保险金按月发放到本人社会保障卡。", popularity=100),
        create_bundle(code="YJS01", name="企业开办一件事", keywords=("开办企业",),
                      text="企业设立登记、公章刻制、申领发票、社会保险登记一次办结。",
                      popularity=600),
        # More popular than any item: FAQs still rank below items matching as well.
        create_faq(item_code="SB01", number=1, question="社会保障卡丢了怎么办？",
                   answer="先拨打热线挂失，再到窗口补领。", popularity=950),
        create_faq(item_code="JZ01", number=1, question="驾驶证到期了怎么换？",
                   answer="有效期满前九十日内可在掌上办申请期满换证。", regions=("530000",)),
        create_faq(item_code="GJ01", number=1, question="公积金提取多久到账？",
                   answer="审核通过后三个工作日内到账。", regions=("530100",)),
    ]


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex.build(realistic_catalog(), SYNONYMS)


def keys(hits) -> list[str]:
    return [hit.key for hit in hits]


@pytest.mark.parametrize("query", [
    "sbk", "shebaoka", "she bao ka", "SheBaoKa", "ｓｈｅｂａｏｋａ", "社保卡", "社保", "社会保障卡",
    "shebaoak", "shbaoka", "shehuibaozhangka", "shbzk",
])
def test_every_way_of_typing_social_security_card_puts_such_an_item_first(index, query):
    first = index.search(query)[0]
    assert first.kind == "item"
    assert "社会保障卡" in first.title


def test_typos_are_labelled_fuzzy_and_rank_below_exact_pinyin(index):
    typo = index.search("shebaoak")[0]
    exact = index.search("shebaoka")[0]
    assert (typo.matched, exact.matched) == ("fuzzy", "pinyin")
    assert typo.score < exact.score


def test_colloquial_word_finds_the_items_named_the_official_way(index):
    hits = index.search("驾照")
    assert keys(hits)[:2] == ["JZ01", "JZ02"]
    assert hits[0].matched == "synonym"


def test_initials_find_words_in_the_middle_of_a_name(index):
    hits = index.search("jsz")
    assert keys(hits)[:2] == ["JZ01", "JZ02"]
    assert hits[0].matched == "initials"


def test_synonym_inside_a_longer_query_finds_the_item_with_both_words(index):
    assert index.search("驾照换证")[0].key == "JZ01"


def test_a_synonym_key_inside_its_own_target_is_not_expanded_again():
    index = SearchIndex.build([create_item(code="JZ", name="机动车驾驶证期满换证")],
                              {"驾驶证": ["机动车驾驶证"]})
    assert [hit.matched for hit in index.search("机动车驾驶证")] == ["name"]
    assert index.search("驾驶证换证")[0].matched == "synonym"


def test_pinyin_of_a_synonym_key_finds_the_official_name(index):
    assert index.search("jiazhao")[0].key == "JZ01"
    assert index.search("gongjijin")[0].key == "GJ01"


def test_pinyin_words_typed_apart_find_a_name_holding_both(index):
    assert index.search("jiashizheng huanzheng")[0].key == "JZ01"


def test_typo_in_a_longer_pinyin_word_is_corrected(index):
    assert index.search("jiashizhneg")[0].key in {"JZ01", "JZ02"}
    assert index.search("gongjjijn")[0].key == "GJ01"


def test_title_beats_keywords_beats_text_whatever_the_popularity():
    index = SearchIndex.build([
        create_item(code="TEXT", name="困难群众生活补贴申领", text="需提供残疾人证。",
                    popularity=10_000),
        create_item(code="KEYWORD", name="重度残疾人护理补贴", keywords=("残疾人证",),
                    popularity=1_000),
        create_item(code="TITLE", name="残疾人证核发", popularity=1),
    ], {})
    hits = index.search("残疾人证")
    assert keys(hits) == ["TITLE", "KEYWORD", "TEXT"]
    assert [hit.matched for hit in hits] == ["name", "keywords", "text"]


def test_popularity_breaks_ties_but_never_beats_a_better_match():
    index = SearchIndex.build([
        create_item(code="PREFIX_POPULAR", name="生育登记变更", popularity=100_000),
        create_item(code="EXACT", name="生育登记", popularity=0),
        create_item(code="PREFIX_QUIET", name="生育登记注销", popularity=10),
    ], {})
    assert keys(index.search("生育登记")) == ["EXACT", "PREFIX_POPULAR", "PREFIX_QUIET"]


def test_equal_matches_with_equal_popularity_put_the_shorter_title_first():
    index = SearchIndex.build([
        create_item(code="LONG", name="港澳台居民居住证申领", popularity=5),
        create_item(code="SHORT", name="居住证申领", popularity=5),
    ], {})
    assert keys(index.search("居住证")) == ["SHORT", "LONG"]


def test_faq_ranks_below_an_item_with_a_comparable_match(index):
    hits = index.search("社会保障卡")
    faq_rank = keys(hits).index("SB01#faq1")
    assert {"SB01", "SB02"} <= set(keys(hits)[:faq_rank])


def test_bundles_and_faqs_are_found(index):
    assert index.search("企业开办")[0].key == "YJS01"
    assert index.search("丢了怎么办")[0].key == "SB01#faq1"
    assert index.search("daozhang")[0].key == "GJ01#faq1"


def test_kinds_restricts_hits_to_the_kinds_asked_for(index):
    hits = index.search("企业", kinds={"bundle"})
    assert keys(hits) == ["YJS01"]
    assert all(hit.kind == "faq" for hit in index.search("社保卡", kinds=["faq"]))


def test_region_filter_keeps_ancestors_descendants_and_nationwide_items(index):
    def found(region: str) -> set[str]:
        return set(keys(index.search("登记", region=region)))

    # 企业设立登记 is run in 530102; 生育登记 everywhere.
    assert {"QY01", "SY01"} <= found("530102")  # its own county
    assert {"QY01", "SY01"} <= found("530100")  # the prefecture above it
    assert {"QY01", "SY01"} <= found("530000")  # the province above it
    assert "QY01" not in found("530300")  # another prefecture
    assert "SY01" in found("530300")


def test_region_filter_lets_a_provincial_item_serve_each_county(index):
    assert "JZ01" in keys(index.search("驾照", region="530302"))
    assert "GJ01" not in keys(index.search("公积金", region="530302"))
    assert "GJ01" in keys(index.search("公积金", region="530103"))


@pytest.mark.parametrize("query", ["", "   ", "!!!", "？？。", "😀🎉", "\u200b\t\n", "——"])
def test_junk_queries_find_nothing_without_an_error(index, query):
    assert index.search(query) == []


def test_letters_that_spell_no_pinyin_word_find_nothing(index):
    assert index.search("xqzwvxqzwv") == []


def test_a_query_of_fifty_characters_is_fine_and_fifty_one_too_long(index):
    assert isinstance(index.search("社" * MAX_QUERY_LENGTH), list)
    with pytest.raises(QueryTooLong):
        index.search("社" * (MAX_QUERY_LENGTH + 1))
    assert issubclass(QueryTooLong, ValueError)


def test_limit_caps_the_hits(index):
    assert len(index.search("s", limit=2)) == 2
    assert index.search("社保", limit=0) == []


def test_round_trip_through_bytes_gives_identical_results(index):
    data = index.to_bytes()
    loaded = SearchIndex.from_bytes(data)
    for query in ["sbk", "社保", "驾照换证", "shebaoak", "登记", "jiashizheng huanzheng", "s"]:
        for region in (None, "530102"):
            assert loaded.search(query, region=region) == index.search(query, region=region)
    assert loaded.to_bytes() == data


def test_from_bytes_refuses_other_data_and_other_versions(index):
    data = index.to_bytes()
    with pytest.raises(ValueError):
        SearchIndex.from_bytes(b"not an index")
    with pytest.raises(ValueError):
        SearchIndex.from_bytes(data[:9] + bytes([data[9] + 1]) + data[10:])
    with pytest.raises(ValueError):
        SearchIndex.from_bytes(data[:20])


def test_building_rejects_unknown_kinds_and_negative_popularity():
    with pytest.raises(ValueError):
        SearchIndex.build([SearchDocument(kind="news", key="N1", title="通知")], {})
    with pytest.raises(ValueError):
        SearchIndex.build([create_item(code="A", name="甲", popularity=-1)], {})


def test_an_empty_catalog_finds_nothing():
    index = SearchIndex.build([], SYNONYMS)
    assert index.search("社保") == []
    assert SearchIndex.from_bytes(index.to_bytes()).search("sbk") == []


any_query = st.one_of(
    st.text(max_size=MAX_QUERY_LENGTH),
    st.text(alphabet=string.ascii_letters + " ", max_size=MAX_QUERY_LENGTH),  # pinyin, typos
    st.text(alphabet="社会保障卡机动车驾驶证换公积金 sbkjz!", max_size=MAX_QUERY_LENGTH),
)


@settings(max_examples=400, deadline=None)
@given(query=any_query, limit=st.integers(min_value=0, max_value=30),
       region=st.sampled_from([None, "530000", "530102", "110000"]))
def test_any_query_up_to_the_limit_never_raises_and_respects_limit(index, query, limit, region):
    hits = index.search(query, limit=limit, region=region)
    assert len(hits) <= limit
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)

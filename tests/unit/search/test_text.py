"""Normalization, terms, pinyin, edit distance and typo lookup (app/search/text.py, typos.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.search.text import (
    deletions,
    edit_distance,
    is_latin,
    normalize,
    pinyin_parts,
    query_terms,
    terms,
)
from app.search.typos import DeletionIndex, max_typos


def textbook_distance(left: str, right: str) -> int:
    """Optimal string alignment by the full table, to check the bit-parallel version."""
    table = [[0] * (len(right) + 1) for _ in range(len(left) + 1)]
    for i in range(len(left) + 1):
        table[i][0] = i
    for j in range(len(right) + 1):
        table[0][j] = j
    for i in range(1, len(left) + 1):
        for j in range(1, len(right) + 1):
            cost = 0 if left[i - 1] == right[j - 1] else 1
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1,
                              table[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and left[i - 1] == right[j - 2] and left[i - 2] == right[j - 1]:
                table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
    return table[-1][-1]


def full_pinyin(text: str) -> str:
    return "".join(syllable for syllable, _ in pinyin_parts(normalize(text)))


def initials(text: str) -> str:
    return "".join(initial for _, initial in pinyin_parts(normalize(text)))


def test_normalize_folds_full_width_and_case_and_drops_punctuation_spaces_and_emoji():
    assert normalize(" ＳＨＥ　Bao-ka！ ") == "shebaoka"
    assert normalize("社会保障卡（申领）。") == "社会保障卡申领"
    assert normalize("😀 社保 🎉") == "社保"
    assert normalize("！！！\u200b   ") == ""


def test_normalize_keeps_digits_including_full_width_ones():
    assert normalize("１２３４５热线") == "12345热线"


def test_only_ascii_letters_and_digits_count_as_typed_pinyin():
    assert is_latin("shebaoka12")
    assert not is_latin("etc卡")
    assert not is_latin("привет")


def test_terms_of_a_name_are_its_bigrams_its_characters_and_its_latin_words():
    assert terms("社保卡etc") == ["社保", "保卡", "社", "保", "卡", "etc"]


def test_query_terms_are_bigrams_unless_a_han_run_has_a_single_character():
    assert query_terms("驾照换证") == ["驾照", "照换", "换证"]
    assert query_terms("证") == ["证"]
    assert query_terms("etc卡") == ["etc", "卡"]


def test_pinyin_of_a_name_has_no_tones_and_its_initials_one_letter_per_character():
    assert full_pinyin("社会保障卡") == "shehuibaozhangka"
    assert initials("社会保障卡") == "shbzk"


def test_pinyin_keeps_latin_words_whole_in_full_and_in_initials():
    assert pinyin_parts("etc卡") == [("etc", "etc"), ("ka", "k")]


def test_heteronyms_are_read_as_the_phrase_around_them_reads_them():
    assert full_pinyin("银行") == "yinhang"
    assert full_pinyin("行驶证") == "xingshizheng"
    assert full_pinyin("重新") == "chongxin"


def test_pinyin_drops_what_a_latin_keyboard_cannot_type():
    assert pinyin_parts("ひらがな") == []


def test_a_swap_of_neighbours_is_one_edit():
    assert edit_distance("shebaoak", "shebaoka") == 1
    assert edit_distance("shbaoka", "shebaoka") == 1
    assert edit_distance("", "abc") == 3
    assert edit_distance("abc", "") == 3


@given(st.text(alphabet="abcz", max_size=9), st.text(alphabet="abcz", max_size=9))
def test_bit_parallel_distance_agrees_with_the_textbook_table(left, right):
    assert edit_distance(left, right) == textbook_distance(left, right)


def test_deletions_reach_every_string_with_up_to_depth_characters_removed():
    assert deletions("abc", 1) == {"abc", "bc", "ac", "ab"}
    assert deletions("abc", 2) == {"abc", "bc", "ac", "ab", "a", "b", "c"}


def test_typos_are_allowed_from_four_letters_and_two_of_them_from_eight():
    assert [max_typos("x" * n) for n in (3, 4, 7, 8, 20)] == [0, 1, 1, 2, 2]


def test_typo_lookup_finds_the_closest_words_first():
    index = DeletionIndex.build(["shebaoka", "shebao", "gongjijin", "jiashizheng"])
    assert index.lookup("shebaoak", 2)[0] == ("shebaoka", 1)
    assert index.lookup("jiashizhneg", 2) == [("jiashizheng", 1)]
    assert index.lookup("shebaoka", 2) == [("shebao", 2)]  # the word itself is no correction


words_strategy = st.lists(st.text(alphabet="abcdh", min_size=3, max_size=12), min_size=1,
                          max_size=30)


@given(words_strategy, st.text(alphabet="abcdh", min_size=4, max_size=14))
def test_typo_lookup_finds_exactly_the_words_a_full_scan_finds(words, typed):
    allowed = max_typos(typed)
    expected = {w for w in words if w != typed and textbook_distance(typed, w) <= allowed}
    found = DeletionIndex.build(words).lookup(typed, allowed)
    assert {word for word, _ in found} == expected
    assert all(distance == textbook_distance(typed, word) for word, distance in found)

"""How lesson text and what learners type become searchable tokens and queries."""

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import query as wq
from whoosh.fields import TEXT, Schema

from lms.search.analysis import analyzer
from lms.search.query import build_query, clean_query_text

pytestmark = pytest.mark.no_database

# From the seed document (Tibet's 2018 implementation opinions on lifelong training).
SEED_SENTENCE = "开展唐卡、藏香、传统雕刻等我区民族特色手工艺“以师带徒”培训。"
SEED_TITLE = "西藏自治区人民政府关于建立推行终身职业技能培训制度的实施意见"


def words(text: str, mode: str = "index") -> list[str]:
    return [t.text for t in analyzer()(text, mode=mode)]


def positioned(text: str, mode: str = "index") -> list[tuple[str, int]]:
    return [(t.text, t.pos) for t in analyzer()(text, mode=mode, positions=True)]


@pytest.fixture
def schema() -> Schema:
    return Schema(title=TEXT(analyzer=analyzer()), body=TEXT(analyzer=analyzer()))


@pytest.mark.parametrize("typed", ["ཐང་ཀ", "ཐང་ཀ་", "ཐང་ཀ།", "ཐང་ཀ༎", "ཐང༌ཀ"])
def test_tibetan_syllables_are_the_same_whatever_punctuation_follows(typed):
    assert words(typed, mode="query") == ["ཐང", "ཀ"]
    assert words("ཐང་ཀ་འབྲི་རྒྱུ།")[:2] == ["ཐང", "ཀ"]


def test_tibetan_syllables_take_consecutive_positions_so_phrases_work():
    assert positioned("ཐང་ཀ་འབྲི་རྒྱུ། བོད་སྤོས།") == [
        ("ཐང", 0),
        ("ཀ", 1),
        ("འབྲི", 2),
        ("རྒྱུ", 3),
        ("བོད", 4),
        ("སྤོས", 5),
    ]


def test_genitive_fused_to_a_syllable_still_matches_the_bare_word():
    index_tokens = positioned("ཐང་ཀའི་ལག་རྩལ།")
    assert ("ཀའི", 1) in index_tokens and ("ཀ", 1) in index_tokens
    assert words("ཐང་ཀའི", mode="query") == ["ཐང", "ཀ"]


def test_tibetan_typed_with_a_precomposed_vowel_matches_the_normalised_text():
    precomposed = "\u0f67\u0f75\u0f83"  # ཧཱུྃ typed with U+0F75
    decomposed = "\u0f67\u0f71\u0f74\u0f83"  # the same syllable in NFC
    assert words(precomposed) == words(decomposed)


def test_tibetan_digits_match_western_digits():
    assert words("ལོ་༢༠༡༨") == ["ལོ", "2018"]


def test_chinese_is_cut_into_words_with_the_parts_of_long_words():
    tokens = words(SEED_TITLE)
    assert {"西藏", "自治区", "职业技能", "职业", "技能", "培训", "制度"} <= set(tokens)


def test_chinese_words_the_dictionary_lacks_are_also_indexed_as_bigrams():
    tokens = positioned(SEED_SENTENCE)
    assert ("唐卡", 1) in tokens
    # 以师带徒 is not a dictionary word: the bigram spanning jieba's guess is kept too.
    assert {"以师", "师带", "带徒"} <= {text for text, _ in tokens}


def test_chinese_query_is_cut_the_same_way_as_the_lesson():
    assert words("唐卡绘画技法", mode="query") == ["唐卡", "绘画", "技法"]
    assert {"唐卡", "绘画", "技法"} <= set(words("唐卡绘画技法课程"))


def test_english_is_lower_cased_stemmed_and_stop_words_dropped():
    assert positioned("Painting of THE Thangkas") == [("paint", 0), ("thangka", 1)]


def test_occupation_codes_and_numbers_stay_searchable():
    assert words("职业编码 6-01-02-01, level 3") == ["职业", "编码", "6-01-02-01", "level", "3"]


def test_mixed_scripts_in_one_sentence_each_get_their_own_rule():
    assert words("ཐང་ཀ唐卡Thangka") == ["ཐང", "ཀ", "唐卡", "thangka"]


def test_jieba_loads_quietly():
    script = "from lms.search.analysis import analyzer; list(analyzer()('唐卡绘画技法'))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0
    assert done.stdout == "" and done.stderr == ""


def test_a_multi_syllable_tibetan_query_is_a_boosted_phrase_or_all_syllables(schema):
    query = build_query("བོད་སྤོས་བཟོ་སྟངས།", ["title", "body"], schema)
    phrase, every = query.subqueries
    assert phrase.boost > 1
    assert wq.Phrase("body", ["བོད", "སྤོས", "བཟོ", "སྟངས"]) in phrase.subqueries
    assert isinstance(every, wq.And) and len(every.subqueries) == 4


def test_a_single_word_query_matches_the_word_in_any_field(schema):
    assert build_query("唐卡", ["title", "body"], schema) == wq.Or(
        [wq.Term("title", "唐卡"), wq.Term("body", "唐卡")]
    )


@pytest.mark.parametrize("typed", ["", "   ", "AND OR NOT", "AND", "*?~^:", '"(', "the of and"])
def test_input_with_nothing_searchable_builds_no_query(schema, typed):
    assert build_query(typed, ["title", "body"], schema) is None


@pytest.mark.parametrize(
    "typed",
    ['"ཐང་ཀ', "ཐང་ཀ)", "[ཐང་ཀ", "{ཐང་ཀ}", "ཐང་*ཀ?", "ཐང་ཀ~^:", "ཐང་ཀ AND", "NOT ཐང་ཀ"],
)
def test_syntax_characters_in_a_tibetan_query_are_ignored(schema, typed):
    assert build_query(typed, ["body"], schema) == build_query("ཐང་ཀ", ["body"], schema)


@pytest.mark.parametrize("typed", ['"唐卡', "唐卡*", "唐卡?~^:", "(唐卡]", "唐卡 OR"])
def test_syntax_characters_in_a_chinese_query_are_ignored(schema, typed):
    assert build_query(typed, ["body"], schema) == build_query("唐卡", ["body"], schema)


def test_a_ten_thousand_character_query_is_cut_to_the_limit(schema):
    typed = ("ཐང་ཀ་འབྲི་རྒྱུ། " * 1000)[:10_000]
    cleaned = clean_query_text(typed, max_chars=200)
    assert len(cleaned) <= 200
    assert build_query(typed, ["body"], schema) is not None


def test_truncation_does_not_leave_half_a_syllable():
    cleaned = clean_query_text("ཐང་ཀ་འབྲི་རྒྱུ", max_chars=7)
    assert cleaned == "ཐང་ཀ་"


def test_truncation_keeps_chinese_cut_anywhere():
    assert clean_query_text(SEED_TITLE, max_chars=4) == "西藏自治"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_no_input_makes_building_a_query_fail(typed):
    schema = Schema(body=TEXT(analyzer=analyzer()))
    query = build_query(typed, ["body"], schema)
    assert query is None or isinstance(query, wq.Query)

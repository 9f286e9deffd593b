"""What a learner gets back from the search index, and how the index survives trouble."""

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lms.search.index import (
    IndexLocked,
    IndexStatus,
    IndexUnavailable,
    SearchIndex,
)

# Chinese from the seed document; Tibetan lesson text written for these lessons.
LESSONS = [
    {
        "doc_id": "lesson:1",
        "kind": "lesson",
        "course_id": 1,
        "url": "/courses/1/lessons/1",
        "title_bo": "ཐང་ཀ་འབྲི་རྒྱུ།",
        "title_zh": "唐卡绘画技法",
        "title_en": "Thangka painting",
        "summary": "ཐང་ཀ་ནི་བོད་ཀྱི་སྲོལ་རྒྱུན་རི་མོའི་རིགས་ཤིག་ཡིན།",
        "body": (
            "རྗེས་སུ་ཐིག་རྩ་བཏབ་ནས་ལྷ་སྐུའི་ཚད་གཞི་ལྟར་རི་མོ་འབྲི། "
            "开展唐卡、藏香、传统雕刻等我区民族特色手工艺“以师带徒”培训。 "
            "Mineral pigments are ground by hand and mixed with glue water."
        ),
        "occupation_name": "唐卡画师",
        "occupation_code": "6-01-02-01",
        "institution": "ལྷ་ས་གྲོང་ཁྱེར་གྱི་ལག་རྩལ་སློབ་གྲྭ།",
        "training_type": "employment",
        "skill_level": "3",
        "institution_id": 7,
        "region": "lhasa",
        "language": ["bo", "zh"],
    },
    {
        "doc_id": "lesson:2",
        "kind": "lesson",
        "course_id": 2,
        "url": "/courses/2/lessons/2",
        "title_bo": "བོད་སྤོས་བཟོ་སྟངས།",
        "title_en": "Making Tibetan incense",
        "body": (
            "བོད་སྤོས་ནི་སྨན་རྩི་སྣ་ཚོགས་བསྲེས་ནས་བཟོ་བ་ཡིན། "
            "ཤུག་པ་དང་སྤང་སྤོས་སོགས་ཀྱི་རྩི་ཤིང་ཕྱེ་མར་བརྡུངས། "
            "Juniper is pounded into powder; <script>alert(1)</script> is not a recipe."
        ),
        "training_type": "upgrading",
        "skill_level": "2",
        "institution_id": 8,
        "region": "shigatse",
        "language": "bo",
    },
    {
        "doc_id": "lesson:3",
        "kind": "lesson",
        "course_id": 3,
        "title_bo": "ཤིང་བརྐོས་ལག་རྩལ།",
        "title_en": "Wood carving",
        # The syllables of བོད་སྤོས་བཟོ་སྟངས appear here often, but never as that phrase.
        "body": (
            "བོད་ཀྱི་ཤིང་བརྐོས་བཟོ་སྟངས་སྣ་ཚོགས་ཡོད། བོད་ཀྱི་ཤིང་བརྐོས་བཟོ་བ། "
            "སྤོས་ཀྱི་དྲི་ཞིམ་པོ། སྤོས་ཀྱི་སྣུམ། བཟོ་སྟངས་གསར་པ། "
            "Sketch the design on paper before you carve."
        ),
        "training_type": "employment",
        "skill_level": "2",
        "institution_id": 7,
        "region": "lhasa",
        "language": ["bo", "en"],
    },
    {
        "doc_id": "course:4",
        "kind": "course",
        "title_zh": "终身职业技能培训制度",
        "title_en": "Lifelong vocational skills training",
        "summary": "全面提升劳动者就业创业能力,缓解技能人才短缺的结构性矛盾。",
        "training_type": "employment",
        "region": "nyingchi",
        "language": "zh",
    },
]


@pytest.fixture
def index(tmp_path) -> SearchIndex:
    built = SearchIndex(tmp_path / "search", lock_timeout=0.3)
    built.rebuild(LESSONS)
    return built


def found(index: SearchIndex, text: str, **kwargs) -> list[str]:
    return [hit.doc_id for hit in index.search(text, **kwargs).hits]


def test_chinese_word_finds_the_lesson_titled_with_a_longer_compound(index):
    assert found(index, "唐卡") == ["lesson:1"]


@pytest.mark.parametrize("typed", ["ཐང་ཀ", "ཐང་ཀ་", "ཐང་ཀ།"])
def test_tibetan_query_matches_with_or_without_tsheg_or_shad(index, typed):
    assert found(index, typed) == ["lesson:1"]


def test_english_thangka_finds_thangka_painting(index):
    assert found(index, "thangka") == ["lesson:1"]


def test_plural_finds_singular(index):
    assert found(index, "paintings") == ["lesson:1"]


def test_occupation_code_finds_the_lesson(index):
    assert found(index, "6-01-02-01") == ["lesson:1"]


def test_exact_tibetan_phrase_ranks_above_scattered_syllables(index):
    assert found(index, "བོད་སྤོས་བཟོ་སྟངས") == ["lesson:2", "lesson:3"]


def test_all_syllables_are_needed_when_the_phrase_is_absent(index):
    assert found(index, "ཤིང་བརྐོས་གསར་པ") == ["lesson:3"]
    assert found(index, "ཤིང་བརྐོས་མཐིང") == []


def test_a_text_typed_in_several_scripts_finds_the_lesson_that_has_them_all(index):
    assert found(index, "ཐང་ཀ 唐卡 pigments") == ["lesson:1"]


@pytest.mark.parametrize("typed", ["", "   ", "AND OR NOT", '"', "((", "*?~^:"])
def test_queries_with_nothing_to_search_return_no_results(index, typed):
    results = index.search(typed)
    assert results.hits == [] and results.total == 0 and results.suggestion is None


@pytest.fixture(scope="module")
def shared_index(tmp_path_factory) -> SearchIndex:
    built = SearchIndex(tmp_path_factory.mktemp("shared") / "search")
    built.rebuild(LESSONS)
    return built


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_nothing_a_learner_types_makes_search_fail(shared_index, typed):
    results = shared_index.search(typed)
    assert results.total == len(results.hits) <= len(LESSONS)


def test_a_ten_thousand_character_query_is_answered(index):
    results = index.search("唐卡" * 5000)
    assert results.total == 1
    assert len(results.query) <= 200


@pytest.mark.parametrize("typed", ['"ཐང་ཀ', "ཐང་ཀ)", "[ཐང་ཀ}", '"唐卡', "(唐卡]", "{thangka"])
def test_unbalanced_quotes_and_brackets_are_ignored(index, typed):
    assert found(index, typed) == ["lesson:1"]


@pytest.mark.parametrize("typed", ["ཐང་*ཀ?", "ཐང་ཀ~^:", "唐*卡", "唐卡?~^:", "ཐང་ཀ:唐卡"])
def test_query_syntax_characters_inside_tibetan_and_chinese_are_ignored(index, typed):
    assert found(index, typed) == ["lesson:1"]


def test_facet_counts_cover_every_match_not_just_the_page(index):
    results = index.search("བོད", per_page=1)
    assert len(results.hits) == 1 and results.total == 3
    assert results.facets["region"] == {"lhasa": 2, "shigatse": 1}
    assert results.facets["training_type"] == {"employment": 2, "upgrading": 1}
    assert results.facets["language"] == {"bo": 3, "zh": 1, "en": 1}


def test_filters_keep_only_matching_documents(index):
    assert sorted(found(index, "བོད", filters={"region": "lhasa"})) == ["lesson:1", "lesson:3"]
    assert found(index, "བོད", filters={"region": "lhasa", "skill_level": "3"}) == ["lesson:1"]
    assert sorted(found(index, "བོད", filters={"region": ["lhasa", "shigatse"]})) == [
        "lesson:1",
        "lesson:2",
        "lesson:3",
    ]
    assert found(index, "培训", filters={"kind": "course"}) == ["course:4"]
    assert found(index, "བོད", filters={"language": "en"}) == ["lesson:3"]


def test_filtering_on_an_unknown_field_is_refused(index):
    with pytest.raises(ValueError):
        index.search("唐卡", filters={"learner": "1"})


def test_pages_split_the_results(index):
    first = index.search("བོད", per_page=2, page=1)
    second = index.search("བོད", per_page=2, page=2)
    beyond = index.search("བོད", per_page=2, page=9)
    assert first.pages == 2 and len(first.hits) == 2 and len(second.hits) == 1
    assert {h.doc_id for h in first.hits}.isdisjoint(h.doc_id for h in second.hits)
    assert beyond.page == 2


def test_passage_marks_the_matched_words(index):
    [hit] = index.search("唐卡").hits
    assert "<mark>唐卡</mark>" in hit.passage


def test_passage_marks_matched_tibetan_syllables_side_by_side_as_one_phrase(index):
    [hit] = index.search("ལྷ་སྐུ").hits
    assert "<mark>ལྷ་སྐུ</mark>" in hit.passage


def test_passage_escapes_html_and_carries_only_mark_tags(index):
    [hit] = index.search("juniper").hits
    assert "<mark>Juniper</mark>" in hit.passage
    assert "&lt;script&gt;" in hit.passage and "<script>" not in hit.passage
    assert hit.passage.replace("<mark>", "").replace("</mark>", "").count("<") == 0


def test_passage_finds_a_match_deep_in_a_long_lesson(index):
    filler = "ཚོན་རྩི་རྣམས་རྡོ་སྣ་དང་རྩི་ཤིང་ལས་བཟོས་པ་ཡིན། " * 300
    long_lesson = dict(LESSONS[2], body=filler + "མ་ཎི་རྡོ་འབུར་སྟེང་དུ་ཡི་གེ་བརྐོས། " + filler)
    index.update_documents([long_lesson])
    [hit] = index.search("རྡོ་འབུར").hits
    assert "<mark>རྡོ་འབུར</mark>" in hit.passage
    assert hit.passage.startswith("…") and len(hit.passage) < 1000


def test_a_title_only_match_shows_the_opening_of_the_lesson(index):
    [hit] = index.search("incense").hits
    assert hit.passage.startswith("བོད་སྤོས་ནི་") and "<mark>" not in hit.passage


def test_title_is_shown_in_the_readers_language_with_fallback(index):
    [hit] = index.search("唐卡", lang="zh_Hans").hits
    assert hit.title == "唐卡绘画技法"
    [hit] = index.search("唐卡", lang="en").hits
    assert hit.title == "Thangka painting"
    [hit] = index.search("终身", lang="bo").hits
    assert hit.title == "终身职业技能培训制度"
    assert hit.url == "" and hit.kind == "course"


@pytest.mark.parametrize(
    ("typed", "suggestion"),
    [("thanka", "thangka"), ("paintng", "painting"), ("thanka paintng", "thangka painting")],
)
def test_did_you_mean_corrects_english_typos(index, typed, suggestion):
    assert index.search(typed).suggestion == suggestion


@pytest.mark.parametrize("typed", ["thangka", "pigment", "唐卡", "ཐང་ཀ"])
def test_did_you_mean_stays_quiet_for_known_words(index, typed):
    assert index.search(typed).suggestion is None


def test_updating_a_document_replaces_it(index):
    changed = dict(LESSONS[1], title_en="Nyemo incense", body="Nyemo county incense.")
    assert index.update_documents([changed]) == 1
    assert found(index, "juniper") == []
    assert found(index, "nyemo") == ["lesson:2"]


def test_deleting_documents_removes_them_from_results(index):
    assert index.delete_documents(["lesson:1", "lesson:99"]) == 1
    assert found(index, "唐卡") == []


def test_documents_with_unknown_keys_are_refused(index):
    with pytest.raises(ValueError):
        index.update_documents([dict(LESSONS[0], national_id="540102199001011234")])


def test_search_keeps_answering_while_the_index_is_rebuilt(index):
    many = LESSONS + [dict(LESSONS[2], doc_id=f"lesson:{n}", course_id=n) for n in range(100, 400)]
    failures: list[BaseException] = []

    def rebuild_three_times():
        try:
            for _ in range(3):
                index.rebuild(many)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    builder = threading.Thread(target=rebuild_three_times)
    builder.start()
    answered = 0
    while builder.is_alive():
        assert found(index, "唐卡") == ["lesson:1"]
        answered += 1
    builder.join()
    assert failures == [] and answered > 0
    assert index.search("ཤིང་བརྐོས").total == 301
    generations = [p for p in index.path.iterdir() if p.name.startswith("gen-")]
    assert len(generations) == 1


def test_a_second_writer_gives_up_after_the_lock_timeout(index):
    release = threading.Event()

    def slow_documents():
        yield LESSONS[0]
        release.wait(5)

    builder = threading.Thread(target=index.rebuild, args=(slow_documents(),))
    builder.start()
    time.sleep(0.2)
    try:
        with pytest.raises(IndexLocked):
            index.update_documents([LESSONS[1]])
        assert found(index, "juniper") == ["lesson:2"]
    finally:
        release.set()
        builder.join()
    assert found(index, "juniper") == []


def test_a_missing_index_is_reported_and_rebuild_creates_it(tmp_path):
    index = SearchIndex(tmp_path / "nowhere")
    assert index.status() is IndexStatus.MISSING
    with pytest.raises(IndexUnavailable) as raised:
        index.search("唐卡")
    assert raised.value.status is IndexStatus.MISSING
    assert str(raised.value.user_message)
    index.rebuild(LESSONS)
    assert index.status() is IndexStatus.OK
    assert found(index, "唐卡") == ["lesson:1"]


def test_ensure_creates_an_empty_index_once(tmp_path):
    index = SearchIndex(tmp_path / "fresh")
    assert index.ensure() is IndexStatus.OK
    assert index.search("唐卡").total == 0
    index.update_documents(LESSONS[:1])
    assert index.ensure() is IndexStatus.OK
    assert found(index, "唐卡") == ["lesson:1"]


def test_writing_to_a_missing_index_is_refused(tmp_path):
    with pytest.raises(IndexUnavailable):
        SearchIndex(tmp_path / "nowhere").update_documents(LESSONS[:1])


def test_garbage_in_the_index_files_is_reported_and_rebuild_repairs_it(index):
    [generation] = [p for p in index.path.iterdir() if p.name.startswith("gen-")]
    for file in generation.iterdir():
        file.write_bytes(b"\x00garbage\xff" * 50)
    fresh = SearchIndex(index.path)
    assert fresh.status() is IndexStatus.CORRUPT
    with pytest.raises(IndexUnavailable) as raised:
        fresh.search("唐卡")
    assert raised.value.status is IndexStatus.CORRUPT
    with pytest.raises(IndexUnavailable):
        fresh.update_documents(LESSONS[:1])
    fresh.rebuild(LESSONS)
    assert found(fresh, "唐卡") == ["lesson:1"]


def test_a_directory_of_garbage_files_is_reported_and_rebuild_repairs_it(tmp_path):
    path = tmp_path / "search"
    path.mkdir()
    (path / "CURRENT").write_bytes(b"\xff\xfe../../etc")
    (path / "MAIN_1.toc").write_bytes(b"not an index")
    index = SearchIndex(path)
    assert index.status() is IndexStatus.CORRUPT
    with pytest.raises(IndexUnavailable):
        index.search("ཐང་ཀ")
    index.rebuild(LESSONS)
    assert index.status() is IndexStatus.OK
    assert found(index, "ཐང་ཀ") == ["lesson:1"]

"""The search page over HTTP: results, passages, facets, pages, bad input and a broken index."""

from __future__ import annotations

import re
import shutil
import threading

import pytest

from lms.cli import main
from lms.search.util import search_index

THANGKA_TITLE = "Thangka Painting: Foundations"


def search(client, q: str, **args):
    return client.get("/search/", query_string={"q": q, **args})


def result_titles(html: str) -> list[str]:
    return re.findall(r'<li class="hit">\s*<h2><a href="[^"]+">([^<]+)</a>', html)


def result_links(html: str) -> list[str]:
    return re.findall(r'<li class="hit">\s*<h2><a href="([^"]+)"', html)


# --- finding things ----------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["唐卡", "ཐང་ཀ", "thangka", "ཐང་ཀ།"])
def test_a_learner_finds_the_thangka_course_and_its_lessons(client, indexed, typed):
    thangka, _ = indexed
    html = search(client, typed).text
    links = result_links(html)
    assert f"/courses/{thangka.id}" in links
    lessons = [link for link in links if link.startswith(f"/courses/{thangka.id}/lessons/")]
    assert len(lessons) == 2
    assert "<mark>" in html


def test_titles_follow_the_readers_language(client, indexed):
    client.set_cookie("lms_lang", "zh_Hans", domain="localhost")
    assert "唐卡绘画基础" in result_titles(search(client, "thangka").text)
    client.set_cookie("lms_lang", "bo", domain="localhost")
    assert "ཐང་ཀ་འབྲི་རྒྱུའི་གཞི་རྩའི་སློབ་ཚན།" in result_titles(search(client, "唐卡").text)


def test_the_matching_passage_is_marked_and_everything_else_escaped(client, make, index_jobs):
    make.course(code="ESC-1", title_en="Escaping",
                summary_en="Glue <script>alert(1)</script> & thangka <b>bold</b>")
    index_jobs()
    html = search(client, "glue").text
    [passage] = re.findall(r'<p class="passage">(.*?)</p>', html, flags=re.S)
    assert "<mark>Glue</mark>" in passage
    assert "&lt;script&gt;" in passage and "&amp;" in passage
    assert re.sub(r"</?mark>", "", passage).count("<") == 0


def test_a_passage_keeps_to_one_language_the_readers_first(client, make, index_jobs):
    make.course(code="LANG-1", title_en="Pigments",
                summary_bo="ཐང་ཀའི་ཚོན་རྩི་ནི་རྡོ་ཚོན་ཡིན། ཚོན་རྩི་རྡུང་སྟངས།",
                summary_zh="唐卡的颜料是矿物颜料。研磨颜料的方法。",
                summary_en="Thangka pigments are minerals. How to grind pigments.")
    index_jobs()

    def passage(q: str, lang: str) -> str:
        client.set_cookie("lms_lang", lang, domain="localhost")
        [text] = re.findall(r'<p class="passage">(.*?)</p>', search(client, q).text, flags=re.S)
        return text

    chinese = passage("颜料", "bo")  # found in Chinese: the Chinese text, not all three
    assert "颜料" in chinese and "ཚོན" not in chinese and "minerals" not in chinese
    english = passage("pigments", "zh_Hans")
    assert "<mark>" in english and "颜料" not in english and "ཚོན" not in english


def test_facets_show_counts_and_filter_the_results(client, indexed):
    thangka, incense = indexed
    html = search(client, "ཐང་ཀ").text
    assert re.search(r">Courses</a> <span class=\"count\">1</span>", html)
    assert re.search(r">Lessons</a> <span class=\"count\">2</span>", html)
    assert re.search(r">Lhasa</a> <span class=\"count\">3</span>", html)
    only_courses = search(client, "ཐང་ཀ", kind="course").text
    assert result_links(only_courses) == [f"/courses/{thangka.id}"]
    assert 'aria-current="true"' in only_courses  # the chosen value, a link that removes it
    upgrading = search(client, "lesson", training_type="upgrading").text
    assert result_links(upgrading) and all(
        link.startswith(f"/courses/{incense.id}") for link in result_links(upgrading))


def test_unknown_filter_values_are_ignored(client, indexed):
    response = search(client, "唐卡", level="level99", institution="x", prefecture="999",
                      language="fr", kind="user", page="-4")
    assert response.status_code == 200 and THANGKA_TITLE in response.text


def test_results_come_in_pages(client, make, index_jobs, app):
    app.config["SEARCH_PER_PAGE"] = 2
    make.course(code="PAGES-1", lessons=3, title_en="Pagination course")
    index_jobs()
    first = search(client, "canvas").text  # every factory lesson says "Stretch the canvas"
    assert len(result_links(first)) == 2 and "Page 1 of 2" in first
    assert 'rel="next"' in first
    second = search(client, "canvas", page=2).text
    assert len(result_links(second)) == 1
    assert set(result_links(first)).isdisjoint(result_links(second))


def test_did_you_mean_corrects_an_english_typo(client, indexed):
    html = search(client, "thanka").text
    assert "Did you mean" in html and ">thangka</a>" in html


def test_a_withdrawn_course_is_hidden_before_its_job_has_run(client, indexed, make):
    from lms.courses import operations as course_ops

    thangka, _ = indexed
    course_ops.unpublish_course(make.author, thangka)
    make.session.commit()
    assert result_links(search(client, "唐卡").text) == []


def test_before_its_job_has_run_a_withdrawn_course_is_not_counted_faceted_or_suggested(
        client, make, index_jobs):
    from lms.courses import operations as course_ops

    institution = make.institution(name_en="Secretive Works")
    course = make.course(institution=institution, title_en="Chrysanthemum dyeing")
    make.course(title_en="Walnut dyeing")
    index_jobs()
    assert "Did you mean" in search(client, "chrysanthemun").text
    assert "Secretive Works" in search(client, "dyeing").text
    course_ops.unpublish_course(make.author, course)
    make.session.commit()
    html = search(client, "chrysanthemum").text
    assert result_links(html) == [] and "0 results" in html
    html = search(client, "dyeing").text
    assert len(result_links(html)) == 1 and "1 result" in html
    assert "Secretive Works" not in html  # the institution facet
    assert "Did you mean" not in search(client, "chrysanthemun").text
    index_jobs()  # the job removes it; the word lingers in the index's word list
    assert "Did you mean" not in search(client, "chrysanthemun").text


def test_the_header_search_box_is_on_every_page(client):
    for path in ("/", "/courses/", "/account/login"):
        html = client.get(path).text
        form = re.search(r'<form method="get" action="/search/" role="search"[^>]*>(.*?)</form>',
                         html, flags=re.S)
        assert form, path
        assert '<label for="site-q"' in form.group(1) and 'name="q"' in form.group(1)


def test_the_page_works_without_javascript(client, indexed):
    html = search(client, "thangka").text
    assert "<script" not in html


# --- bad input (each one a test) ------------------------------------------------------

def test_an_empty_query_shows_the_form_and_no_results(client, indexed):
    for typed in ("", "   "):
        response = search(client, typed)
        assert response.status_code == 200
        assert result_links(response.text) == [] and "result" not in response.text.lower()


def test_a_ten_thousand_character_query_is_answered(client, indexed):
    response = search(client, "唐卡" * 5000)
    assert response.status_code == 200
    assert THANGKA_TITLE in result_titles(response.text)


@pytest.mark.parametrize("typed", ['"ཐང་ཀ', "ཐང་ཀ)", "[唐卡", '唐卡"', "(thangka", "{thangka]"])
def test_unbalanced_quotes_and_brackets_are_ignored(client, indexed, typed):
    response = search(client, typed)
    assert response.status_code == 200 and THANGKA_TITLE in result_titles(response.text)


@pytest.mark.parametrize("typed", ["AND OR NOT", "AND", "NOT OR", '"()"', "*?~^:"])
def test_a_query_with_nothing_to_search_says_so(client, indexed, typed):
    response = search(client, typed)
    assert response.status_code == 200
    assert "nothing to search for" in response.text and result_links(response.text) == []


@pytest.mark.parametrize("typed", ["ཐང་*ཀ?", "ཐང་ཀ~^:", "*ཐང་ཀ", "唐*卡", "唐卡?~^:", "^唐卡:"])
def test_query_syntax_characters_in_tibetan_and_chinese_are_ignored(client, indexed, typed):
    response = search(client, typed)
    assert response.status_code == 200 and THANGKA_TITLE in result_titles(response.text)


def test_a_query_while_the_index_is_rebuilt_is_answered_from_the_old_index(client, indexed):
    from lms.search.documents import all_documents

    index = search_index()
    documents = list(all_documents())
    release = threading.Event()

    def slow_documents():
        yield from documents
        release.wait(10)

    builder = threading.Thread(target=index.rebuild, args=(slow_documents(),))
    builder.start()
    try:
        response = search(client, "ཐང་ཀ")
        assert builder.is_alive()
        assert response.status_code == 200 and THANGKA_TITLE in result_titles(response.text)
    finally:
        release.set()
        builder.join()
    assert THANGKA_TITLE in result_titles(search(client, "ཐང་ཀ").text)


def break_index(how: str) -> None:
    path = search_index().path
    if how == "missing":
        shutil.rmtree(path)
        return
    for generation in path.glob("gen-*"):
        for file in generation.iterdir():
            file.write_bytes(b"\x00garbage\xff" * 64)
    search_index()._opened.clear()  # a fresh process would open the broken files


@pytest.mark.parametrize("how", ["missing", "corrupt"])
def test_a_broken_index_says_search_is_unavailable_and_reindex_repairs_it(
        client, indexed, app, how):
    break_index(how)
    response = search(client, "ཐང་ཀ")
    assert response.status_code == 503
    assert "Search is not available at the moment" in response.text
    assert result_links(response.text) == [] and "Filters" not in response.text
    result = app.test_cli_runner().invoke(main, ["search", "reindex"])
    assert result.exit_code == 0, result.output
    response = search(client, "ཐང་ཀ")
    assert response.status_code == 200 and THANGKA_TITLE in result_titles(response.text)


@pytest.mark.parametrize("locale, text", [("bo", "ད་ལྟ་འཚོལ་ཞིབ་བྱེད་མི་ཐུབ།"),
                                          ("zh_Hans", "搜索功能暂时不可用")])
def test_the_unavailable_message_speaks_the_readers_language(client, indexed, locale, text):
    break_index("missing")
    client.set_cookie("lms_lang", locale, domain="localhost")
    assert text in search(client, "唐卡").text


# --- the catalogue's search box --------------------------------------------------------

# 颜料 (pigment) is only in a lesson title: the course is found through its lesson.
@pytest.mark.parametrize("typed", ["ཐང་ཀ", "唐卡", "thangka", "颜料", "ཚོན་རྩི"])
def test_the_catalogue_search_box_uses_the_search_index(client, indexed, typed):
    thangka, incense = indexed
    html = client.get("/courses/", query_string={"q": typed}).text
    assert f"/courses/{thangka.id}\"" in html
    assert f"/courses/{incense.id}\"" not in html


def test_the_catalogue_falls_back_to_titles_without_an_index(client, indexed):
    thangka, _ = indexed
    break_index("missing")
    html = client.get("/courses/", query_string={"q": "唐卡"}).text
    assert f"/courses/{thangka.id}\"" in html

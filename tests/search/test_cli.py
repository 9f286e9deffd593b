"""`lms search query|status|reindex` from the command line, bad input included."""

from __future__ import annotations

import json
import shutil
import threading

import pytest

from lms.cli import main
from lms.search.documents import all_documents
from lms.search.util import search_index

THANGKA_TITLE = "Thangka Painting: Foundations"


@pytest.fixture
def lms(app, db):
    """Run `lms ARGS...` and return the click result."""
    runner = app.test_cli_runner()

    def run(*args: str):
        return runner.invoke(main, list(args))

    return run


def test_query_prints_titles_and_links(lms, indexed):
    thangka, _ = indexed
    result = lms("search", "query", "ཐང་ཀ", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert THANGKA_TITLE in result.output
    assert f"http://127.0.0.1:5000/courses/{thangka.id}" in result.output
    assert f"/courses/{thangka.id}/lessons/" in result.output


def test_query_prints_json(lms, indexed):
    thangka, _ = indexed
    result = lms("search", "query", "唐卡", "--json", "--lang", "zh_Hans")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["query"] == "唐卡" and data["total"] == 3
    assert data["results"][0] == {
        "kind": "course", "title": "唐卡绘画基础", "course_title": "",
        "url": f"http://127.0.0.1:5000/courses/{thangka.id}",
        "score": data["results"][0]["score"]}
    assert {r["kind"] for r in data["results"]} == {"course", "lesson"}


@pytest.mark.parametrize("typed", ["", "   ", "AND OR NOT", '"', "(([", "*?~^:", '"AND" (OR)'])
def test_a_query_it_cannot_parse_exits_2_with_a_clear_message(lms, indexed, typed):
    result = lms("search", "query", typed)
    assert result.exit_code == 2
    assert "Nothing to search for" in result.output


def test_a_ten_thousand_character_query_is_answered(lms, indexed):
    result = lms("search", "query", "ཐང་ཀ་" * 3334, "--lang", "en")
    assert result.exit_code == 0, result.output
    assert THANGKA_TITLE in result.output


@pytest.mark.parametrize("typed", ['"ཐང་ཀ', "唐卡)", "[thangka", "ཐང་*ཀ?", "唐~卡^:", "ཐང་ཀ:唐卡"])
def test_quotes_brackets_and_syntax_characters_are_ignored(lms, indexed, typed):
    result = lms("search", "query", typed, "--lang", "en")
    assert result.exit_code == 0, result.output
    assert THANGKA_TITLE in result.output


def test_a_query_while_the_index_is_rebuilt_is_answered(lms, indexed):
    documents = list(all_documents())
    release = threading.Event()

    def slow_documents():
        yield from documents
        release.wait(10)

    builder = threading.Thread(target=search_index().rebuild, args=(slow_documents(),))
    builder.start()
    try:
        result = lms("search", "query", "唐卡", "--lang", "en")
        assert builder.is_alive()
    finally:
        release.set()
        builder.join()
    assert result.exit_code == 0 and THANGKA_TITLE in result.output


def test_status_reports_what_the_index_holds(lms, indexed):
    result = lms("search", "status")
    assert result.exit_code == 0, result.output
    assert "state:      ok" in result.output
    assert "6 (2 courses, 4 lessons)" in result.output


@pytest.mark.parametrize("how", ["missing", "corrupt"])
def test_a_broken_index_is_reported_and_reindex_repairs_it(lms, indexed, how):
    path = search_index().path
    if how == "missing":
        shutil.rmtree(path)
    else:
        (path / "CURRENT").write_bytes(b"\xff\xfe../../etc/passwd")
    result = lms("search", "query", "唐卡")
    assert result.exit_code == 1 and f"is {how}" in result.output
    assert "lms search reindex" in result.output
    status = lms("search", "status")
    assert status.exit_code == 1 and f"state:      {how}" in status.output
    assert lms("search", "reindex").exit_code == 0
    result = lms("search", "query", "唐卡", "--lang", "en")
    assert result.exit_code == 0 and THANGKA_TITLE in result.output

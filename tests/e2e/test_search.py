"""A visitor searches from the header of any page and finds the thangka course."""

from __future__ import annotations

from typing import Any

import pytest

from lms.core.db import write_intent
from lms.search.operations import rebuild_index


@pytest.fixture
def base_config(base_config: dict[str, Any], tmp_path) -> dict[str, Any]:
    """The shared settings, with the search index in this test's own directory."""
    return {**base_config, "SEARCH_INDEX_PATH": str(tmp_path / "search")}


def test_a_visitor_types_thangka_in_tibetan_in_the_header_and_sees_the_course(
        page, committed_make, committed_db):
    course = committed_make.thangka_course()
    token = write_intent.set(False)
    try:
        rebuild_index()
    finally:
        committed_db.session.rollback()
        write_intent.reset(token)

    page.goto("/")
    page.get_by_label("Search courses and lessons").fill("ཐང་ཀ")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search/?q=*")

    hit = page.locator("li.hit").filter(
        has=page.get_by_role("link", name="Thangka Painting: Foundations", exact=True))
    assert hit.count() == 1
    assert hit.locator("h2 a").get_attribute("href") == f"/courses/{course.id}"
    marks = hit.locator("mark").all_inner_texts()
    assert marks[0] == "ཐང་ཀ"  # the matched syllables marked as one phrase
    assert page.locator("li.hit").count() == 3  # the course and its two lessons

"""Search fixtures: every test gets its own index directory."""

from __future__ import annotations

from typing import Any

import pytest

from lms.core.jobs import run_queued_jobs


@pytest.fixture
def base_config(base_config: dict[str, Any], tmp_path) -> dict[str, Any]:
    """The shared settings, with the search index in this test's own directory."""
    return {**base_config, "SEARCH_INDEX_PATH": str(tmp_path / "search")}


@pytest.fixture
def index_jobs(db):
    """Run the queued jobs (the indexing jobs among them), as a worker would."""

    def run() -> int:
        return run_queued_jobs(include_delayed=True)

    return run


@pytest.fixture
def indexed(make, index_jobs):
    """A published thangka course and an incense course, indexed."""
    thangka = make.thangka_course()
    incense = make.course(code="INCENSE-9", title_bo="བོད་སྤོས་བཟོ་སྟངས།",
                          title_zh="藏香制作工艺", title_en="Tibetan Incense Making",
                          summary_zh="学习藏香原料的识别、研磨配比与手工成型。",
                          occupation_name_zh="藏香制作工", training_type="upgrading",
                          skill_level="level4")
    index_jobs()
    return thangka, incense

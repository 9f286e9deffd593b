"""The index follows the catalogue through jobs: publish, edit, withdraw, rebuild, demo."""

from __future__ import annotations

import shutil

from sqlalchemy import select
from whoosh.filedb.filestore import FileStorage

from lms.cli import main
from lms.core.jobs import Job, JobState, run_queued_jobs
from lms.courses import operations as course_ops
from lms.search.index import IndexStatus
from lms.search.util import search_index, visible_hits


def found(text: str, **kwargs) -> list[str]:
    return [hit.doc_id for hit in search_index().search(text, **kwargs).hits]


def kinds(text: str) -> list[str]:
    return sorted(hit.kind for hit in search_index().search(text).hits)


def search_jobs(db, state: JobState | None = None) -> list[Job]:
    db.session.expire_all()  # the job runner writes through its own sessions
    stmt = select(Job).where(Job.name.like("search.%")).order_by(Job.id)
    if state is not None:
        stmt = stmt.where(Job.state == state)
    return list(db.session.scalars(stmt))


def test_publishing_a_course_makes_it_findable_once_the_job_has_run(make, index_jobs):
    course = make.thangka_course(published=False)
    index_jobs()
    course_ops.publish_course(make.author, course)
    make.session.commit()
    assert search_index().status() is IndexStatus.MISSING  # nothing has run yet
    index_jobs()
    for typed in ("唐卡", "ཐང་ཀ", "thangka"):
        assert kinds(typed) == ["course", "lesson", "lesson"], typed


def test_one_unit_of_work_queues_one_job_per_course(make, db):
    make.thangka_course()  # creates, adds lessons and publishes in one commit
    jobs = search_jobs(db)
    assert [(j.name, j.payload) for j in jobs] == [
        ("search.index_course", {"course_id": jobs[0].payload["course_id"]})]


def test_editing_a_published_lesson_reindexes_it(indexed, make, index_jobs):
    thangka, _ = indexed
    lesson = thangka.sections[0].lessons[1]
    course_ops.save_lesson(make.author, lesson.section, lesson, title_zh="矿物颜料",
                           body_zh="用青金石研磨群青。", is_published=True, required=True)
    make.session.commit()
    index_jobs()
    assert found("青金石") == [f"lesson:{lesson.id}"]
    assert found("朱砂") == []


def test_unpublishing_a_course_removes_it_and_its_lessons(indexed, make, index_jobs):
    thangka, incense = indexed
    course_ops.unpublish_course(make.author, thangka)
    make.session.commit()
    index_jobs()
    assert found("ཐང་ཀ") == [] and found("唐卡") == [] and found("thangka") == []
    assert found("incense") == [f"course:{incense.id}"]


def test_archiving_a_course_removes_it(indexed, make, index_jobs):
    thangka, _ = indexed
    course_ops.unpublish_course(make.author, thangka, archive=True)
    make.session.commit()
    index_jobs()
    assert found("唐卡") == []


def test_unpublishing_a_lesson_removes_only_that_lesson(indexed, make, index_jobs):
    thangka, _ = indexed
    lesson = thangka.sections[0].lessons[0]
    course_ops.save_lesson(make.author, lesson.section, lesson, title_en=lesson.title_en,
                           body_en=lesson.body_en, is_published=False, required=True)
    make.session.commit()
    index_jobs()
    assert f"lesson:{lesson.id}" not in found("thangka")
    assert f"course:{thangka.id}" in found("thangka")


def test_a_course_published_again_before_its_removal_job_runs_stays(indexed, make, index_jobs):
    thangka, _ = indexed
    course_ops.unpublish_course(make.author, thangka)
    make.session.commit()
    course_ops.publish_course(make.author, thangka)
    make.session.commit()
    index_jobs()
    assert f"course:{thangka.id}" in found("唐卡")


def test_a_locked_index_makes_the_job_retry_later(indexed, make, index_jobs, db, app):
    _, incense = indexed
    app.config["SEARCH_LOCK_TIMEOUT"] = 0.2
    app.extensions.pop("lms_search_index")
    course_ops.unpublish_course(make.author, incense)
    make.session.commit()
    lock = FileStorage(str(search_index().path)).lock("WRITELOCK")
    assert lock.acquire(blocking=False)
    try:
        run_queued_jobs()  # one attempt: the retry waits for its back-off
        [job] = search_jobs(db, JobState.QUEUED)
        assert job.attempts == 1 and "IndexLocked" in job.error
    finally:
        lock.release()
    index_jobs()
    assert search_jobs(db, JobState.QUEUED) == []
    assert found("incense") == []


def test_a_missing_index_is_rebuilt_by_the_next_job(indexed, make, index_jobs):
    thangka, _ = indexed
    shutil.rmtree(search_index().path)
    make.course(code="CARVE-1", title_en="Wood carving", title_zh="木雕")
    index_jobs()
    assert found("木雕") and found("唐卡")


def test_reindex_rebuilds_the_index_from_the_database(indexed, app):
    thangka, incense = indexed
    shutil.rmtree(search_index().path)
    result = app.test_cli_runner().invoke(main, ["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 6 document(s)" in result.output  # 2 courses, 4 lessons
    assert found("唐卡") and found("藏香")


def test_the_demo_leaves_a_searchable_index(app, db):
    result = app.test_cli_runner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "Search:" in result.output
    for typed in ("唐卡", "ཐང་ཀ", "thangka"):
        hits = search_index().search(typed, lang="en").hits
        assert "Thangka Painting: Foundations" in [hit.title for hit in hits], typed


def test_a_deleted_lesson_leaves_the_index(make, index_jobs, client):
    course = make.course(lessons=1)
    lesson = course_ops.save_lesson(make.author, course.sections[0], None, kind="text",
                                    title_en="Gilding", body_en="Quetzal-green malachite",
                                    credit_hours=1, is_published=True, required=False)
    make.session.commit()
    index_jobs()
    assert found("malachite") == [f"lesson:{lesson.id}"]
    course_ops.delete_lesson(make.author, lesson)
    make.session.commit()
    index_jobs()
    assert found("malachite") == []
    assert f"/courses/{course.id}\"" not in client.get("/courses/?q=malachite").text


def test_renaming_or_moving_an_institution_reindexes_its_courses(make, index_jobs, db):
    from lms.users import operations as user_ops

    institution = make.institution(name_en="Old Lhasa Workshop")
    course, draft = make.course(institution=institution), make.course(
        institution=institution, published=False)
    index_jobs()
    assert found("Old Lhasa Workshop") == [f"course:{course.id}"]
    user_ops.save_institution(make.regional_admin(), institution, code=institution.code,
                              name_en="Nyingchi Crafts Centre", kind=institution.kind,
                              prefecture="540400")
    make.session.commit()
    assert [j.subject for j in search_jobs(db, JobState.QUEUED)] == [f"course:{course.id}"]
    index_jobs()
    assert found("Nyingchi Crafts") == [f"course:{course.id}"] and found("Old Lhasa") == []
    assert found(course.title_en, filters={"region": "540400"})
    assert draft.id not in {int(d.split(":")[1]) for d in found("Nyingchi Crafts")}



def test_a_switched_off_institutions_courses_leave_search_and_come_back(make, index_jobs, db):
    from lms.users import operations as user_ops

    institution = make.institution(name_en="Shigatse Carving School")
    course = make.course(institution=institution)
    index_jobs()
    fields = dict(code=institution.code, name_en=institution.name_en, kind=institution.kind,
                  prefecture=institution.prefecture, subsidy_approved=True)
    user_ops.save_institution(make.regional_admin(), institution, **fields, is_active=False)
    make.session.commit()
    # Hidden at once, before the job has run, and gone from the index after it.
    assert search_index().search("Shigatse Carving").hits
    assert visible_hits(search_index().search("Shigatse Carving").hits) == []
    index_jobs()
    assert found("Shigatse Carving") == []
    user_ops.save_institution(make.regional_admin(), institution, **fields, is_active=True)
    make.session.commit()
    index_jobs()
    assert found("Shigatse Carving") == [f"course:{course.id}"]

def test_a_job_that_waited_for_the_index_writes_the_catalogue_as_it_then_is(app,
                                                                          committed_make):
    """An indexing job that read a course before another writer let go of the index would
    write what it read: a course withdrawn meanwhile stayed findable for good."""
    import threading
    import time

    from lms.core.db import write_intent
    from lms.courses.models import Course
    from lms.extensions import db
    from lms.search import operations as search_ops

    course = committed_make.course(title_en="Yak-hair weaving")
    search_ops.sync_course(course.id)
    assert found("weaving") == [f"course:{course.id}"]
    lock = FileStorage(str(search_index().path)).lock("WRITELOCK")
    assert lock.acquire(blocking=False)  # a rebuild, say, holds the index

    def index_course_job():
        with app.app_context():
            intent = write_intent.set(False)  # as a job's read phase
            try:
                search_ops.sync_course(course.id)
            finally:
                db.session.rollback()
                write_intent.reset(intent)
                db.session.remove()

    waiting = threading.Thread(target=index_course_job)
    waiting.start()
    time.sleep(0.3)  # the job has started and waits for the index
    course_ops.unpublish_course(committed_make.author, db.session.get(Course, course.id))
    db.session.commit()
    lock.release()
    waiting.join(30)
    assert found("weaving") == []

"""Course operations: enrolment, completion exactly once, reading time, order, prerequisites."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lms.core import signals
from lms.core.db import utcnow
from lms.core.errors import UserError
from lms.courses import operations, util
from lms.courses.models import EnrolmentStatus


@pytest.fixture
def received():
    """Every lesson_completed and course_completed signal sent during the test."""
    log: list[tuple[str, int]] = []

    def on_lesson(sender, **kw):
        log.append(("lesson", kw["lesson"].id))

    def on_course(sender, **kw):
        log.append(("course", kw["enrolment"].id))

    signals.lesson_completed.connect(on_lesson)
    signals.course_completed.connect(on_course)
    yield log
    signals.lesson_completed.disconnect(on_lesson)
    signals.course_completed.disconnect(on_course)


def lessons_of(course):
    return [x for s in course.sections for x in s.lessons]


def test_enrolling_twice_is_harmless(make, db):
    learner, course = make.learner(), make.course()
    first = operations.enrol(learner, course)
    second = operations.enrol(learner, course)
    assert first.id == second.id


def test_a_learner_who_left_can_come_back_and_keeps_progress(make, db):
    learner, course = make.learner(), make.course()
    enrolment = make.enrolment(learner, course)
    operations.complete_lesson(operations.progress_for(enrolment, lessons_of(course)[0]))
    operations.withdraw(learner, course)
    assert enrolment.status == EnrolmentStatus.WITHDRAWN
    operations.enrol(learner, course)
    assert enrolment.status == EnrolmentStatus.ACTIVE
    assert util.outline(course, enrolment).required_done == 1


def test_a_draft_course_cannot_be_enrolled_in(make, db):
    with pytest.raises(UserError):
        operations.enrol(make.learner(), make.course(published=False))


def test_completing_a_lesson_twice_sends_its_signal_once(make, db, received):
    learner, course = make.learner(), make.course(lessons=2)
    enrolment = make.enrolment(learner, course)
    progress = operations.progress_for(enrolment, lessons_of(course)[0])
    assert operations.complete_lesson(progress) is True
    assert operations.complete_lesson(progress) is False
    assert received == [("lesson", lessons_of(course)[0].id)]


def test_the_course_completes_once_when_every_required_lesson_is_done(make, db, received):
    learner, course = make.learner(), make.course(lessons=2)
    enrolment = make.enrolment(learner, course)
    first, second = lessons_of(course)
    operations.complete_lesson(operations.progress_for(enrolment, first))
    assert enrolment.completed_at is None
    operations.complete_lesson(operations.progress_for(enrolment, second))
    assert enrolment.completed_at is not None and enrolment.status == EnrolmentStatus.COMPLETED
    assert received.count(("course", enrolment.id)) == 1


def test_optional_and_hidden_lessons_do_not_hold_back_completion(make, db, received):
    learner, course = make.learner(), make.course(lessons=3)
    first, optional, hidden = lessons_of(course)
    optional.required = False
    hidden.is_published = False
    enrolment = make.enrolment(learner, course)
    operations.complete_lesson(operations.progress_for(enrolment, first))
    assert ("course", enrolment.id) in received


def test_reading_time_is_measured_between_views_and_capped(make, db):
    learner, course = make.learner(), make.course(lessons=1)
    enrolment = make.enrolment(learner, course)
    progress = operations.progress_for(enrolment, lessons_of(course)[0])
    start = utcnow()
    assert operations.record_reading(progress, start) == 0  # the first view starts the clock
    assert operations.record_reading(progress, start + timedelta(seconds=40)) == 40
    # A page left open overnight counts only up to the cap.
    later = start + timedelta(hours=10)
    assert operations.record_reading(progress, later) == operations.READING_GAP_CAP_SECONDS
    assert progress.verified_seconds == 40 + operations.READING_GAP_CAP_SECONDS


def test_reading_in_two_tabs_counts_once(make, db):
    learner, course = make.learner(), make.course(lessons=1)
    enrolment = make.enrolment(learner, course)
    progress = operations.progress_for(enrolment, lessons_of(course)[0])
    t0 = utcnow()
    operations.record_reading(progress, t0)
    for second in range(10, 130, 10):  # two tabs beat alternately, 10 s apart
        operations.record_reading(progress, t0 + timedelta(seconds=second))
    assert progress.verified_seconds == 120


def test_sequential_courses_lock_lessons_until_the_previous_one_is_done(make, db):
    learner, course = make.learner(), make.course(lessons=3, sequential=True)
    enrolment = make.enrolment(learner, course)
    outline = util.outline(course, enrolment)
    assert [i.locked for i in outline.items] == [False, True, True]
    operations.complete_lesson(operations.progress_for(enrolment, outline.items[0].lesson))
    outline = util.outline(course, enrolment)
    assert [i.locked for i in outline.items] == [False, False, True]
    assert outline.next_lesson == outline.items[1].lesson


def test_prerequisites_must_be_completed_before_enrolling(make, db):
    learner = make.learner()
    basics, advanced = make.course(lessons=1), make.course()
    operations.set_prerequisites(make.author, advanced, [basics])
    with pytest.raises(UserError, match="first"):
        operations.enrol(learner, advanced)
    enrolment = make.enrolment(learner, basics)
    operations.complete_lesson(operations.progress_for(enrolment, lessons_of(basics)[0]))
    assert operations.enrol(learner, advanced)


def test_a_prerequisite_cycle_is_refused(make, db):
    a, b, c = make.course(), make.course(), make.course()
    operations.set_prerequisites(make.author, b, [a])
    operations.set_prerequisites(make.author, c, [b])
    with pytest.raises(UserError, match="cycle"):
        operations.set_prerequisites(make.author, a, [c])
    with pytest.raises(UserError, match="cycle"):
        operations.set_prerequisites(make.author, a, [a])


def test_reorder_moves_a_lesson_into_another_section(make, db):
    course = make.course(sections=2, lessons=2)
    s1, s2 = course.sections
    l1, l2 = s1.lessons
    l3, l4 = s2.lessons
    items = [("section", s2.id), ("lesson", l3.id), ("section", s1.id), ("lesson", l1.id),
             ("lesson", l4.id), ("lesson", l2.id)]
    operations.reorder(make.author, course, items)
    assert [s.id for s in sorted(course.sections, key=lambda s: s.position)] == [s2.id, s1.id]
    ordered = [i.lesson.id for i in util.outline(course, None).items]
    assert ordered == [l3.id, l1.id, l4.id, l2.id]


def test_reorder_with_stale_or_foreign_ids_is_refused_and_changes_nothing(make, db):
    course, other = make.course(lessons=2), make.course(lessons=1)
    section = course.sections[0]
    l1, l2 = section.lessons
    stranger = other.sections[0].lessons[0]
    before = [i.lesson.id for i in util.outline(course, None).items]
    for items in (
        [("section", section.id), ("lesson", l2.id)],                          # stale: l1 missing
        [("section", section.id), ("lesson", l2.id), ("lesson", l1.id),
         ("lesson", stranger.id)],                                    # another course's lesson
        [("lesson", l1.id), ("section", section.id), ("lesson", l2.id)],  # lesson before a section
        [("section", section.id), ("lesson", l1.id), ("lesson", l1.id)],       # duplicate
    ):
        with pytest.raises(UserError):
            operations.reorder(make.author, course, items)
    assert [i.lesson.id for i in util.outline(course, None).items] == before


def test_occupation_codes_are_format_checked(make, db):
    for bad in ("6010201", "6-1-2-1", "A-01-02-01", "6-01-02-01-9", ""):
        with pytest.raises(UserError):
            operations.check_occupation_code(bad)
    assert operations.check_occupation_code(" 6-01-02-01 ") == "6-01-02-01"
    # Typed in Tibetan or full-width digits, stored as the catalogue's filter reads it.
    assert operations.check_occupation_code("༦-༠༡-༠༢-༠༡") == "6-01-02-01"
    assert operations.check_occupation_code("６－０１－０２－０１") == "6-01-02-01"


def test_a_course_without_lessons_cannot_be_published(make, db):
    course = make.course(lessons=0, sections=1, published=False)
    with pytest.raises(UserError, match="lesson"):
        operations.publish_course(make.author, course)


def test_a_started_lesson_cannot_be_deleted(make, db):
    learner, course = make.learner(), make.course(lessons=2)
    enrolment = make.enrolment(learner, course)
    lesson = lessons_of(course)[0]
    operations.progress_for(enrolment, lesson)
    with pytest.raises(UserError, match="unpublish"):
        operations.delete_lesson(make.author, lesson)


def test_only_published_courses_can_be_required_first(make, db):
    draft, course = make.course(published=False), make.course()
    with pytest.raises(UserError, match="published"):
        operations.set_prerequisites(make.author, course, [draft])


def test_a_course_without_a_required_lesson_cannot_be_published(make, db):
    course = make.course(lessons=2, published=False)
    for lesson in lessons_of(course):
        lesson.required = False
    with pytest.raises(UserError, match="required"):
        operations.publish_course(make.author, course)


@pytest.mark.parametrize("change", ["hidden", "optional", "deleted", "reworked"])
def test_a_learner_who_has_done_every_required_lesson_left_completes_the_course(make, db,
                                                                              change):
    from lms.core import signals

    learner, course = make.learner(), make.course(lessons=3)
    enrolment = make.enrolment(learner, course)
    first, second, third = course.sections[0].lessons
    for lesson in (first, second):
        operations.complete_lesson(operations.progress_for(enrolment, lesson))
    db.session.commit()
    completed = []
    signals.course_completed.connect(on := lambda sender, **kw: completed.append(sender))
    try:
        if change == "deleted":
            operations.delete_lesson(make.author, third)
        elif change == "reworked":  # out of the catalogue, the lesson hidden, back in
            operations.unpublish_course(make.author, course)
            operations.save_lesson(make.author, third.section, third, title_en=third.title_en,
                                   credit_hours=1, required=True, is_published=False)
            operations.publish_course(make.author, course)
        else:
            operations.save_lesson(make.author, third.section, third, title_en=third.title_en,
                                   credit_hours=1, required=change != "optional",
                                   is_published=change != "hidden")
    finally:
        signals.course_completed.disconnect(on)
    assert completed == [course] and enrolment.completed_at is not None

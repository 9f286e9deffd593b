"""Course operations: verbs on courses and lessons. They flush, never commit.

Split by who acts: ``authoring`` (instructors and administrators) and
``learning`` (learners); both are available from this package.
"""

from lms.courses.operations.authoring import (
    check_occupation_code,
    delete_attachment,
    delete_lesson,
    keep_publishable,
    publish_course,
    publish_problems,
    reorder,
    save_course,
    save_lesson,
    save_section,
    set_instructors,
    set_prerequisites,
    unpublish_course,
)
from lms.courses.operations.learning import (
    ACTIVITY_RESOLUTION_SECONDS,
    READING_GAP_CAP_SECONDS,
    activity_is_stale,
    complete_lesson,
    enrol,
    find_enrolment,
    is_course_completed,
    last_activity_is_stale,
    note_attachment_opened,
    note_view,
    progress_for,
    record_reading,
    study_clock,
    touch,
    withdraw,
)

__all__ = [
    "ACTIVITY_RESOLUTION_SECONDS", "READING_GAP_CAP_SECONDS", "activity_is_stale",
    "check_occupation_code", "complete_lesson", "delete_attachment", "delete_lesson", "enrol",
    "find_enrolment", "is_course_completed", "keep_publishable", "last_activity_is_stale",
    "note_attachment_opened",
    "note_view", "progress_for",
    "publish_course", "publish_problems", "record_reading", "reorder", "save_course",
    "save_lesson", "save_section", "set_instructors", "set_prerequisites", "study_clock",
    "touch",
    "unpublish_course", "withdraw",
]

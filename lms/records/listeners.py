"""The record listens: completed lessons and courses become ledger entries and certificates.

Receivers run inside the sender's unit of work, so a credit commits with the
completion that earned it, or not at all. Courses never imports records.
"""

from __future__ import annotations

from typing import Any

from lms.core import signals
from lms.courses.util import set_hours_provider
from lms.records import certificates, operations, permissions, util
from lms.users import target_groups


def on_lesson_completed(sender: Any, *, enrolment: Any, lesson: Any, progress: Any,
                        **_: Any) -> None:
    """Credit the lesson's hours and verified study time."""
    operations.credit_lesson(enrolment, lesson, progress)


def on_course_completed(sender: Any, *, enrolment: Any, **_: Any) -> None:
    """Record the completed course and issue its certificate."""
    operations.credit_course(enrolment)
    certificates.issue_certificate(enrolment)


signals.lesson_completed.connect(on_lesson_completed)
signals.course_completed.connect(on_course_completed)
set_hours_provider(util.course_hours)
# Institution admins tag the learners their institution trains, as the record sees them.
target_groups.set_institution_learners(permissions.institution_learner_ids)

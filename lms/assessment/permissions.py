"""Who may build question banks, see attempts, grade, review practical work and pair apprentices."""

from __future__ import annotations

from sqlalchemy import select

from lms.assessment.models import Attempt, Pairing, Submission
from lms.courses.models import Course, Enrolment, TrainingType
from lms.courses.permissions import can_edit_course
from lms.extensions import db
from lms.users.models import Role, User


def can_manage_bank(user: User, course: Course) -> bool:
    """A course's editors build its question bank, quizzes and practical tasks."""
    return can_edit_course(user, course)


def can_view_attempt(user: User, attempt: Attempt, course: Course) -> bool:
    """The learner who made the attempt, and the course's editors."""
    return attempt.user_id == user.id or can_edit_course(user, course)


def can_grade_attempt(user: User, attempt: Attempt, course: Course) -> bool:
    """The course's editors grade essays, never their own attempt."""
    return attempt.user_id != user.id and can_edit_course(user, course)


def is_apprenticeship(course: Course) -> bool:
    return course.training_type == TrainingType.APPRENTICESHIP


def active_master_id(course_id: int, apprentice_id: int) -> int | None:
    """The master currently paired with an apprentice in a course, if any."""
    return db.session.scalar(select(Pairing.master_id).where(
        Pairing.course_id == course_id, Pairing.apprentice_id == apprentice_id,
        Pairing.ended_at.is_(None)))


def _institution_admin_of(user: User, course: Course) -> bool:
    return (user.role == Role.INSTITUTION_ADMIN and user.institution_id is not None
            and user.institution_id == course.institution_id)


def can_review_submission(user: User, submission: Submission, course: Course) -> bool:
    """Nobody reviews their own work. In apprenticeship courses only the apprentice's master
    and the institution's admins review; elsewhere the course's editors do."""
    if not user.is_authenticated or submission.user_id == user.id:
        return False
    if is_apprenticeship(course):
        return (_institution_admin_of(user, course)
                or active_master_id(course.id, submission.user_id) == user.id)
    return can_edit_course(user, course)


def can_view_submission(user: User, submission: Submission, course: Course) -> bool:
    """The learner, whoever may review it, and the course's editors."""
    return (submission.user_id == user.id or can_edit_course(user, course)
            or can_review_submission(user, submission, course))


def can_pair(user: User, course: Course) -> bool:
    """Institution admins of the course's institution (and regional admins) pair apprentices."""
    return is_apprenticeship(course) and (
        user.role == Role.REGIONAL_ADMIN or _institution_admin_of(user, course))


def is_apprentice_in(course: Course, person: User) -> bool:
    """Whether ``person`` learns in ``course``: enrolled (now or once) or paired as apprentice."""
    enrolled = select(Enrolment.id).where(Enrolment.course_id == course.id,
                                          Enrolment.user_id == person.id)
    paired = select(Pairing.id).where(Pairing.course_id == course.id,
                                      Pairing.apprentice_id == person.id)
    return db.session.scalar(enrolled.union_all(paired).limit(1)) is not None


def can_view_apprenticeship(user: User, course: Course, apprentice: User) -> bool:
    """The apprentice, their masters (past and present) and the course's editors and admins;
    staff see only the course's own apprentices, never any account they name by id."""
    if user.id == apprentice.id:
        return True
    if can_edit_course(user, course) or can_pair(user, course):
        return is_apprentice_in(course, apprentice)
    return db.session.scalar(select(Pairing.id).where(
        Pairing.course_id == course.id, Pairing.apprentice_id == apprentice.id,
        Pairing.master_id == user.id).limit(1)) is not None


def can_view_gradebook(user: User, course: Course) -> bool:
    """The course's editors."""
    return can_edit_course(user, course)

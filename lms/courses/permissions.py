"""Who may see, edit, teach and follow a course."""

from __future__ import annotations

from lms.courses.models import Course, CourseStatus, Enrolment
from lms.users.models import Institution, Role, User


def _same_institution(user: User, course: Course) -> bool:
    return user.institution_id is not None and user.institution_id == course.institution_id


def can_create_course(user: User, institution: Institution) -> bool:
    """Instructors and institution admins create courses for their own institution."""
    if user.role == Role.REGIONAL_ADMIN:
        return True
    return (user.role in (Role.INSTRUCTOR, Role.INSTITUTION_ADMIN)
            and user.institution_id == institution.id)


def can_edit_course(user: User, course: Course) -> bool:
    """Regional admins, the institution's admins, and the course's assigned instructors."""
    if not user.is_authenticated:
        return False
    if user.role == Role.REGIONAL_ADMIN:
        return True
    if user.role == Role.INSTITUTION_ADMIN:
        return _same_institution(user, course)
    if user.role == Role.INSTRUCTOR:
        return _same_institution(user, course) and any(u.id == user.id for u in course.instructors)
    return False


def can_manage_course_staff(user: User, course: Course) -> bool:
    """Institution admins (and regional admins) assign instructors to courses."""
    return user.is_authenticated and (
        user.role == Role.REGIONAL_ADMIN
        or (user.role == Role.INSTITUTION_ADMIN and _same_institution(user, course)))


def can_view_course(user: User, course: Course, enrolment: Enrolment | None) -> bool:
    """Published courses are public; drafts only for their editors; archived ones also for
    the learners who took them."""
    if course.status == CourseStatus.PUBLISHED:
        return True
    if can_edit_course(user, course):
        return True
    return course.status == CourseStatus.ARCHIVED and enrolment is not None


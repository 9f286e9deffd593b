"""Loaders: fetch a course or lesson together with what the current user may do with it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from flask_login import current_user

from lms.courses import operations, permissions
from lms.courses.models import Attachment, Course, Enrolment, Lesson, Section
from lms.extensions import db


@dataclass
class CourseAccess:
    """A course and the current user's rights in it."""

    course: Course
    enrolment: Enrolment | None
    can_edit: bool

    @property
    def is_enrolled(self) -> bool:
        return self.enrolment is not None and self.enrolment.is_active


def load_course(course_id: int) -> CourseAccess:
    """The course if the current user may see it; 404 otherwise (drafts do not exist for others)."""
    course = db.get_or_404(Course, course_id)
    enrolment = (operations.find_enrolment(current_user, course)
                 if current_user.is_authenticated else None)
    if not permissions.can_view_course(current_user, course, enrolment):
        abort(404)
    can_edit = current_user.is_authenticated and permissions.can_edit_course(current_user, course)
    return CourseAccess(course, enrolment, can_edit)


def load_editable_course(course_id: int) -> Course:
    """A course the current user may edit (403 for others' courses)."""
    course = db.get_or_404(Course, course_id)
    if not permissions.can_edit_course(current_user, course):
        abort(403)
    return course


def load_editable_section(section_id: int) -> Section:
    section = db.get_or_404(Section, section_id)
    load_editable_course(section.course_id)
    return section


def load_editable_lesson(lesson_id: int) -> Lesson:
    lesson = db.get_or_404(Lesson, lesson_id)
    load_editable_course(lesson.course_id)
    return lesson


def load_lesson(access: CourseAccess, lesson_id: int) -> Lesson:
    """A lesson of the course; unpublished lessons exist only for the course's editors."""
    lesson = db.get_or_404(Lesson, lesson_id)
    if lesson.course_id != access.course.id or (not lesson.is_published and not access.can_edit):
        abort(404)
    return lesson


def load_attachment(access: CourseAccess, lesson: Lesson, attachment_id: int) -> Attachment:
    attachment = db.get_or_404(Attachment, attachment_id)
    if attachment.lesson_id != lesson.id:
        abort(404)
    return attachment

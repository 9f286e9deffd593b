"""Loaders: fetch an assessment object with the current user's right to it, or 403/404."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from flask_login import current_user

from lms.assessment import permissions
from lms.assessment.models import (
    Attempt,
    Evidence,
    PracticalStage,
    Question,
    QuestionCategory,
    Submission,
    SubmissionState,
)
from lms.courses import util as course_util
from lms.courses.controllers.loaders import CourseAccess, load_course, load_lesson
from lms.courses.models import Course, Lesson
from lms.extensions import db


def load_bank(course_id: int) -> Course:
    """A course whose question bank the current user may build (403 for others)."""
    course = db.get_or_404(Course, course_id)
    if not permissions.can_manage_bank(current_user, course):
        abort(403)
    return course


def load_question(question_id: int) -> Question:
    question = db.get_or_404(Question, question_id)
    load_bank(question.course_id)
    if not question.is_active:
        abort(404)
    return question


def load_category(category_id: int) -> QuestionCategory:
    category = db.get_or_404(QuestionCategory, category_id)
    load_bank(category.course_id)
    return category


def load_editable_lesson(lesson_id: int, kind: str) -> Lesson:
    """A quiz or practical lesson the current user may configure."""
    lesson = db.get_or_404(Lesson, lesson_id)
    if lesson.kind != kind:
        abort(404)
    load_bank(lesson.course_id)
    return lesson


@dataclass
class LearnerLesson:
    """A lesson an enrolled learner may work on now, with their enrolment."""

    access: CourseAccess
    lesson: Lesson

    @property
    def enrolment(self):
        return self.access.enrolment


def load_learner_lesson(course_id: int, lesson_id: int, kind: str) -> LearnerLesson:
    """A lesson of ``kind`` open to the current learner: enrolled, and not locked (else 403)."""
    access = load_course(course_id)
    lesson = load_lesson(access, lesson_id)
    if lesson.kind != kind:
        abort(404)
    if not access.is_enrolled:
        abort(403)
    item = course_util.outline(access.course, access.enrolment).item(lesson.id)
    if item is None or item.locked:
        abort(403)
    return LearnerLesson(access, lesson)


def load_attempt(attempt_id: int) -> tuple[Attempt, Course]:
    """An attempt the current user may see: their own, or one in a course they teach."""
    attempt = db.get_or_404(Attempt, attempt_id)
    course = db.session.get(Course, attempt.quiz.course_id)
    if not permissions.can_view_attempt(current_user, attempt, course):
        abort(403)
    return attempt, course


def load_submission(submission_id: int) -> tuple[Submission, Course]:
    """A submission the current user may see (the learner, its reviewers, the teachers)."""
    submission = db.get_or_404(Submission, submission_id)
    course = db.session.get(Course, submission.task.course_id)
    if not permissions.can_view_submission(current_user, submission, course):
        abort(403)
    return submission, course


def load_evidence(evidence_id: int) -> Evidence:
    """A file of a submission the current user may see; a draft's files only to its learner
    (reviewers see work once it is sent)."""
    evidence = db.get_or_404(Evidence, evidence_id)
    submission, _course = load_submission(evidence.submission_id)
    if submission.state == SubmissionState.DRAFT and submission.user_id != current_user.id:
        abort(403)
    return evidence


def load_learner_stage(stage_id: int) -> tuple[PracticalStage, LearnerLesson]:
    """A stage of a practical lesson the current learner may work on."""
    stage = db.get_or_404(PracticalStage, stage_id)
    lesson = db.get_or_404(Lesson, stage.task.lesson_id)
    return stage, load_learner_lesson(lesson.course_id, lesson.id, "practical")

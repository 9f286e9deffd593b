"""The quiz and practical lesson kinds: how such lessons are shown, configured and completed.

A quiz lesson is complete when an attempt passes; a practical lesson when a
reviewer approves its last stage. Importing this module registers both kinds
and (through the practical operations) the ``evidence`` upload purpose.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from lms.assessment.forms import (
    CriterionForm,
    EvidenceForm,
    PracticalTaskForm,
    QuizSettingsForm,
    StageForm,
    SubmitWorkForm,
)
from lms.assessment.models import EVIDENCE_KINDS, Attempt, Quiz, Selection, Submission
from lms.assessment.operations import practical, quizzes
from lms.assessment.util import StageView, categories_with_counts, stage_views
from lms.courses.kinds import LessonKind, register_kind
from lms.courses.models import Course, Enrolment, Lesson, LessonProgress
from lms.extensions import db


@register_kind
class QuizKind(LessonKind):
    """Questions from the course's bank; complete when an attempt reaches the pass mark."""

    key = "quiz"
    label = _l("Quiz")
    template = "assessment/kinds/quiz.html"
    editor_template = "assessment/kinds/quiz_editor.html"
    order = 40

    def requirement(self, lesson: Lesson) -> str:
        quiz = quizzes.quiz_for(lesson)
        if quiz is None:
            return ""
        return _("Pass the quiz with at least %(percent)s%%.", percent=quiz.pass_percent)

    def on_view(self, lesson: Lesson, enrolment: Enrolment | None,
                progress: LessonProgress | None, now: datetime) -> dict[str, Any]:
        quiz = quizzes.quiz_for(lesson)
        if quiz is None or enrolment is None:
            return {"quiz": quiz, "problems": quizzes.quiz_problems(quiz),
                    "count": _count(quiz) if quiz else 0}
        # A page view only reads: an attempt whose time ran out is handed in when the
        # learner opens it (or starts another), and the page links to it meanwhile.
        attempts = quizzes.attempts_of(quiz, enrolment.user)
        current = next((a for a in attempts if a.is_open), None)
        left = quizzes.attempts_left(quiz, enrolment.user)
        return {"quiz": quiz, "attempts": attempts, "current": current, "left": left,
                "time_up": current is not None and quizzes.is_overdue(current, now),
                "result": quizzes.quiz_result(quiz, attempts), "count": _count(quiz),
                "problems": quizzes.quiz_problems(quiz)}

    def publish_problems(self, lesson: Lesson) -> list[str]:
        return quizzes.quiz_problems(quizzes.quiz_for(lesson))

    def holds_learner_work(self, lesson: Lesson) -> bool:
        quiz = quizzes.quiz_for(lesson)
        return quiz is not None and db.session.scalar(
            select(Attempt.id).where(Attempt.quiz_id == quiz.id).limit(1)) is not None

    def editor_context(self, lesson: Lesson) -> dict[str, Any]:
        """What the lesson editor needs to show the quiz settings form."""
        course = db.session.get(Course, lesson.course_id)
        quiz = quizzes.quiz_for(lesson)
        # The editor page may be the lesson form posted back with errors: show the saved quiz.
        form = QuizSettingsForm.for_quiz(course, quiz, from_request=False)
        return {"quiz": quiz, "settings_form": form, "course": course,
                "categories": categories_with_counts(course),
                "problems": quizzes.quiz_problems(quiz)}


@register_kind
class PracticalKind(LessonKind):
    """Work done by hand and shown as evidence; complete when a reviewer approves it."""

    key = "practical"
    label = _l("Practical task")
    template = "assessment/kinds/practical.html"
    editor_template = "assessment/kinds/practical_editor.html"
    order = 50

    def requirement(self, lesson: Lesson) -> str:
        return _("Send your work as evidence; the lesson is complete when it is approved.")

    def on_view(self, lesson: Lesson, enrolment: Enrolment | None,
                progress: LessonProgress | None, now: datetime) -> dict[str, Any]:
        task = practical.task_for(lesson)
        context: dict[str, Any] = {"task": task, "kinds": EVIDENCE_KINDS,
                                   "problems": practical.task_problems(task)}
        if task is not None:
            context["criteria_for"] = practical.criteria_for
            if enrolment is not None:
                context.update(stages=stage_views(task, enrolment.user),
                               evidence_form=EvidenceForm(), submit_form=SubmitWorkForm())
            else:  # an instructor's preview: the stages, nobody's work
                context["stages"] = [StageView(s, [], True) for s in task.stages]
        return context

    def publish_problems(self, lesson: Lesson) -> list[str]:
        return practical.task_problems(practical.task_for(lesson))

    def holds_learner_work(self, lesson: Lesson) -> bool:
        task = practical.task_for(lesson)
        return task is not None and db.session.scalar(
            select(Submission.id).where(Submission.task_id == task.id).limit(1)) is not None

    def editor_context(self, lesson: Lesson) -> dict[str, Any]:
        """What the lesson editor needs to show the task, its stages and its rubric."""
        task = practical.task_for(lesson)
        stages = task.stages if task else []
        return {"task": task, "task_form": PracticalTaskForm.for_task(task, from_request=False),
                "stage_form": StageForm(prefix="stage", formdata=None),
                "stage_forms": {s.id: StageForm(prefix=f"s{s.id}", obj=s, formdata=None)
                                for s in stages},
                "criterion_form": CriterionForm.for_task(task, None, from_request=False),
                "criterion_forms": {c.id: CriterionForm.for_task(task, c, from_request=False)
                                    for c in (task.criteria if task else [])},
                "problems": practical.task_problems(task)}


def _count(quiz: Quiz) -> int:
    """How many questions an attempt at ``quiz`` holds."""
    pool = len(quizzes.candidate_questions(quiz))
    return min(quiz.question_count, pool) if quiz.selection == Selection.RANDOM else pool

"""The gradebook of a course: learners × quizzes and practical tasks, on screen and as CSV."""

from __future__ import annotations

from flask import Response, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from lms.assessment import util
from lms.assessment.permissions import can_view_gradebook
from lms.core.access import roles_required
from lms.core.audit import audit_download
from lms.core.spreadsheets import csv_download
from lms.courses.models import Course
from lms.extensions import db
from lms.users.models import STAFF_ROLES


@roles_required(*STAFF_ROLES)
def gradebook(course_id: int) -> str | Response:
    course = db.get_or_404(Course, course_id)
    if not can_view_gradebook(current_user, course):
        abort(403)
    lessons, rows = util.gradebook(course)
    if request.args.get("format") == "csv":
        return _csv(course, lessons, rows)
    return render_template("assessment/gradebook.html", course=course, lessons=lessons,
                           rows=rows)


def _csv(course: Course, lessons: list, rows: list) -> Response:
    audit_download(current_user, "assessment.gradebook_downloaded", course,
                   {"format": "csv", "rows": len(rows)}, institution_id=course.institution_id)
    header = [_("Learner")]
    for lesson in lessons:
        header += [f"{lesson.title} · {_('Score')}", f"{lesson.title} · {_('Attempts or stages')}",
                   f"{lesson.title} · {_('Status')}"]
    body = ([row.learner.real_name, *[v for cell in row.cells
                                      for v in (cell.score, cell.detail, cell.status_label)]]
            for row in rows)
    return csv_download(f"gradebook-{course.code}.csv", header, body)

"""The gradebook of a course: learners × quizzes and practical tasks, on screen and as CSV."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from lms.assessment import util
from lms.assessment.permissions import can_view_gradebook
from lms.core.access import roles_required
from lms.courses.models import Course
from lms.extensions import db
from lms.users.models import Role

STAFF = (Role.INSTRUCTOR, Role.INSTITUTION_ADMIN, Role.REGIONAL_ADMIN)


@roles_required(*STAFF)
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
    """UTF-8 with a byte-order mark (Excel reads Tibetan and Chinese right), CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    header = [_("Learner")]
    for lesson in lessons:
        header += [f"{lesson.title} · {_('Score')}", f"{lesson.title} · {_('Attempts or stages')}",
                   f"{lesson.title} · {_('Status')}"]
    writer.writerow([_neutralise(h) for h in header])
    for row in rows:
        cells = [row.learner.real_name]
        for cell in row.cells:
            cells += [cell.score, cell.detail, cell.status_label]
        writer.writerow([_neutralise(c) for c in cells])
    return Response(("\ufeff" + out.getvalue()).encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="gradebook-{course.code}.csv"'})


def _neutralise(text: str) -> str:
    """Spreadsheets run a cell starting with = + - @ (or a tab or CR) as a formula: make it text."""
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text

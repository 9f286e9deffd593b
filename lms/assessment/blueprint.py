"""URL table of assessment: banks and imports, quizzes and attempts, practical work and
review, apprenticeships, gradebooks."""

from flask import Blueprint
from flask.blueprints import BlueprintSetupState
from flask_babel import lazy_gettext as _l

from lms.assessment import util
from lms.assessment.controllers import banks as b
from lms.assessment.controllers import gradebook as g
from lms.assessment.controllers import practical as p
from lms.assessment.controllers import quizzes as q
from lms.assessment.controllers import review as r
from lms.assessment.models import GRADING_LABELS, text_in
from lms.assessment.operations.evidence import evidence_video_view
from lms.assessment.questions import render_text, type_label
from lms.courses.util import PROGRESS_COLUMNS

bp = Blueprint("assessment", __name__, template_folder="templates")

# Question banks (instructors).
bp.add_url_rule("/teach/courses/<int:course_id>/questions/", "bank", b.bank)
bp.add_url_rule("/teach/courses/<int:course_id>/questions/categories", "save_category",
                b.save_category, methods=["POST"])
bp.add_url_rule("/teach/categories/<int:category_id>/delete", "delete_category",
                b.delete_category, methods=["POST"])
bp.add_url_rule("/teach/courses/<int:course_id>/questions/import", "import_questions",
                b.import_questions, methods=["GET", "POST"])
bp.add_url_rule("/teach/courses/<int:course_id>/questions/import/preview", "import_preview",
                b.import_preview)
bp.add_url_rule("/teach/courses/<int:course_id>/questions/import/confirm", "import_confirm",
                b.import_confirm, methods=["POST"])
bp.add_url_rule("/teach/courses/<int:course_id>/questions/export", "export", b.export)
bp.add_url_rule("/teach/questions/<int:question_id>", "edit_question", b.edit_question,
                methods=["GET", "POST"])
bp.add_url_rule("/teach/questions/<int:question_id>/delete", "delete_question",
                b.delete_question, methods=["POST"])

# Quizzes: settings and essay grading (instructors), attempts (learners).
bp.add_url_rule("/teach/lessons/<int:lesson_id>/quiz", "quiz_settings", q.settings,
                methods=["GET", "POST"])
bp.add_url_rule("/teach/grading/", "grading_queue", q.grading_queue)
bp.add_url_rule("/teach/attempts/<int:attempt_id>/grade", "grade", q.grade,
                methods=["GET", "POST"])
bp.add_url_rule("/courses/<int:course_id>/lessons/<int:lesson_id>/quiz/start", "start_attempt",
                q.start, methods=["POST"])
bp.add_url_rule("/quiz/attempts/<int:attempt_id>", "attempt", q.attempt)
bp.add_url_rule("/quiz/attempts/<int:attempt_id>/save", "save_answers", q.save,
                methods=["POST"])
bp.add_url_rule("/quiz/attempts/<int:attempt_id>/submit", "submit_attempt", q.submit,
                methods=["POST"])

# Practical tasks: set-up (instructors), evidence and submissions (learners).
bp.add_url_rule("/teach/lessons/<int:lesson_id>/practical", "save_task", p.save_task,
                methods=["POST"])
bp.add_url_rule("/teach/lessons/<int:lesson_id>/practical/stages", "add_stage", p.save_stage,
                methods=["POST"])
bp.add_url_rule("/teach/lessons/<int:lesson_id>/practical/stages/<int:stage_id>", "edit_stage",
                p.save_stage, methods=["POST"])
bp.add_url_rule("/teach/lessons/<int:lesson_id>/practical/stages/<int:stage_id>/delete",
                "delete_stage", p.delete_stage, methods=["POST"])
bp.add_url_rule("/teach/lessons/<int:lesson_id>/practical/criteria", "add_criterion",
                p.save_criterion, methods=["POST"])
bp.add_url_rule("/teach/lessons/<int:lesson_id>/practical/criteria/<int:criterion_id>",
                "edit_criterion", p.save_criterion, methods=["POST"])
bp.add_url_rule("/teach/lessons/<int:lesson_id>/practical/criteria/<int:criterion_id>/delete",
                "delete_criterion", p.delete_criterion, methods=["POST"])
bp.add_url_rule("/practical/stages/<int:stage_id>/evidence", "add_evidence", p.add_evidence,
                methods=["POST"])
bp.add_url_rule("/practical/stages/<int:stage_id>/submit", "submit_work", p.submit_work,
                methods=["POST"])
bp.add_url_rule("/practical/evidence/<int:evidence_id>", "evidence", p.evidence_file)
bp.add_url_rule("/practical/evidence/<int:evidence_id>/video/<name>", "evidence_media",
                p.evidence_media)
bp.add_url_rule("/practical/evidence/<int:evidence_id>/delete", "remove_evidence",
                p.remove_evidence, methods=["POST"])

# Review of practical work; apprenticeships.
bp.add_url_rule("/review/", "review_queue", r.queue)
bp.add_url_rule("/review/submissions/<int:submission_id>", "submission", r.submission,
                methods=["GET", "POST"])
bp.add_url_rule("/teach/courses/<int:course_id>/apprentices", "pairings", r.pairings,
                methods=["GET", "POST"])
bp.add_url_rule("/teach/pairings/<int:pairing_id>/end", "end_pairing", r.end_pairing,
                methods=["POST"])
bp.add_url_rule("/teach/courses/<int:course_id>/apprentices/<int:user_id>", "apprentice",
                r.apprentice)
bp.add_url_rule("/courses/<int:course_id>/apprenticeship", "my_apprenticeship",
                r.my_apprenticeship)

# Gradebook.
bp.add_url_rule("/teach/courses/<int:course_id>/gradebook", "gradebook", g.gradebook)


@bp.record_once
def install(state: BlueprintSetupState) -> None:
    """Template helpers of assessment, and its column in the course progress table."""
    env = state.app.jinja_env
    env.filters["question_text"] = lambda q, lang: render_text(text_in(q, "text", lang),
                                                               q.text_format)
    env.filters["text_in"] = text_in
    env.filters["qtype_label"] = type_label
    env.globals["grading_labels"] = GRADING_LABELS
    env.globals["evidence_video"] = evidence_video_view
    column = (_l("Waiting for an instructor"), util.waiting_by_enrolment)
    if column not in PROGRESS_COLUMNS:
        PROGRESS_COLUMNS.append(column)

"""Forms of banks and imports, quiz settings, essay grading, practical tasks, reviews, pairings."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from lms.assessment.formats import TEXT_FORMATS
from lms.assessment.models import (
    EVIDENCE_KINDS,
    GRADING_LABELS,
    REVIEW_LABELS,
    SELECTION_LABELS,
    PracticalTask,
    Quiz,
    RubricCriterion,
)
from lms.assessment.operations.banks import IMPORT_FORMATS
from lms.assessment.util import bank_questions, categories_with_counts
from lms.core.forms import LANG_LABELS, FileField, FiniteDecimalField, WebForm, localized
from lms.courses.models import Course
from lms.extensions import db

TEXT_FORMAT_LABELS = {
    "markdown": _l("Markdown"),
    "plain": _l("Plain text"),
    "moodle": _l("Plain text (Moodle)"),
    "html": _l("HTML (cleaned)"),
}
#: Rows offered for rubric levels; empty rows are ignored.
LEVEL_ROWS = 5


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CategoryForm(WebForm):
    #: Set when renaming; not a number only when the request was forged.
    category_id = IntegerField(widget=HiddenInput(), validators=[Optional()])
    name = StringField(_l("New category"), validators=[DataRequired(), Length(max=255)],
                       description=_l("Use / for subcategories, e.g. 唐卡/颜料."))


class ImportForm(WebForm):
    file = FileField(_l("File"))
    text = TextAreaField(_l("…or paste the questions"), validators=[Optional()],
                         render_kw={"rows": 8, "spellcheck": "false"})
    format = SelectField(_l("Format"), choices=[(k, v[0]) for k, v in IMPORT_FORMATS.items()])
    language = SelectField(
        _l("Language of the questions"),
        choices=[("", _l("Recognise from the script"))] + list(LANG_LABELS.items()))
    category = StringField(
        _l("Category"), validators=[Optional(), Length(max=255)],
        description=_l("For questions the file does not place in a category."))


class ImportConfirmForm(WebForm):
    import_valid = BooleanField(_l("Import the valid questions and leave out the ones with "
                                   "errors"))


@localized("general_feedback", _l("General feedback"), area=True, max_length=20_000)
@localized("text", _l("Question text"), area=True, max_length=50_000)
class QuestionForm(WebForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=255)])
    category = SelectField(_l("Category"), coerce=int)
    text_format = SelectField(_l("Text format"), choices=list(TEXT_FORMAT_LABELS.items()),
                              validators=[Optional()])
    mark = FiniteDecimalField(_l("Points"), places=2, default=1,
                        validators=[Optional(), NumberRange(min=0, max=1000)])

    def __init__(self, *args: Any, course: Course, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category.choices = [(c.id, c.name) for c, _n in categories_with_counts(course)]
        self.text_format.choices = [(k, TEXT_FORMAT_LABELS[k]) for k in TEXT_FORMATS]


class QuizSettingsForm(WebForm):
    selection = SelectField(_l("Questions"), choices=[(k.value, v) for k, v in
                                                     SELECTION_LABELS.items()])
    categories = MultiCheckboxField(_l("Categories to draw from"), coerce=int)
    question_count = IntegerField(_l("Questions per attempt"), default=10,
                                  validators=[Optional(), NumberRange(min=1, max=200)])
    questions = SelectMultipleField(_l("Fixed list of questions"), coerce=int,
                                    render_kw={"size": 8})
    shuffle_questions = BooleanField(_l("Shuffle the questions"), default=True)
    shuffle_options = BooleanField(_l("Shuffle the answers of each question"), default=True)
    pass_percent = IntegerField(_l("Pass mark (%)"), default=60,
                                validators=[Optional(), NumberRange(min=0, max=100)])
    time_limit_minutes = IntegerField(_l("Time limit (minutes, 0 for none)"), default=0,
                                      validators=[Optional(), NumberRange(min=0, max=600)])
    max_attempts = IntegerField(_l("Attempts allowed (0 for unlimited)"), default=0,
                                validators=[Optional(), NumberRange(min=0, max=100)])
    grading = SelectField(_l("Grading method"),
                          choices=[(k.value, v) for k, v in GRADING_LABELS.items()])
    review = SelectField(_l("After an attempt"),
                         choices=[(k.value, v) for k, v in REVIEW_LABELS.items()])

    @classmethod
    def for_quiz(cls, course: Course, quiz: Quiz | None, *,
                 from_request: bool = True) -> QuizSettingsForm:
        """The form with the course's categories and questions as choices, filled from ``quiz``
        (or from the posted data when ``from_request`` and this form was posted)."""
        form = cls() if from_request else cls(formdata=None)
        form.categories.choices = [(c.id, f"{c.name} ({n})")
                                   for c, n in categories_with_counts(course)]
        form.questions.choices = [(q.id, f"{q.category.name} · {q.name}")
                                  for q in db.session.scalars(bank_questions(course))]
        if quiz is not None and not (from_request and form.is_submitted()):
            form.selection.data = quiz.selection.value
            form.categories.data = [c.id for c in quiz.categories]
            form.question_count.data = quiz.question_count
            form.questions.data = [fq.question_id for fq in quiz.fixed_questions]
            form.shuffle_questions.data = quiz.shuffle_questions
            form.shuffle_options.data = quiz.shuffle_options
            form.pass_percent.data = quiz.pass_percent
            form.time_limit_minutes.data = quiz.time_limit_seconds // 60
            form.max_attempts.data = quiz.max_attempts
            form.grading.data = quiz.grading.value
            form.review.data = quiz.review.value
        return form


class EssayGradeForm(WebForm):
    #: The essay being graded; not a number only when the request was forged.
    slot_id = IntegerField(widget=HiddenInput(), validators=[DataRequired()])
    # InputRequired, not DataRequired: the latter would hide why "NaN" was refused.
    points = FiniteDecimalField(_l("Points"), places=2, validators=[InputRequired(message=_l(
        "Give the points."))])
    feedback = TextAreaField(_l("Feedback to the learner"), validators=[Optional(),
                                                                       Length(max=10_000)])


# --- practical tasks -----------------------------------------------------------------------

class PracticalTaskForm(WebForm):
    evidence_kinds = MultiCheckboxField(_l("Evidence required"),
                                        choices=list(EVIDENCE_KINDS.items()))
    pass_percent = IntegerField(_l("Pass threshold (percentage of the rubric's points)"),
                                default=60, validators=[Optional(), NumberRange(min=0, max=100)])

    @classmethod
    def for_task(cls, task: PracticalTask | None, *,
                 from_request: bool = True) -> PracticalTaskForm:
        """The form filled from ``task`` (or from the posted data, as ``for_quiz``)."""
        form = cls() if from_request else cls(formdata=None)
        if not (from_request and form.is_submitted()):
            form.evidence_kinds.data = task.evidence_kinds if task else ["photo"]
            form.pass_percent.data = task.pass_percent if task else 60
        return form


@localized("title", _l("Stage"))
class StageForm(WebForm):
    """A stage's title in up to three languages."""


@localized("title", _l("Level"))
class LevelForm(Form):
    points = FiniteDecimalField(_l("Points"), places=2, validators=[Optional()])


@localized("title", _l("Criterion"))
class CriterionForm(WebForm):
    stage_id = SelectField(_l("Scored in"), coerce=lambda v: int(v) if v else None,
                           validators=[Optional()])
    levels = FieldList(FormField(LevelForm), min_entries=LEVEL_ROWS, max_entries=LEVEL_ROWS)

    @classmethod
    def for_task(cls, task: PracticalTask | None, criterion: RubricCriterion | None, *,
                 from_request: bool = True) -> CriterionForm:
        """An empty form for a new criterion, or one filled from ``criterion``."""
        prefix = f"c{criterion.id}" if criterion else "new"
        form = cls(prefix=prefix) if from_request else cls(prefix=prefix, formdata=None)
        form.stage_id.choices = [("", _l("Every stage"))] + [
            (s.id, s.title or _l("Stage %(n)s", n=s.position + 1))
            for s in (task.stages if task else [])]
        if criterion is not None and not (from_request and form.is_submitted()):
            form.stage_id.data = criterion.stage_id
            for lang in LANG_LABELS:
                getattr(form, f"title_{lang}").data = getattr(criterion, f"title_{lang}")
            for entry, level in zip(form.levels.entries, criterion.levels, strict=False):
                entry.form.points.data = level.points
                for lang in LANG_LABELS:
                    getattr(entry.form, f"title_{lang}").data = getattr(level, f"title_{lang}")
        return form


class EvidenceForm(WebForm):
    file = FileField(_l("Photo, PDF or video"))


class SubmitWorkForm(WebForm):
    text = TextAreaField(_l("About your work"), validators=[Optional(), Length(max=20_000)],
                         render_kw={"rows": 4})


class ReviewForm(WebForm):
    feedback = TextAreaField(_l("Feedback"), validators=[Optional(), Length(max=20_000)],
                             render_kw={"rows": 5})


class PairingForm(WebForm):
    apprentice = SelectField(_l("Apprentice"), coerce=int)
    master = SelectField(_l("Master"), coerce=int)

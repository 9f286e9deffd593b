"""Authoring forms: courses, sections, lessons, files, prerequisites, staff, order."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from lms.core.forms import FileField, FiniteDecimalField, WebForm, localized
from lms.courses.kinds import kind_choices
from lms.courses.models import SKILL_LEVEL_LABELS, TRAINING_TYPE_LABELS


@localized("occupation_name", _l("Occupation"))
@localized("summary", _l("Summary"), area=True, max_length=5000)
@localized("title", _l("Title"))
class CourseForm(WebForm):
    code = StringField(_l("Course code"), validators=[DataRequired(), Length(max=32)],
                       description=_l("Letters, digits and -, e.g. THANGKA-101."))
    occupation_code = StringField(
        _l("Occupation code"), validators=[DataRequired(), Length(max=16)],
        description=_l("National occupational classification code, e.g. 6-01-02-01."))
    skill_level = SelectField(_l("Skill level"),
                              choices=lambda: [(k.value, v) for k, v in SKILL_LEVEL_LABELS.items()])
    training_type = SelectField(
        _l("Training type"),
        choices=lambda: [(k.value, v) for k, v in TRAINING_TYPE_LABELS.items()])
    nominal_hours = FiniteDecimalField(_l("Nominal hours (学时)"), places=1,
                                 validators=[DataRequired(), NumberRange(min=0, max=10000)])
    subsidised = BooleanField(_l("Government-subsidised training"))
    sequential = BooleanField(_l("Open lessons one after another"),
                              description=_l("A lesson opens when the required lesson "
                                             "before it is complete."))


@localized("title", _l("Section title"))
class SectionForm(WebForm):
    """A section's title in up to three languages."""


@localized("body", _l("Text (Markdown)"), area=True, max_length=200_000)
@localized("title", _l("Title"))
class LessonForm(WebForm):
    kind = SelectField(_l("Kind of lesson"), choices=kind_choices)
    credit_hours = FiniteDecimalField(_l("Credit hours"), places=2, default=0,
                                validators=[Optional(), NumberRange(min=0, max=1000)])
    min_reading_minutes = IntegerField(
        _l("Minimum reading time (minutes)"), default=1,
        validators=[Optional(), NumberRange(min=0, max=1440)],
        description=_l("Text lessons: how long a learner must spend on the page."))
    required = BooleanField(_l("Required to complete the course"), default=True)
    is_published = BooleanField(_l("Visible to learners"), default=True)


class AttachmentForm(WebForm):
    file = FileField(_l("PDF or image"), validators=[FileRequired()])


class CoverForm(WebForm):
    file = FileField(_l("Cover image"), validators=[FileRequired()])


class PrerequisitesForm(WebForm):
    prerequisites = SelectMultipleField(_l("Courses to complete first"), coerce=int)


class InstructorsForm(WebForm):
    instructors = SelectMultipleField(_l("Instructors"), coerce=int)


#: Sections and lessons by id, as the outline's buttons send them.
_ORDER = r"^[sl][0-9]{1,18}(,[sl][0-9]{1,18})*$"


class OrderForm(WebForm):
    """The full new order of a course: ``s12,l45,l46,s13,l47`` (sections and lessons),
    and the order it was made from."""

    order = HiddenField(validators=[DataRequired(), Regexp(_ORDER),
                                    Length(max=20_000)])
    #: The order the page showed: a move made from it is refused once the course has
    #: been rearranged since (the same ids in an older order would undo that change).
    shown = HiddenField(validators=[DataRequired(), Regexp(_ORDER),
                                    Length(max=20_000)])

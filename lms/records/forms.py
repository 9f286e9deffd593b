"""Forms of the record: offline training, corrections, revocation, exports, verification."""

from __future__ import annotations

import re
import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp

from lms.core.forms import FileField, WebForm
from lms.courses.models import SKILL_LEVEL_LABELS, TRAINING_TYPE_LABELS
from lms.records.exporters import EXPORTERS
from lms.records.models import ENTRY_KIND_LABELS, EXPORT_SHAPE_LABELS, OFFLINE_KINDS
from lms.users.models import PREFECTURES
from lms.users.target_groups import TARGET_GROUP_LABELS


def _training_types() -> list[tuple[str, str]]:
    return [(k.value, v) for k, v in TRAINING_TYPE_LABELS.items()]


def _levels(blank: str) -> list[tuple[str, str]]:
    return [("", blank)] + [(k.value, v) for k, v in SKILL_LEVEL_LABELS.items()]


_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


class OfflineEntryForm(WebForm):
    """An administrator records training that happened away from the site."""

    kind = SelectField(_l("What kind of training"),
                       choices=lambda: [(k.value, ENTRY_KIND_LABELS[k]) for k in OFFLINE_KINDS])
    description = TextAreaField(
        _l("Description"), validators=[DataRequired(), Length(max=2000)],
        description=_l("What, where and with whom, e.g. \"Mineral pigments workshop, "
                       "Lhasa training base, master Tsering Dhondup\"."))
    occurred_on = DateField(_l("Date"), validators=[DataRequired()])
    hours = StringField(_l("Hours"), validators=[DataRequired(), Length(max=12)],
                        description=_l("Study hours to credit (学时), e.g. 4 or 1.5."))
    training_type = SelectField(_l("Training type"), choices=_training_types)
    skill_level = SelectField(_l("Skill level"), choices=lambda: _levels(_l("Not applicable")))
    institution_id = SelectField(_l("Training institution"), coerce=int)
    evidence = FileField(_l("Evidence (PDF or photo)"), validators=[FileRequired()],
                         description=_l("An attendance sheet, a result list or the "
                                        "certificate itself."))
    #: Makes a form sent twice credit once; as ``secrets.token_urlsafe(16)`` makes it.
    token = HiddenField(validators=[Optional(), Regexp(_TOKEN)])

    def prepare(self, institutions: list, *, fixed: bool) -> None:
        """Offer the institutions the admin may enter training for; a fresh form token."""
        choices = [(i.id, i.name) for i in institutions]
        if not fixed:
            choices = [(0, _l("Elsewhere (not a listed institution)"))] + choices
        self.institution_id.choices = choices
        if not self.token.data or not _TOKEN.fullmatch(self.token.data):
            self.token.data = secrets.token_urlsafe(16)


class ReasonForm(WebForm):
    """A correction or a revocation: the reason is required and kept."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])


class ExportForm(WebForm):
    """What to export, in which format; sent by POST so no filter ends up in a URL."""

    format = SelectField(_l("File format"),
                         choices=lambda: [(k, cls.label) for k, cls in EXPORTERS.items()])
    shape = SelectField(_l("Rows"), choices=lambda: [(k.value, v) for k, v in
                                                     EXPORT_SHAPE_LABELS.items()])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    # Not limited to the choices: asking for an institution out of scope is a 403 from the
    # operation, not a form error.
    institution_id = SelectField(_l("Training institution"), coerce=int, validate_choice=False)
    prefecture = SelectField(_l("Prefecture"), choices=lambda: [("", _l("All"))] + list(
        PREFECTURES.items()))
    course_id = SelectField(_l("Course"), coerce=int)
    training_type = SelectField(_l("Training type"),
                                choices=lambda: [("", _l("All"))] + _training_types())
    skill_level = SelectField(_l("Skill level"), choices=lambda: _levels(_l("All")))
    target_group = SelectField(_l("Target group"), choices=lambda: [("", _l("All"))] + [
        (k.value, v) for k, v in TARGET_GROUP_LABELS.items()])
    include_full_ids = BooleanField(
        _l("Include full ID numbers"),
        description=_l("Only for systems that need them (social security, subsidies). "
                       "The export is recorded in the audit log either way."))

    def prepare(self, institutions: list, courses: list, *, regional: bool) -> None:
        """Offer the institutions and courses in the admin's scope."""
        self.institution_id.choices = ([(0, _l("All"))] if regional else []) + [
            (i.id, i.name) for i in institutions]
        self.course_id.choices = [(0, _l("All"))] + [(c.id, f"{c.code} · {c.title}")
                                                     for c in courses]
        if not regional:
            del self.include_full_ids


class VerifyUploadForm(WebForm):
    """Anyone may upload a certificate PDF to check its signature."""

    file = FileField(_l("Certificate PDF"), validators=[FileRequired()])


class SerialForm(WebForm):
    """Look a certificate up by its number."""

    class Meta:
        csrf = False  # a lookup by GET changes nothing

    serial = StringField(_l("Certificate number"), validators=[DataRequired(), Length(max=40)])

"""Forms for registration, login, profile, passwords and administration."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from lms.config import LOCALES
from lms.core.forms import WebForm
from lms.core.i18n import NATIVE_NAMES
from lms.core.security import InvalidResidentId, validate_resident_id
from lms.users.models import INSTITUTION_KIND_LABELS, PREFECTURES, ROLE_LABELS
from lms.users.util import parse_contact

PASSWORD_MIN = 8
PASSWORD_MAX = 128


def _locale_choices() -> list[tuple[str, str]]:
    return [(code, NATIVE_NAMES[code]) for code in LOCALES]


def _check_contact(_form: FlaskForm, field: StringField) -> None:
    try:
        parse_contact(field.data or "")
    except ValueError as exc:
        raise ValidationError(exc.args[0]) from None


def _check_resident_id(_form: FlaskForm, field: StringField) -> None:
    if field.data:
        try:
            field.data = validate_resident_id(field.data)
        except InvalidResidentId as exc:
            raise ValidationError(exc.message) from None


def _password_field(label: str) -> PasswordField:
    return PasswordField(label, validators=[
        DataRequired(),
        Length(min=PASSWORD_MIN, max=PASSWORD_MAX,
               message=_l("A password has %(min)d to %(max)d characters.")),
    ])


class RegistrationForm(WebForm):
    real_name = StringField(
        _l("Real name"), validators=[DataRequired(), Length(max=100)],
        description=_l("As on your ID card; it appears on your certificates."))
    contact = StringField(
        _l("Mobile phone number or email"), validators=[DataRequired(), Length(max=254),
                                                        _check_contact])
    password = _password_field(_l("Password"))
    confirm = PasswordField(_l("Repeat the password"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])
    locale = SelectField(_l("Language"), choices=_locale_choices)
    resident_id = StringField(
        _l("Resident ID number (optional)"), validators=[Optional(), Length(max=30),
                                                         _check_resident_id],
        description=_l("Needed for subsidised training. It is stored encrypted and shown masked."))


class LoginForm(WebForm):
    contact = StringField(_l("Mobile phone number or email"),
                          validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)])
    remember = BooleanField(_l("Keep me logged in on this device"))


class ProfileForm(WebForm):
    real_name = StringField(_l("Real name"), validators=[DataRequired(), Length(max=100)])
    locale = SelectField(_l("Language"), choices=_locale_choices)
    resident_id = StringField(
        _l("Resident ID number"), validators=[Optional(), Length(max=30), _check_resident_id],
        description=_l("It can be entered once; ask an administrator to correct it."))


class PasswordChangeForm(WebForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(),
                                                               Length(max=PASSWORD_MAX)])
    password = _password_field(_l("New password"))
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])


class PasswordResetForm(WebForm):
    """An administrator gives an account a new password."""

    password = _password_field(_l("New password"))
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])


class InstitutionForm(WebForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)],
                       description=_l("A short unique code, e.g. LS-TBASE-01."))
    name_bo = StringField(_l("Name in Tibetan"), validators=[Optional(), Length(max=200)])
    name_zh = StringField(_l("Name in Chinese"), validators=[Optional(), Length(max=200)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), Length(max=200)])
    kind = SelectField(_l("Type"), choices=lambda: [(k.value, v) for k, v in
                                                    INSTITUTION_KIND_LABELS.items()])
    prefecture = SelectField(_l("Prefecture"), choices=lambda: list(PREFECTURES.items()))
    county_bo = StringField(_l("County in Tibetan"), validators=[Optional(), Length(max=100)])
    county_zh = StringField(_l("County in Chinese"), validators=[Optional(), Length(max=100)])
    county_en = StringField(_l("County in English"), validators=[Optional(), Length(max=100)])
    subsidy_approved = BooleanField(_l("Approved for government-subsidised training"))
    is_active = BooleanField(_l("Active"), default=True)

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if not (self.name_bo.data or self.name_zh.data or self.name_en.data):
            self.name_bo.errors = [*self.name_bo.errors,
                                   _l("Give the name in at least one language.")]
            return False
        return ok


class StaffForm(WebForm):
    """An administrator creates an account for an instructor or another administrator."""

    real_name = StringField(_l("Real name"), validators=[DataRequired(), Length(max=100)])
    contact = StringField(_l("Mobile phone number or email"),
                          validators=[DataRequired(), Length(max=254), _check_contact])
    role = SelectField(_l("Role"))
    institution_id = SelectField(_l("Institution"), coerce=int)
    password = _password_field(_l("First password"))
    locale = SelectField(_l("Language"), choices=_locale_choices)

    def set_choices(self, roles, institutions) -> None:
        self.role.choices = [(r.value, ROLE_LABELS[r]) for r in roles]
        self.institution_id.choices = [(0, _l("None"))] + [(i.id, i.name) for i in institutions]

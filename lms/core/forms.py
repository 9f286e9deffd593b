"""Form pieces every domain uses: buttons, safe decimals, fields per content language."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from lms.core.i18n import html_lang

LANG_LABELS = {"bo": _l("Tibetan"), "zh": _l("Chinese"), "en": _l("English")}


class EmptyForm(FlaskForm):
    """A form with only its CSRF token, for buttons (publish, enrol, withdraw ...)."""


class FiniteDecimalField(DecimalField):
    """A decimal that refuses NaN and infinities (``sNaN`` would crash range checks)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if isinstance(self.data, Decimal) and not self.data.is_finite():
            self.data = None
            raise ValueError(_l("Not a valid decimal value."))


def form_values(form: FlaskForm) -> dict[str, Any]:
    """The form's data by field name, without its CSRF token (to pass to an operation)."""
    return {name: field.data for name, field in form._fields.items() if name != "csrf_token"}


def localized(name: str, label: Any, *, area: bool = False, max_length: int = 200):
    """Class decorator adding ``<name>_bo``, ``<name>_zh`` and ``<name>_en`` fields."""
    field_cls = TextAreaField if area else StringField

    def decorator(cls: type[FlaskForm]) -> type[FlaskForm]:
        for lang, lang_label in LANG_LABELS.items():
            setattr(cls, f"{name}_{lang}", field_cls(
                _l("%(field)s (%(language)s)", field=label, language=lang_label),
                validators=[Optional(), Length(max=max_length)],
                render_kw={"lang": html_lang(lang)}))
        return cls

    return decorator

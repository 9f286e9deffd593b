"""Form pieces every domain uses: buttons, safe decimals, fields per content language."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

from flask import g, request
from flask_babel import get_translations, gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField as _FileField
from flask_wtf.form import _Auto  # Flask-WTF's marker for "read the request"
from werkzeug.datastructures import CombinedMultiDict
from wtforms import DecimalField, PasswordField, StringField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import FileInput

from lms.core.i18n import ascii_digits, html_lang

LANG_LABELS = {"bo": _l("Tibetan"), "zh": _l("Chinese"), "en": _l("English")}


class WebForm(FlaskForm):
    """The base of Yonten's forms: they read the posted form fields, and nothing else.

    Flask-WTF would take a JSON body for the form, and JSON that is not an
    object (a list, a string, something nested thousands deep) breaks it
    before any field is read; and a form posted with no fields at all would
    keep its defaults, leaving a multiple choice ``None`` instead of empty.
    Here a post is its fields, however few.
    """

    class Meta:
        def get_translations(self, form: FlaskForm) -> _CatalogueTranslations:
            return _CATALOGUE

        def bind_field(self, form: FlaskForm, unbound_field: Any, options: dict) -> Any:
            # Text is stored NFC-normalised (lms.core.i18n.normalize_text), and some Tibetan
            # letters take two code points then: length limits must count what is stored.
            cls = unbound_field.field_class
            if issubclass(cls, StringField) and not issubclass(cls, PasswordField):
                filters = unbound_field.kwargs.get("filters") or ()
                options = {**options, "filters": (_nfc, *filters)}
            return unbound_field.bind(form=form, **options)

        def wrap_formdata(self, form: FlaskForm, formdata: Any) -> Any:
            if formdata is _Auto and form.is_submitted():
                return CombinedMultiDict((request.files, request.form)) if request.files \
                    else request.form
            return super().wrap_formdata(form, formdata)


def _nfc(value: Any) -> Any:
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


class _PageLabelledFileInput(FileInput):
    """A file input that asks its page for ``js/file-picker.js``: a browser labels the
    input in its own language ("Choose File"), the script in the page's."""

    def __call__(self, field: Any, **kwargs: Any) -> Any:
        g.lms_file_inputs = True  # web/base.html adds the script
        return super().__call__(field, **kwargs)


class FileField(_FileField):
    """Flask-WTF's file field, its input labelled in the page's language."""

    widget = _PageLabelledFileInput()


class _CatalogueTranslations:
    """WTForms' own messages ("This field is required.") read from Yonten's catalogues:
    WTForms ships no Tibetan. They are marked for extraction in ``_wtforms_messages``."""

    def gettext(self, string: str) -> str:
        return get_translations().gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ngettext(singular, plural, n)


_CATALOGUE = _CatalogueTranslations()


def _wtforms_messages() -> None:  # never called: it marks the messages for pybabel
    gettext("This field is required.")
    gettext("Invalid input.")
    gettext("Invalid email address.")
    gettext("Not a valid integer value.")
    gettext("Not a valid date value.")
    gettext("Not a valid datetime value.")
    gettext("Not a valid choice.")
    gettext("Invalid Choice: could not coerce.")
    gettext("Invalid choice(s): one or more data inputs could not be coerced.")
    ngettext("'%(value)s' is not a valid choice for this field.",
             "'%(value)s' are not valid choices for this field.", 1)
    gettext("Number must be at least %(min)s.")
    gettext("Number must be at most %(max)s.")
    gettext("Number must be between %(min)s and %(max)s.")
    gettext("Field must be between %(min)d and %(max)d characters long.")
    ngettext("Field must be at least %(min)d character long.",
             "Field must be at least %(min)d characters long.", 1)
    ngettext("Field cannot be longer than %(max)d character.",
             "Field cannot be longer than %(max)d characters.", 1)
    ngettext("Field must be exactly %(max)d character long.",
             "Field must be exactly %(max)d characters long.", 1)


class EmptyForm(WebForm):
    """A form with only its CSRF token, for buttons (publish, enrol, withdraw ...)."""


class FiniteDecimalField(DecimalField):
    """A decimal as people type it (see ``typed_number``): ``༡.༥`` and ``１．５`` are 1.5;
    NaN, infinities (``sNaN`` would crash range checks), exponents and ``1_0`` are refused."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        try:
            self.data = typed_number(valuelist[0])
        except ValueError:
            self.data = None
            raise ValueError(_l("Not a valid decimal value.")) from None


_TYPED_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def typed_number(raw: Any) -> Decimal:
    """A number as a person types it, in any script's digits (``༡.༥``, ``１.５``, ``1.5``);
    a ``Decimal`` already read is taken as it is, if finite.

    Anything else raises ``ValueError``: NaN, infinities, exponents, ``1_0``,
    or more than 20 characters.
    """
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise ValueError(f"not a finite number: {raw!r}")
        return raw
    text = ascii_digits(unicodedata.normalize("NFKC", str(raw).strip()))
    if len(text) > 20 or not _TYPED_NUMBER.fullmatch(text):
        raise ValueError(f"not a number: {raw!r}")
    return Decimal(text)


def form_values(form: FlaskForm) -> dict[str, Any]:
    """The form's data by field name, without its CSRF token (to pass to an operation)."""
    return {name: field.data for name, field in form._fields.items() if name != "csrf_token"}


def in_language(label: Any, lang: str) -> Any:
    """A field's label naming its content language: "Title (Tibetan)", 藏文标题."""
    return _l("%(field)s (%(language)s)", field=label, language=LANG_LABELS[lang])


def localized(name: str, label: Any, *, area: bool = False, max_length: int = 200):
    """Class decorator adding ``<name>_bo``, ``<name>_zh`` and ``<name>_en`` fields."""
    field_cls = TextAreaField if area else StringField

    def decorator(cls: type[FlaskForm]) -> type[FlaskForm]:
        for lang in LANG_LABELS:
            setattr(cls, f"{name}_{lang}", field_cls(
                in_language(label, lang),
                validators=[Optional(), Length(max=max_length)],
                render_kw={"lang": html_lang(lang)}))
        return cls

    return decorator

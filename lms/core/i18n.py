"""Interface-language choice and fallback for multilingual content.

The interface speaks ``bo``, ``zh_Hans`` or ``en``. Content (course titles,
lessons, institution names) is authored in one or more of ``bo``, ``zh``,
``en`` and stored in one column per language (``title_bo``, ``title_zh``,
``title_en``); display falls back along the reader's preference.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import timedelta, timezone
from functools import reduce
from typing import Any

from flask import current_app, g, has_request_context, request
from flask_babel import get_locale, gettext
from flask_login import current_user

from lms.config import LOCALES

#: Learners and institutions are in the Tibet Autonomous Region, on Beijing time (UTC+8);
#: timestamps are stored in UTC and shown, dated and grouped by month in this zone.
DISPLAY_TZ = timezone(timedelta(hours=8), "CST")

LANG_COOKIE = "lms_lang"
#: A cookie for one browser visit: its language was chosen (a login saves it to the account).
CHOSEN_LANGUAGE = "lms_lang_chosen"
#: Content language codes, in column-suffix form.
CONTENT_LANGS = ("bo", "zh", "en")
#: For each interface language, the order in which content languages are tried.
FALLBACK = {
    "bo": ("bo", "zh", "en"),
    "zh_Hans": ("zh", "bo", "en"),
    "en": ("en", "zh", "bo"),
}
#: Names of the languages in themselves, for switchers and content badges.
NATIVE_NAMES = {"bo": "བོད་ཡིག", "zh_Hans": "中文", "zh": "中文", "en": "English"}


def locale_from_tag(tag: str) -> str | None:
    """Map a browser language tag (``zh-CN``, ``bo``, ``en-GB``) to an interface locale."""
    primary = tag.strip().lower().replace("_", "-").split("-")[0]
    return {"bo": "bo", "zh": "zh_Hans", "en": "en"}.get(primary)


def select_locale() -> str:
    """The user's setting, then the switcher cookie, then the browser, then the default."""
    if has_request_context():
        if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
            return current_user.locale
        cookie = request.cookies.get(LANG_COOKIE)
        if cookie in LOCALES:
            return cookie
        for tag, _quality in request.accept_languages:
            locale = locale_from_tag(tag)
            if locale:
                return locale
    return current_app.config["DEFAULT_LOCALE"]


def current_locale() -> str:
    """The active interface locale as a string (``bo``, ``zh_Hans`` or ``en``)."""
    if has_request_context():
        cached = g.get("lms_locale")
        if cached:
            return cached
    locale = get_locale()
    if locale is None:
        value = current_app.config["DEFAULT_LOCALE"]
    else:
        value = "zh_Hans" if locale.language == "zh" else locale.language
    if has_request_context():
        g.lms_locale = value
    return value


def html_lang(lang: str) -> str:
    """The BCP 47 tag for an interface or content language (for ``lang=`` attributes)."""
    return {"zh_Hans": "zh-Hans", "zh": "zh-Hans"}.get(lang, lang)


def localized(obj: Any, field: str, locale: str | None = None) -> str:
    """``obj.<field>_<lang>`` in the first language the reader can use that is filled in."""
    value, _lang = localized_with_lang(obj, field, locale)
    return value


def localized_with_lang(obj: Any, field: str, locale: str | None = None) -> tuple[str, str]:
    """Like ``localized`` but also says which content language was used."""
    order = FALLBACK.get(locale or current_locale(), CONTENT_LANGS)
    for lang in order:
        value = getattr(obj, f"{field}_{lang}", None)
        if value:
            return value, lang
    return "", order[0]


def snapshot(obj: Any, field: str) -> dict[str, str]:
    """``field`` in every content language it is filled in, to keep with a record."""
    return {lang: value for lang in CONTENT_LANGS if (value := getattr(obj, f"{field}_{lang}"))}


def from_snapshot(value: Any, locale: str | None = None) -> str:
    """A :func:`snapshot` in the reader's language; older records kept plain text."""
    if isinstance(value, dict):
        for lang in FALLBACK.get(locale or current_locale(), CONTENT_LANGS):
            if value.get(lang):
                return str(value[lang])
        return ""
    return "" if value is None else str(value)


def content_languages(obj: Any, field: str) -> list[str]:
    """The content languages in which ``field`` is filled in."""
    return [lang for lang in CONTENT_LANGS if getattr(obj, f"{field}_{lang}", None)]


def set_localized(obj: Any, field: str, values: dict[str, Any]) -> None:
    """Copy ``<field>_bo/_zh/_en`` from submitted values, normalised; blanks become None."""
    for lang in CONTENT_LANGS:
        setattr(obj, f"{field}_{lang}", normalize_text(values.get(f"{field}_{lang}")) or None)


def normalize_text(value: str | None) -> str | None:
    """NFC-normalise and trim user text (Tibetan stacks typed differently become equal)."""
    if value is None:
        return None
    return unicodedata.normalize("NFC", value).strip()


def ascii_digits(value: str) -> str:
    """Text with every script's digits as ASCII ones (Tibetan ༡༢, full-width １２), so
    numbers and codes are stored one way whatever keyboard typed them."""
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in value)


_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def one_line(value: str | None) -> str:
    """User text meant for one line (a title, a file's name): normalised, and control
    characters (line breaks, tabs, NUL) turned into spaces, so it can go in a header."""
    return _CONTROLS.sub(" ", normalize_text(value or "") or "").strip()


def guess_language(text: str) -> str:
    """The content language a text is written in, judged by its script."""
    tibetan = sum(1 for c in text if "\u0f00" <= c <= "\u0fff")
    chinese = sum(1 for c in text if "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf")
    if not tibetan and not chinese:
        return "en"
    return "bo" if tibetan >= chinese else "zh"


#: Marks that end a Tibetan phrase: shad, nyis shad, rin chen spungs shad, gter tsheg.
TIBETAN_ENDS = "\u0f0d\u0f0e\u0f11\u0f14"


def end_phrase(text: Any) -> str:
    """A Tibetan phrase with the ending the glossary asks for, ready for what follows.

    A shad ends it, except after ག or ཀ, which take none; after ང a tsheg
    comes before the shad (རྫོང་།). A phrase that already ends with a shad
    keeps it, so a label never ends with two.
    """
    text = str(text).rstrip()
    if not text or text[-1] in TIBETAN_ENDS:
        return text
    base = text.rstrip("\u0f0b")  # a trailing tsheg
    if not base:
        return text
    if base[-1] in "\u0f42\u0f40":  # ག ཀ
        return base
    return base + ("\u0f0b\u0f0d" if base[-1] == "\u0f44" else "\u0f0d")  # ང་། or །


def _is_tibetan(text: str) -> bool:
    text = text.rstrip()
    return bool(text) and "\u0f00" <= text[-1] <= "\u0fff"


def _reading_tibetan() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "bo"


def _before_more(text: Any, latin_mark: str) -> str:
    # In Tibetan the phrase's own ending separates it from what follows (the format
    # then puts only a space); a label in another script gets ``latin_mark``.
    text = str(text)
    if not _reading_tibetan():
        return text
    return end_phrase(text) if _is_tibetan(text) else text.rstrip() + latin_mark


def labelled(label: Any, value: Any) -> str:
    """``label: value`` with the reader's punctuation (Chinese 标签：值, Tibetan ཁ་བྱང་། ཐང་)."""
    return gettext("%(label)s: %(value)s", label=_before_more(label, ":"), value=value)


def listed(items: Iterable[Any]) -> str:
    """Items one after another with the reader's separator (Chinese 甲、乙; Tibetan: each
    phrase's own ending, then a space)."""
    texts = [str(item) for item in items]
    if not texts:
        return ""
    return reduce(lambda first, second: gettext("%(first)s, %(second)s",
                                                first=_before_more(first, ","), second=second),
                  texts)

"""Typed answers: short answer, numerical, essay."""

from __future__ import annotations

import unicodedata
from typing import ClassVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from lms.assessment import formats
from lms.assessment.models import Question, QuestionOption, text_in
from lms.assessment.questions.base import (
    MAX_ESSAY_TEXT,
    MAX_SHORT_TEXT,
    QuestionType,
    answer_matches,
    clamp,
    field_name,
    format_number,
    parse_number,
    register_type,
)
from lms.core.errors import UserError


class _Typed(QuestionType):
    max_length: ClassVar[int] = MAX_SHORT_TEXT

    def layout(self, question, rng, shuffle):
        return {}

    def read(self, question, layout, form):
        text = unicodedata.normalize("NFC", form.get(field_name(question), "")).strip()
        if len(text) > self.max_length:
            raise UserError(_l("This answer is too long (at most %(n)s characters).",
                               n=self.max_length))
        return {"text": text} if text else None

    def response_text(self, question, layout, response, lang):
        return response["text"] if response else ""

    def _best(self, question: Question, response: dict | None) -> QuestionOption | None:
        raise NotImplementedError

    def score(self, question, layout, response):
        best = self._best(question, response)
        return clamp(best.fraction) if best else 0.0

    def feedback(self, question, layout, response, lang):
        best = self._best(question, response)
        return [text_in(best, "feedback", lang)] if best and best.texts("feedback") else []


@register_type
class ShortAnswer(_Typed):
    """A word or phrase, compared case-insensitively and NFC-normalised; ``*`` is a wildcard."""

    key = formats.SHORT_ANSWER
    label = _l("Short answer")

    def _best(self, question, response):
        if not response:
            return None
        matching = [o for o in question.options
                    if any(answer_matches(text, response["text"]) for text in o.texts())]
        return max(matching, key=lambda o: o.fraction, default=None)

    def correct_answer(self, question, layout, lang):
        return " / ".join(text_in(o, "text", lang) for o in question.options if o.fraction == 1)

    def problems(self, question):
        return [] if any(o.fraction == 1 for o in question.options) else [
            _("One accepted answer must be worth 100%.")]


def number_matches(option: QuestionOption, number: float) -> bool:
    """Inclusive: a range includes its ends, a tolerance its edges."""
    if option.range_min is not None and option.range_max is not None:
        return option.range_min <= number <= option.range_max
    if option.value is not None:
        slack = 1e-9 * max(1.0, abs(option.value))
        return abs(number - option.value) <= (option.tolerance or 0.0) + slack
    return False


def is_other_answer(option: QuestionOption) -> bool:
    """A numerical option without a number or range is the "any other answer" entry."""
    return option.value is None and option.range_min is None and option.range_max is None


@register_type
class Numerical(_Typed):
    """A number: exact with a tolerance, or in an inclusive range; alternatives earn part marks."""

    key = formats.NUMERICAL
    label = _l("Numerical")
    max_length = 100

    def _best(self, question, response):
        number = parse_number(response["text"]) if response else None
        if number is None:
            return None
        matching = [o for o in question.options if number_matches(o, number)]
        best = max(matching, key=lambda o: o.fraction, default=None)
        return best or next((o for o in question.options if is_other_answer(o)), None)

    def describe(self, option: QuestionOption) -> str:
        if option.range_min is not None and option.range_max is not None:
            return f"{format_number(option.range_min)}–{format_number(option.range_max)}"
        if option.tolerance:
            return f"{format_number(option.value)} ± {format_number(option.tolerance)}"
        return format_number(option.value)

    def correct_answer(self, question, layout, lang):
        return " / ".join(self.describe(o) for o in question.options
                          if o.fraction == 1 and not is_other_answer(o))

    def problems(self, question):
        return [] if any(o.fraction == 1 and not is_other_answer(o) for o in question.options) \
            else [_("One number must be worth 100%.")]


@register_type
class Essay(_Typed):
    """A written answer the instructor reads and scores."""

    key = formats.ESSAY
    label = _l("Essay")
    graded_by_hand = True
    max_length = MAX_ESSAY_TEXT

    def score(self, question, layout, response):
        return None

    def feedback(self, question, layout, response, lang):
        return []

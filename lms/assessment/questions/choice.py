"""Choice questions: single choice, multiple response, true/false."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from lms.assessment import formats
from lms.assessment.models import Question, QuestionOption, text_in
from lms.assessment.questions.base import (
    QuestionType,
    clamp,
    field_name,
    refused,
    register_type,
)
from lms.core.i18n import listed


class _Choice(QuestionType):
    def _chosen(self, question: Question, values: list[str]) -> list[int]:
        ids = {str(option.id): option.id for option in question.options}
        if any(value not in ids for value in values):
            raise refused()
        return sorted({ids[value] for value in values})

    def _options(self, question: Question, ids: list[int]) -> list[QuestionOption]:
        return [option for option in question.options if option.id in ids]

    def _ids(self, response: dict | None) -> list[int]:
        raise NotImplementedError

    def response_text(self, question, layout, response, lang):
        return listed(text_in(o, "text", lang) for o in self._options(
            question, self._ids(response)))

    def feedback(self, question, layout, response, lang):
        return [text_in(o, "feedback", lang) for o in self._options(question, self._ids(response))
                if o.texts("feedback")]


@register_type
class SingleChoice(_Choice):
    """One answer from a list; each option earns its own share (the best one all of it)."""

    key = formats.SINGLE_CHOICE
    label = _l("Single choice")

    def read(self, question, layout, form):
        value = form.get(field_name(question), "")
        return {"option": self._chosen(question, [value])[0]} if value else None

    def _ids(self, response):
        return [response["option"]] if response else []

    def score(self, question, layout, response):
        return clamp(sum(o.fraction for o in self._options(question, self._ids(response))))

    def correct_answer(self, question, layout, lang):
        best = max((o.fraction for o in question.options), default=0)
        return listed(text_in(o, "text", lang) for o in self.ordered_options(question, layout)
                         if o.fraction == best)

    def problems(self, question):
        if len(question.options) < 2:
            return [_("A choice question needs at least two answers.")]
        if max(o.fraction for o in question.options) != 1:
            return [_("One answer must be worth 100%.")]
        return []


@register_type
class MultipleResponse(_Choice):
    """Several answers may be right; wrong ones may take points away; the total floors at 0."""

    key = formats.MULTIPLE_RESPONSE
    label = _l("Multiple response")

    def read(self, question, layout, form):
        values = [v for v in form.getlist(field_name(question)) if v]
        return {"options": self._chosen(question, values)} if values else None

    def _ids(self, response):
        return list(response["options"]) if response else []

    def score(self, question, layout, response):
        return clamp(sum(o.fraction for o in self._options(question, self._ids(response))))

    def correct_answer(self, question, layout, lang):
        return listed(text_in(o, "text", lang) for o in self.ordered_options(question, layout)
                         if o.fraction > 0)

    def problems(self, question):
        total = round(sum(o.fraction for o in question.options if o.fraction > 0), 2)
        return [] if total == 1 else [_("The positive weights must add up to 100%.")]


@register_type
class TrueFalse(QuestionType):
    """A statement the learner marks true or false."""

    key = formats.TRUE_FALSE
    label = _l("True/false")

    def layout(self, question, rng, shuffle):
        return {}

    def _option(self, question: Question, value: bool) -> QuestionOption | None:
        return next((o for o in question.options if (o.value == 1) == value), None)

    def read(self, question, layout, form):
        value = form.get(field_name(question), "")
        if not value:
            return None
        if value not in ("true", "false"):
            raise refused()
        return {"value": value == "true"}

    def score(self, question, layout, response):
        if not response:
            return 0.0
        option = self._option(question, response["value"])
        return clamp(option.fraction) if option else 0.0

    def correct_answer(self, question, layout, lang):
        right = next((o for o in question.options if o.fraction == 1), None)
        return "" if right is None else (_("True") if right.value == 1 else _("False"))

    def response_text(self, question, layout, response, lang):
        return "" if not response else (_("True") if response["value"] else _("False"))

    def feedback(self, question, layout, response, lang):
        option = self._option(question, response["value"]) if response else None
        return [text_in(option, "feedback", lang)] if option and option.texts("feedback") else []

    def problems(self, question):
        return [] if any(o.fraction == 1 for o in question.options) else [
            _("Mark the statement true or false.")]

"""Matching questions, and descriptions (shown among the questions, not scored)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from lms.assessment import formats
from lms.assessment.models import Question, QuestionOption, text_in
from lms.assessment.questions.base import (
    QuestionType,
    field_name,
    normalise_answer,
    refused,
    register_type,
)
from lms.core.i18n import listed


@register_type
class Matching(QuestionType):
    """Items matched to answers from one shuffled list (which may hold distractors)."""

    key = formats.MATCHING
    label = _l("Matching")

    @staticmethod
    def _match_key(option: QuestionOption) -> tuple[str, ...]:
        return tuple(normalise_answer(t) for t in option.texts("match"))

    def _canonical(self, question: Question) -> dict[int, int]:
        """Each option's id → the id of the first option with the same match text."""
        first: dict[tuple[str, ...], int] = {}
        return {o.id: first.setdefault(self._match_key(o), o.id) for o in question.options}

    def layout(self, question, rng, shuffle):
        items = [o.id for o in question.options if o.texts()]
        choices = sorted(set(self._canonical(question).values()))
        if shuffle:
            rng.shuffle(items)
        rng.shuffle(choices)  # always: the order must not give the pairs away
        return {"items": items, "choices": choices}

    def items(self, question: Question, layout: dict[str, Any]) -> list[QuestionOption]:
        by_id = {o.id: o for o in question.options}
        return [by_id[i] for i in layout.get("items", []) if i in by_id]

    def choices(self, question: Question, layout: dict[str, Any]) -> list[QuestionOption]:
        by_id = {o.id: o for o in question.options}
        return [by_id[i] for i in layout.get("choices", []) if i in by_id]

    def ordered_options(self, question, layout):
        return self.items(question, layout)

    def read(self, question, layout, form):
        prefix = field_name(question) + "."
        items = {str(i) for i in layout.get("items", [])}
        pairs: dict[str, int] = {}
        for key in form:
            if not key.startswith(prefix):
                continue
            item, value = key[len(prefix):], form.get(key, "")
            if item not in items:
                raise refused()
            if not value:
                continue
            if not (value.isascii() and value.isdigit() and len(value) < 6) \
                    or int(value) >= len(layout.get("choices", [])):
                raise refused()
            pairs[item] = int(value)
        return {"pairs": pairs} if pairs else None

    def _chosen(self, layout: dict, response: dict | None) -> dict[int, int]:
        """Item id → canonical option id the learner matched it with."""
        choices = layout.get("choices", [])
        pairs = (response or {}).get("pairs", {})
        return {int(item): choices[index] for item, index in pairs.items()
                if 0 <= index < len(choices)}

    def score(self, question, layout, response):
        items = layout.get("items", [])
        if not items:
            return 0.0
        canonical = self._canonical(question)
        chosen = self._chosen(layout, response)
        right = sum(1 for item in items if chosen.get(item) == canonical.get(item))
        return right / len(items)

    def correct_answer(self, question, layout, lang):
        return listed(f"{text_in(o, 'text', lang)} → {text_in(o, 'match', lang)}"
                         for o in self.items(question, layout))

    def response_text(self, question, layout, response, lang):
        by_id = {o.id: o for o in question.options}
        chosen = self._chosen(layout, response)
        return listed(
            f"{text_in(o, 'text', lang)} → {text_in(by_id[chosen[o.id]], 'match', lang)}"
            for o in self.items(question, layout) if o.id in chosen)

    def problems(self, question):
        return [] if sum(1 for o in question.options if o.texts()) >= 2 else [
            _("A matching question needs at least two pairs.")]


@register_type
class Description(QuestionType):
    """Text shown among the questions (a picture, a situation); not a question, not scored."""

    key = formats.DESCRIPTION
    label = _l("Description")
    scored = False

    def layout(self, question, rng, shuffle):
        return {}

    def widget(self, question, layout, response, lang, *, disabled=False):
        return Markup("")

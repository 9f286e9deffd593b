"""The question-type interface, its registry, and how answers are compared.

A type knows how to lay a question out for one attempt (the shuffled order of
its options), how to render the answer widget, how to read and check what a
learner posted, how to score it (a share of the question's mark, 0..1, or None
when a person grades it) and how to put the correct answer into words for the
review. Nothing a widget renders says which answer is right.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from typing import Any, ClassVar

from flask import render_template
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from lms.assessment.models import Question, QuestionOption
from lms.core.errors import UserError
from lms.core.markup import render_markdown, sanitize_html

MAX_SHORT_TEXT = 500
MAX_ESSAY_TEXT = 20_000
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
#: Tibetan marks a learner may or may not type at the end of a word: tsheg and shads.
_TRAILING_MARKS = "\u0f0b\u0f0d\u0f0e\u0f14 "


def field_name(question: Question) -> str:
    """Name of a question's form field (matching items add ``.<option id>``)."""
    return f"q{question.id}"


def normalise_answer(text: str) -> str:
    """Text as compared: NFC (Tibetan stacks typed in any order agree), case-folded,
    spaces collapsed, a trailing tsheg or shad dropped."""
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    return " ".join(text.split()).rstrip(_TRAILING_MARKS)


def answer_matches(accepted: str, given: str) -> bool:
    """Whether ``given`` matches an accepted answer, where ``*`` stands for any text.

    A linear glob match (no regular expression, so no backtracking): the text
    before the first ``*`` must start the answer, the text after the last must
    end it, and the pieces between must appear in order in what is left.
    """
    pattern, text = normalise_answer(accepted), normalise_answer(given)
    if "*" not in pattern:
        return pattern == text
    first, *middle, last = pattern.split("*")
    if len(first) + len(last) > len(text) or not text.startswith(first) \
            or not text.endswith(last):
        return False
    position, end = len(first), len(text) - len(last)
    for piece in middle:
        found = text.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True


def parse_number(text: str) -> float | None:
    """A number as a learner may type it (full-width digits, a decimal comma), or None."""
    value = unicodedata.normalize("NFKC", text).strip().replace("\u2212", "-")
    value = "".join(value.split())
    if value.count(",") == 1 and "." not in value:
        value = value.replace(",", ".")
    if not _NUMBER.fullmatch(value):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def format_number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else f"{value:g}"


def clamp(value: float) -> float:
    """A share of the mark, kept between 0 and 1 (wrong choices never make it negative)."""
    return min(1.0, max(0.0, value))


def refused() -> UserError:
    """The error for a posted value that is not one of the question's options."""
    return UserError(_l("This answer is not one of the question's options."))


class QuestionType:
    """Base of the question types: how a question is shown, answered, scored and reviewed."""

    key: ClassVar[str]
    label: ClassVar[LazyString]
    #: Shows in quizzes but earns no points (a description).
    scored: ClassVar[bool] = True
    #: An instructor scores the answer (an essay).
    graded_by_hand: ClassVar[bool] = False

    @property
    def template(self) -> str:
        return f"assessment/qtypes/{self.key}.html"

    def layout(self, question: Question, rng: random.Random, shuffle: bool) -> dict[str, Any]:
        """How the question appears in one attempt; kept so a reload shows the same order."""
        ids = [option.id for option in question.options]
        if shuffle:
            rng.shuffle(ids)
        return {"order": ids}

    def ordered_options(self, question: Question, layout: dict[str, Any]) -> list[QuestionOption]:
        by_id = {option.id: option for option in question.options}
        return [by_id[i] for i in layout.get("order", []) if i in by_id]

    def widget(self, question: Question, layout: dict[str, Any], response: dict | None,
               lang: str, *, disabled: bool = False) -> Markup:
        """The answer widget: form fields named after the question, never the right answer."""
        return Markup(render_template(  # noqa: S704 (a template, autoescaped)
            self.template, question=question, qtype=self, layout=layout,
            options=self.ordered_options(question, layout), response=response or {},
            lang=lang, name=field_name(question), disabled=disabled))

    def read(self, question: Question, layout: dict[str, Any],
             form: MultiDict) -> dict[str, Any] | None:
        """The answer posted in ``form`` (None if left empty); UserError for a foreign value."""
        return None

    def score(self, question: Question, layout: dict[str, Any],
              response: dict[str, Any] | None) -> float | None:
        """The share of the mark earned, 0..1; None when a person must grade the answer."""
        return None

    def correct_answer(self, question: Question, layout: dict[str, Any], lang: str) -> str:
        """The right answer in words, for the review after submission."""
        return ""

    def response_text(self, question: Question, layout: dict[str, Any],
                      response: dict[str, Any] | None, lang: str) -> str:
        """What the learner answered, in words."""
        return ""

    def feedback(self, question: Question, layout: dict[str, Any],
                 response: dict[str, Any] | None, lang: str) -> list[str]:
        """The feedback written for the answers the learner gave."""
        return []

    def problems(self, question: Question) -> list[str]:
        """Why the question cannot be scored as it stands (checked after an edit)."""
        return []


QUESTION_TYPES: dict[str, QuestionType] = {}


def register_type(cls: type[QuestionType]) -> type[QuestionType]:
    """Class decorator: make ``cls`` available under ``cls.key``."""
    QUESTION_TYPES[cls.key] = cls()
    return cls


def qtype_of(question: Question) -> QuestionType:
    return QUESTION_TYPES[question.qtype]


def type_label(key: str) -> str:
    return str(QUESTION_TYPES[key].label) if key in QUESTION_TYPES else key


def render_text(text: str | None, text_format: str) -> Markup:
    """A question's text as safe HTML: Markdown and HTML through the one sanitiser, else text."""
    if not text:
        return Markup("")
    if text_format == "markdown":
        return render_markdown(text)
    if text_format == "html":
        return Markup(sanitize_html(text))  # noqa: S704 (sanitised)
    return Markup("<p>{}</p>").format(Markup("<br>").join(text.splitlines()))

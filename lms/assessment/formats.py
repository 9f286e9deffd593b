"""Parsed questions shared by the import formats (GIFT, Aiken), independent of the database."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

# Question type keys; the database stores these strings.
SINGLE_CHOICE = "single_choice"
MULTIPLE_RESPONSE = "multiple_response"
TRUE_FALSE = "true_false"
SHORT_ANSWER = "short_answer"
NUMERICAL = "numerical"
MATCHING = "matching"
ESSAY = "essay"
DESCRIPTION = "description"
QTYPES = (
    SINGLE_CHOICE,
    MULTIPLE_RESPONSE,
    TRUE_FALSE,
    SHORT_ANSWER,
    NUMERICAL,
    MATCHING,
    ESSAY,
    DESCRIPTION,
)

TEXT_FORMATS = ("moodle", "markdown", "html", "plain")

#: Largest import accepted by default: 5 MiB.
DEFAULT_MAX_BYTES = 5 * 1024 * 1024

#: Answer text of a numerical question's "any other answer" entry.
ANY_OTHER_ANSWER = "*"

_NEWLINES = re.compile(r"\r\n|\r|\n")
_TAGS = re.compile(r"<[^>]*>")
_NAME_LENGTH = 80


@dataclass
class ParsedAnswer:
    """One answer of a parsed question; which fields matter depends on the question type.

    Choice, true/false and short-answer answers use ``text`` and ``fraction`` (a weight in
    -1..1 rounded to 7 decimals); true/false answers are the texts ``"true"`` and ``"false"``.
    Numerical answers leave ``text`` empty and carry ``value`` with ``tolerance``, or
    ``range_min``..``range_max``; their "any other answer" entry has the text ``"*"``.
    Matching pairs map ``text`` (empty for a distractor) to ``match``.
    """

    text: str
    fraction: float
    feedback: str = ""
    value: float | None = None
    tolerance: float | None = None
    range_min: float | None = None
    range_max: float | None = None
    match: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the answer as JSON-ready data."""
        return {
            "text": self.text,
            "fraction": self.fraction,
            "feedback": self.feedback,
            "value": self.value,
            "tolerance": self.tolerance,
            "range_min": self.range_min,
            "range_max": self.range_max,
            "match": self.match,
        }


@dataclass
class ParsedQuestion:
    """A question read from an import file, before it becomes a bank question.

    ``line`` is where the question starts in the file; it is left out of equality so that
    a question exported and imported again compares equal to the original.
    """

    qtype: str
    name: str
    text: str
    text_format: str = "moodle"
    answers: list[ParsedAnswer] = field(default_factory=list)
    general_feedback: str = ""
    category: str | None = None
    line: int = field(default=0, compare=False)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the question as JSON-ready data."""
        return {
            "qtype": self.qtype,
            "name": self.name,
            "text": self.text,
            "text_format": self.text_format,
            "answers": [answer.to_dict() for answer in self.answers],
            "general_feedback": self.general_feedback,
            "category": self.category,
            "line": self.line,
            "extra": dict(self.extra),
        }


@dataclass(frozen=True)
class ParseError:
    """A problem found while reading an import file; line 0 means the file as a whole."""

    line: int
    message: LazyString

    def __str__(self) -> str:
        return str(_l("Line %(line)s: %(message)s", line=self.line, message=self.message))

    def to_dict(self) -> dict[str, Any]:
        """Return the error as JSON-ready data, translated for the current locale."""
        return {"line": self.line, "message": str(self.message)}


@dataclass
class ParseResult:
    """Everything an import file yielded: the questions that parsed and every error."""

    questions: list[ParsedQuestion] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Return how many questions of each type were found, in the order of ``QTYPES``."""
        found = {qtype: 0 for qtype in QTYPES}
        for question in self.questions:
            found[question.qtype] = found.get(question.qtype, 0) + 1
        return {qtype: count for qtype, count in found.items() if count}

    @property
    def total(self) -> int:
        """Number of questions that parsed."""
        return len(self.questions)

    @property
    def ok(self) -> bool:
        """True when the file had no errors at all."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """Return the whole result as JSON-ready data."""
        return {
            "questions": [question.to_dict() for question in self.questions],
            "errors": [error.to_dict() for error in self.errors],
            "counts": self.counts(),
            "total": self.total,
        }


def read_lines(data: str | bytes, max_bytes: int) -> tuple[list[str], ParseError | None]:
    """Decode an uploaded file into lines, refusing one that is too large or not UTF-8.

    Accepts UTF-8 with or without a byte-order mark, UTF-16 with one (what some Windows
    editors save as "Unicode"), and Windows, Unix or old Mac line endings.
    """
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        return [], ParseError(0, _l(
            "The file is %(size)s bytes; the largest file accepted is %(limit)s bytes.",
            size=size, limit=max_bytes))
    if isinstance(data, bytes):
        try:
            text = _decode(data)
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            return [], ParseError(line, _l(
                "The file is not UTF-8 text. Save it as UTF-8 and import it again."))
    else:
        text = data
    return _NEWLINES.split(text.removeprefix("\ufeff")), None


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def clean_text(text: str) -> str:
    """NFC-normalise and trim text, so Tibetan stacks typed in different orders compare equal."""
    return unicodedata.normalize("NFC", text).strip()


def default_name(text: str, text_format: str = "plain") -> str:
    """Name a question that has none after the start of its text, as Moodle does."""
    if text_format == "html":
        text = _TAGS.sub(" ", text)
    words = " ".join(text.split())
    if len(words) > _NAME_LENGTH:
        words = words[:_NAME_LENGTH - 1].rstrip() + "…"
    return words or str(_l("Question"))

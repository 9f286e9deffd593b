"""Read Moodle GIFT question files (``parse_gift``); ``gift_export`` writes them.

The reader follows Moodle's own qformat_gift: questions are separated by blank lines,
``//`` lines are comments, ``$CATEGORY:`` switches the category of the questions that
follow, and the answers sit in one ``{...}`` block whose content decides the type.
Where Moodle silently guesses, this reader reports an error instead (stray text before
the first ``=``/``~``, a malformed ``%weight%``, a question without a full-credit answer),
so that an instructor sees the mistake before anything is saved. Two small extensions
keep every text writable: ``\\>`` stands for ``>`` (so ``->`` can appear in an answer as
``-\\>``), and a weight after ``=`` in a choice question is honoured rather than kept as text.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from lms.assessment.formats import (
    ANY_OTHER_ANSWER,
    DEFAULT_MAX_BYTES,
    DESCRIPTION,
    ESSAY,
    MATCHING,
    MULTIPLE_RESPONSE,
    NUMERICAL,
    SHORT_ANSWER,
    SINGLE_CHOICE,
    TRUE_FALSE,
    ParsedAnswer,
    ParsedQuestion,
    ParseError,
    ParseResult,
    clean_text,
    default_name,
    read_lines,
)

BLANK = "_____"
CATEGORY_PREFIX = "$CATEGORY:"

_UNESCAPE = {"~": "~", "=": "=", "#": "#", "{": "{", "}": "}", ":": ":", "\\": "\\",
             "n": "\n", ">": ">"}
_ESCAPED_PAIR = re.compile(r"\\(.)", re.S)
FORMAT_TAG = re.compile(r"\[(moodle|html|plain|markdown)\]")
_WEIGHT = re.compile(r"%\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*%")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_CONTEXT = re.compile(r"\$[a-z0-9]+\$/")
_TRUE_FALSE = {"T": True, "TRUE": True, "F": False, "FALSE": False}


class _Invalid(Exception):
    """A problem in one question, pointing at an offset inside its block (None: its start)."""

    def __init__(self, offset: int | None, message: LazyString) -> None:
        super().__init__(str(message))
        self.offset = offset
        self.message = message


class _Block:
    """The lines of one question joined, with escaped pairs masked out for searching.

    ``masked`` has the same length as ``raw``; every escaped pair (``\\x``) is replaced by
    two NULs, so a search in ``masked`` finds only the unescaped control characters and
    the offsets it returns are valid in ``raw``.
    """

    def __init__(self, lines: list[tuple[int, str]]) -> None:
        self.numbers = [number for number, _ in lines]
        self.raw = "\n".join(text for _, text in lines)
        self.masked = _ESCAPED_PAIR.sub("\0\0", self.raw)
        self.starts = []
        offset = 0
        for _, text in lines:
            self.starts.append(offset)
            offset += len(text) + 1

    def line_of(self, offset: int | None) -> int:
        if offset is None:
            return self.numbers[0]
        return self.numbers[bisect.bisect_right(self.starts, offset) - 1]

    def strip(self, start: int, end: int) -> tuple[int, int]:
        while start < end and self.masked[start].isspace():
            start += 1
        while end > start and self.masked[end - 1].isspace():
            end -= 1
        return start, end

    def split(self, start: int, end: int, markers: str) -> list[tuple[str, int, int]]:
        """Cut [start, end) at each unescaped marker; the first piece has marker ''."""
        pieces, marker, begin = [], "", start
        for index in range(start, end):
            if self.masked[index] in markers:
                pieces.append((marker, begin, index))
                marker, begin = self.masked[index], index + 1
        pieces.append((marker, begin, end))
        return pieces

    def cut(self, start: int, end: int, marker: str) -> tuple[str, str]:
        """Split raw [start, end) at the first unescaped marker into (before, after)."""
        index = self.masked.find(marker, start, end)
        if index < 0:
            return self.raw[start:end], ""
        return self.raw[start:index], self.raw[index + len(marker):end]


def parse_gift(data: str | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParseResult:
    """Parse GIFT text into questions and line-numbered errors; never raises on bad input."""
    lines, error = read_lines(data, max_bytes)
    if error is not None:
        return ParseResult([], [error])
    result = ParseResult()
    category: str | None = None
    for block_lines in _blocks(lines):
        while block_lines and block_lines[0][1].startswith(CATEGORY_PREFIX):
            category = _category_path(block_lines[0][1][len(CATEGORY_PREFIX):])
            block_lines = block_lines[1:]
        if not block_lines:
            continue
        block = _Block(block_lines)
        try:
            result.questions.append(_parse_question(block, category))
        except _Invalid as problem:
            result.errors.append(ParseError(block.line_of(problem.offset), problem.message))
    return result


def _blocks(lines: list[str]) -> Iterable[list[tuple[int, str]]]:
    block: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            if block:
                yield block
            block = []
        elif not text.startswith("//"):
            block.append((number, text))
    if block:
        yield block


def _category_path(raw: str) -> str | None:
    # Moodle writes "$course$/top/Path"; the context and the invisible "top" are not ours.
    path = _CONTEXT.sub("", clean_text(raw), count=1)
    if path == "top" or path.startswith("top/"):
        path = path[4:]
    return path.strip() or None


def _unescape(raw: str) -> str:
    return _ESCAPED_PAIR.sub(lambda m: _UNESCAPE.get(m[1], m[0]), raw)


def _formatted(raw: str, default: str) -> tuple[str, str]:
    raw = raw.strip()
    tag = FORMAT_TAG.match(raw)
    if tag:
        return tag[1], clean_text(_unescape(raw[tag.end():]))
    return default, clean_text(_unescape(raw))


def _text(raw: str) -> str:
    return _formatted(raw, "moodle")[1]


def _parse_question(block: _Block, category: str | None) -> ParsedQuestion:
    start, end = 0, len(block.raw)
    name = ""
    if block.masked.startswith("::"):
        close = block.masked.find("::", 2)
        if close < 0:
            raise _Invalid(None, _l("The question title is not closed with ::."))
        name = clean_text(_unescape(block.raw[2:close]))
        start = close + 2
    start, end = block.strip(start, end)
    braces = _answer_braces(block, start, end)
    extra: dict[str, object] = {}
    if braces is None:
        text_format, text = _formatted(block.raw[start:end], "moodle")
        question = ParsedQuestion(DESCRIPTION, name, text, text_format)
    else:
        opening, closing = braces
        after = block.raw[closing + 1:end]
        blank = BLANK if after.strip() else ""
        if blank:
            extra["missing_word"] = True
        text_format, text = _formatted(block.raw[start:opening] + blank + after, "moodle")
        question = ParsedQuestion(ESSAY, name, text, text_format)
        if text:
            _parse_answers(block, opening + 1, closing, question)
    if not question.text:
        raise _Invalid(None, _l("The question has no text."))
    question.name = question.name or default_name(question.text, question.text_format)
    question.category = category
    question.line = block.line_of(None)
    question.extra = extra
    return question


def _answer_braces(block: _Block, start: int, end: int) -> tuple[int, int] | None:
    opening = closing = None
    for index in range(start, end):
        char = block.masked[index]
        if char == "{":
            if opening is not None and closing is None:
                raise _Invalid(opening, _l("Unbalanced braces: this { is not closed by a }."))
            if closing is not None:
                raise _Invalid(index, _l("A question can have only one {…} answer block."))
            opening = index
        elif char == "}":
            if opening is None or closing is not None:
                raise _Invalid(index, _l("Unbalanced braces: this } has no { before it."))
            closing = index
    if opening is not None and closing is None:
        raise _Invalid(opening, _l("Unbalanced braces: this { is not closed by a }."))
    return None if opening is None else (opening, closing)


def _parse_answers(block: _Block, start: int, end: int, question: ParsedQuestion) -> None:
    feedback_at = block.masked.rfind("####", start, end)
    if feedback_at >= 0:
        question.general_feedback = _text(block.raw[feedback_at + 4:end])
        end = feedback_at
    start, end = block.strip(start, end)
    content = block.masked[start:end]
    if not content:
        return
    if content[0] == "#":
        question.qtype = NUMERICAL
        question.answers = _numerical(block, start + 1, end)
    elif "~" in content:
        question.qtype, question.answers = _choice(block, start, end)
    elif "=" in content and "->" in content:
        question.qtype = MATCHING
        question.answers = _matching(block, start, end)
    elif block.cut(start, end, "#")[0].strip() in _TRUE_FALSE:
        question.qtype = TRUE_FALSE
        question.answers = _true_false(block, start, end)
    else:
        question.qtype = SHORT_ANSWER
        question.answers = [_answer(block, s, e, 1.0)
                            for _, s, e in _marked_pieces(block, start, end, "=")]
    _check_full_credit(question)


def _marked_pieces(block: _Block, start: int, end: int, markers: str) -> list[tuple[str, int, int]]:
    lead, *pieces = block.split(start, end, markers)
    if block.masked[lead[1]:lead[2]].strip():
        raise _Invalid(lead[1], _l(
            "Unknown answer syntax: each answer starts with = or ~, and a true/false "
            "answer is T, TRUE, F or FALSE."))
    return pieces


def _weight(block: _Block, start: int, end: int, default: float) -> tuple[float, int]:
    if block.masked[start:start + 1] != "%":
        return default, start
    found = _WEIGHT.match(block.raw, start, end)
    if not found:
        raise _Invalid(start, _l("Malformed weight: write it as %(example)s.",
                                 example="%50% or %-33.33333%"))
    percent = float(found[1])
    if not -100 <= percent <= 100:
        raise _Invalid(start, _l("The weight %(weight)s%% is outside -100%% to 100%%.",
                                 weight=found[1]))
    # Seven decimals, as Moodle stores fractions: 3 × 33.33333% reads as one full mark.
    return round(percent / 100, 7), found.end()


def _answer(block: _Block, start: int, end: int, default: float) -> ParsedAnswer:
    start, end = block.strip(start, end)
    fraction, start = _weight(block, start, end, default)
    text, feedback = block.cut(start, end, "#")
    # An answer's own [format] tag is dropped: answers are shown in the question's format.
    answer = ParsedAnswer(_text(text), fraction, _text(feedback))
    if not answer.text:
        raise _Invalid(start, _l("An answer has no text."))
    return answer


def _choice(block: _Block, start: int, end: int) -> tuple[str, list[ParsedAnswer]]:
    pieces = _marked_pieces(block, start, end, "~=")
    answers = [_answer(block, s, e, 1.0 if mark == "=" else 0.0) for mark, s, e in pieces]
    if len(answers) < 2:
        raise _Invalid(start, _l("A choice question needs at least two answers."))
    # As in Moodle: an answer marked = makes it single choice, otherwise multiple response.
    if any(mark == "=" for mark, _, _ in pieces):
        return SINGLE_CHOICE, answers
    total = round(sum(a.fraction for a in answers if a.fraction > 0), 2)
    if total != 1:
        raise _Invalid(None, _l(
            "The positive weights of a multiple-response question add up to %(total)s%%, "
            "not 100%%.", total=f"{total * 100:g}"))
    return MULTIPLE_RESPONSE, answers


def _true_false(block: _Block, start: int, end: int) -> list[ParsedAnswer]:
    parts = block.split(start, end, "#")
    correct = _TRUE_FALSE[block.raw[parts[0][1]:parts[0][2]].strip()]
    # {T#shown after a wrong answer#shown after the right one}: the rest stays in the last.
    wrong = _text(block.raw[parts[1][1]:parts[1][2]]) if len(parts) > 1 else ""
    right = _text(block.raw[parts[2][1]:end]) if len(parts) > 2 else ""
    return [
        ParsedAnswer("true", 1.0 if correct else 0.0, right if correct else wrong),
        ParsedAnswer("false", 0.0 if correct else 1.0, wrong if correct else right),
    ]


def _numerical(block: _Block, start: int, end: int) -> list[ParsedAnswer]:
    other = block.masked.find("~", start, end)
    values_end = end if other < 0 else other
    lead, *pieces = block.split(start, values_end, "=")
    if block.masked[lead[1]:lead[2]].strip():
        pieces.insert(0, lead)  # Moodle's short form {#1822:5} has no leading =.
    if not pieces:
        raise _Invalid(start, _l("A numerical question needs at least one number."))
    answers = [_number_answer(block, s, e) for _, s, e in pieces]
    if other >= 0:
        feedback = _text(block.cut(other + 1, end, "#")[1])
        answers.append(ParsedAnswer(ANY_OTHER_ANSWER, 0.0, feedback))
    return answers


def _number_answer(block: _Block, start: int, end: int) -> ParsedAnswer:
    start, end = block.strip(start, end)
    fraction, start = _weight(block, start, end, 1.0)
    hash_at = block.masked.find("#", start, end)
    stop = end if hash_at < 0 else hash_at
    feedback = _text(block.raw[hash_at + 1:end]) if hash_at >= 0 else ""
    answer = ParsedAnswer("", fraction, feedback)
    dots = block.masked.find("..", start + 1, stop)
    colon = block.masked.find(":", start + 1, stop)
    if dots >= 0:
        answer.range_min = _number(block, start, dots)
        answer.range_max = _number(block, dots + 2, stop)
        if answer.range_min > answer.range_max:
            raise _Invalid(start, _l("The range %(range)s runs backwards.",
                                     range=block.raw[start:stop].strip()))
    elif colon >= 0:
        answer.value = _number(block, start, colon)
        answer.tolerance = _number(block, colon + 1, stop)
        if answer.tolerance < 0:
            raise _Invalid(start, _l("A tolerance cannot be negative."))
    else:
        answer.value, answer.tolerance = _number(block, start, stop), 0.0
    return answer


def _number(block: _Block, start: int, end: int) -> float:
    written = block.raw[start:end].strip()
    if not _NUMBER.fullmatch(written):
        raise _Invalid(start, _l("“%(number)s” is not a number.", number=written))
    number = float(written)
    if not math.isfinite(number):  # 1e999 overflows to infinity
        raise _Invalid(start, _l("“%(number)s” is too large a number.", number=written))
    return number


def _matching(block: _Block, start: int, end: int) -> list[ParsedAnswer]:
    answers = []
    for _, s, e in _marked_pieces(block, start, end, "="):
        arrow = block.masked.find("->", s, e)
        if arrow < 0:
            raise _Invalid(s, _l("A matching pair needs -> between the item and its match."))
        item = _text(block.raw[s:arrow])
        match = clean_text(_unescape(block.raw[arrow + 2:e]))
        if not match:
            raise _Invalid(s, _l("A matching pair has nothing after ->."))
        answers.append(ParsedAnswer(item, 1.0, match=match))
    if sum(1 for answer in answers if answer.text) < 2:
        raise _Invalid(start, _l("A matching question needs at least two pairs."))
    return answers


def _check_full_credit(question: ParsedQuestion) -> None:
    if question.qtype not in (SINGLE_CHOICE, SHORT_ANSWER, NUMERICAL):
        return
    if max(answer.fraction for answer in question.answers) != 1:
        raise _Invalid(None, _l("No answer gets full marks: mark the correct one with = or "
                                "%(weight)s.", weight="%100%"))


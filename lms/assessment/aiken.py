"""Read Moodle's Aiken format: single-choice questions written as plain lines.

    Question text
    A. First option
    B) Second option
    ANSWER: B

Beyond Moodle's reader, question text may run over several lines (until the first
option), and the full-width punctuation a Chinese input method types (``A．``, ``A）``,
``A、``, ``ANSWER：B``) is accepted. Every problem is reported with its line number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from lms.assessment.formats import (
    DEFAULT_MAX_BYTES,
    SINGLE_CHOICE,
    ParsedAnswer,
    ParsedQuestion,
    ParseError,
    ParseResult,
    clean_text,
    default_name,
    read_lines,
)

_OPTION = re.compile(r"([A-Z])[.)．）、](.*)")
_ANSWER = re.compile(r"ANSWER\s*[:：](.*)")
_ANSWER_LETTER = re.compile(r"\s*([A-Za-z])[.)．）、]?\s*")


@dataclass
class _Draft:
    line: int
    text: list[str] = field(default_factory=list)
    options: list[tuple[int, str, str]] = field(default_factory=list)


def parse_aiken(data: str | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParseResult:
    """Parse Aiken text into single-choice questions and line-numbered errors; never raises."""
    lines, error = read_lines(data, max_bytes)
    if error is not None:
        return ParseResult([], [error])
    result = ParseResult()
    draft: _Draft | None = None
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line:
            continue
        answer, option = _ANSWER.fullmatch(line), _OPTION.fullmatch(line)
        if (answer or option) and draft is None:
            result.errors.append(ParseError(number, _l(
                "This line belongs to a question, but no question text comes before it.")))
        elif answer:
            _finish(draft, answer[1], number, result)
            draft = None
        elif option:
            draft.options.append((number, option[1], clean_text(option[2])))
        else:
            if draft is not None and draft.options:
                result.errors.append(_missing_answer(draft))
                draft = None
            draft = draft or _Draft(number)
            draft.text.append(line)
    if draft is not None:
        result.errors.append(_missing_answer(draft))
    return result


def _missing_answer(draft: _Draft) -> ParseError:
    return ParseError(draft.line, _l("The question has no ANSWER: line after its options."))


def _finish(draft: _Draft, written: str, number: int, result: ParseResult) -> None:
    letter = _ANSWER_LETTER.fullmatch(written)
    problem = None
    letters = [option_letter for _, option_letter, _ in draft.options]
    if len(draft.options) < 2:
        problem = (draft.line, _l("A question needs at least two options before its ANSWER: line."))
    elif not letter:
        problem = (number, _l("The ANSWER: line must name one option letter, such as ANSWER: B."))
    elif letter[1].upper() not in letters:
        problem = (number, _l("The answer %(letter)s is not one of the options.",
                              letter=letter[1].upper()))
    for index, (line, option_letter, text) in enumerate(draft.options):
        if problem:
            break
        if option_letter in letters[:index]:
            problem = (line, _l("Option %(letter)s appears twice.", letter=option_letter))
        elif not text:
            problem = (line, _l("Option %(letter)s has no text.", letter=option_letter))
    if problem:
        result.errors.append(ParseError(*problem))
        return
    text = clean_text("\n".join(draft.text))
    correct = letter[1].upper()
    answers = [ParsedAnswer(option_text, 1.0 if option_letter == correct else 0.0)
               for _, option_letter, option_text in draft.options]
    result.questions.append(ParsedQuestion(
        SINGLE_CHOICE, default_name(text), text, "plain", answers, line=draft.line))

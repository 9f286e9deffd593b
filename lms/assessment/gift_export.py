"""Write questions as Moodle GIFT text, the inverse of ``lms.assessment.gift.parse_gift``."""

from __future__ import annotations

import math
from collections.abc import Iterable

from lms.assessment.formats import (
    ANY_OTHER_ANSWER,
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
)
from lms.assessment.gift import BLANK, CATEGORY_PREFIX, FORMAT_TAG

_ESCAPE = str.maketrans({"\\": "\\\\", "~": "\\~", "=": "\\=", "#": "\\#", "{": "\\{",
                         "}": "\\}", ":": "\\:", "\n": "\\n"})


def export_gift(questions: Iterable[ParsedQuestion]) -> str:
    """Write questions as GIFT that ``parse_gift`` (and Moodle) reads back to the same questions.

    Numbers are written from ``value``/``tolerance``/``range_*``; fractions are expected
    rounded to 7 decimals, as the parser produces them. Raises ValueError for a question
    that cannot be written (unknown type, true/false without both answers, infinite number).
    """
    parts: list[str] = []
    category: str | None = None
    for question in questions:
        if question.category != category:
            category = question.category
            # Moodle's own form: the course context, then its invisible "top" category.
            path = "/" + " ".join(category.splitlines()) if category else ""
            parts.append(f"{CATEGORY_PREFIX} $course$/top{path}\n")
        parts.append(_write_question(question) + "\n")
    return "\n".join(parts)


def _escape(text: str, arrows: bool = False) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_ESCAPE)
    return text.replace("->", "-\\>") if arrows else text


def _write_text(text: str, fmt: str, *, tag: bool = False, arrows: bool = False) -> str:
    # A text that itself starts with "[html]" gets an explicit tag, so the reader keeps it.
    prefix = f"[{fmt}]" if tag or FORMAT_TAG.match(text) else ""
    return prefix + _escape(text, arrows)


def _inner(text: str) -> str:
    return _write_text(text, "moodle", arrows=True)


def _write_number(number: float | None) -> str:
    if number is None or not math.isfinite(number):
        raise ValueError(f"cannot write {number!r} as a GIFT number")
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


def _write_weight(answer: ParsedAnswer) -> str:
    # Plain decimals (Moodle reads no exponent in a weight); 5 places keep 7 in the fraction.
    percent = f"{round(answer.fraction * 100, 5) + 0.0:.5f}".rstrip("0").rstrip(".")
    return f"%{percent}%"


def _with_feedback(text: str, feedback: str) -> str:
    return f"{text}#{_inner(feedback)}" if feedback else text


def _write_question(question: ParsedQuestion) -> str:
    body = _write_answers(question)
    if body is None:
        return f"::{_escape(question.name)}::" + _write_text(
            question.text, question.text_format, tag=question.text_format != "moodle")
    before, after = question.text, ""
    if question.extra.get("missing_word") and BLANK in question.text:
        head, tail = question.text.split(BLANK, 1)
        if tail.strip():
            before, after = head, tail
    opening = _write_text(before, question.text_format, tag=question.text_format != "moodle")
    if question.general_feedback:
        gf = "####" + _inner(question.general_feedback)
        body = f"{body}{gf}" if "\n" not in body else f"{body}\t{gf}\n"
    return f"::{_escape(question.name)}::{opening}{{{body}}}{_escape(after)}"


def _write_answers(question: ParsedQuestion) -> str | None:
    qtype, answers = question.qtype, question.answers
    if qtype == DESCRIPTION:
        return None
    if qtype == ESSAY:
        return ""
    if qtype == TRUE_FALSE:
        by_text = {answer.text: answer for answer in answers}
        if set(by_text) != {"true", "false"}:
            raise ValueError(f"true/false question {question.name!r} needs true and false")
        correct = by_text["true"].fraction == 1
        right, wrong = (by_text["true"], by_text["false"])[:: 1 if correct else -1]
        out = "TRUE" if correct else "FALSE"
        if wrong.feedback or right.feedback:
            out += "#" + _inner(wrong.feedback)
        if right.feedback:
            out += "#" + _inner(right.feedback)
        return out
    if qtype in (SINGLE_CHOICE, MULTIPLE_RESPONSE):
        lines = _choice_lines(answers, single=qtype == SINGLE_CHOICE)
    elif qtype == SHORT_ANSWER:
        lines = [_with_feedback("=" + _write_weight(a) + _inner(a.text), a.feedback)
                 for a in answers]
    elif qtype == NUMERICAL:
        lines = _numerical_lines(answers)
    elif qtype == MATCHING:
        lines = [f"={_inner(a.text)} -> {_escape(a.match or '', arrows=True)}" for a in answers]
    else:
        raise ValueError(f"unknown question type {qtype!r}")
    prefix = "#" if qtype == NUMERICAL else ""
    return prefix + "\n" + "".join(f"\t{line}\n" for line in lines)


def _choice_lines(answers: list[ParsedAnswer], *, single: bool) -> list[str]:
    # One answer is written with =, so the reader sees a single choice; the others use ~,
    # so it still sees a choice question when several answers are worth 100%.
    first = next((i for i, a in enumerate(answers) if single and a.fraction == 1), None)
    lines = []
    for index, answer in enumerate(answers):
        explicit = answer.text.startswith("%")
        if index == first:
            mark = "=" + (_write_weight(answer) if explicit else "")
        else:
            mark = "~" + (_write_weight(answer) if explicit or answer.fraction else "")
        lines.append(_with_feedback(mark + _inner(answer.text), answer.feedback))
    return lines


def _numerical_lines(answers: list[ParsedAnswer]) -> list[str]:
    lines, others = [], []
    for answer in answers:
        if answer.text == ANY_OTHER_ANSWER:
            others.append(f"~#{_inner(answer.feedback)}")
        elif answer.range_min is not None or answer.range_max is not None:
            span = f"{_write_number(answer.range_min)}..{_write_number(answer.range_max)}"
            lines.append(_with_feedback(f"={_write_weight(answer)}{span}", answer.feedback))
        else:
            value = f"{_write_number(answer.value)}:{_write_number(answer.tolerance or 0.0)}"
            lines.append(_with_feedback(f"={_write_weight(answer)}{value}", answer.feedback))
    # Everything after the first ~ is the feedback for any other answer, so it comes last.
    return lines + others[:1]


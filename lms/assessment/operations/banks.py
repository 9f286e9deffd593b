"""Question banks: categories, questions, import from GIFT and Aiken, export to GIFT."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.exceptions import Forbidden

from lms.assessment import formats
from lms.assessment.aiken import parse_aiken
from lms.assessment.formats import ParsedAnswer, ParsedQuestion, ParseError, ParseResult
from lms.assessment.gift import parse_gift
from lms.assessment.gift_export import export_gift
from lms.assessment.models import AttemptSlot, Question, QuestionCategory, QuestionOption
from lms.assessment.permissions import can_manage_bank
from lms.assessment.questions import is_other_answer, qtype_of, type_label
from lms.core.errors import UserError
from lms.core.forms import typed_number
from lms.core.i18n import CONTENT_LANGS, guess_language, normalize_text
from lms.courses.models import Course
from lms.extensions import db
from lms.users.models import User

#: Import formats: key → (label, parser).
IMPORT_FORMATS = {
    "gift": (_l("GIFT (Moodle)"), parse_gift),
    "aiken": (_l("Aiken"), parse_aiken),
}


def parse_file(data: bytes | str, fmt: str, *, max_bytes: int,
               size: int | None = None) -> ParseResult:
    """Read an import file; every problem comes back as a line-numbered error, nothing raises.

    ``size`` is the whole file's size when only its beginning was kept (it was too large).
    """
    if size is not None and size > max_bytes:
        return ParseResult([], [ParseError(0, _l(
            "The file is %(size)s bytes; the largest file accepted is %(limit)s bytes.",
            size=size, limit=max_bytes))])
    return IMPORT_FORMATS[fmt][1](data, max_bytes=max_bytes)


# --- categories ----------------------------------------------------------------------

def _check(actor: User | None, course: Course) -> None:
    if actor is not None and not can_manage_bank(actor, course):
        raise Forbidden()


def clean_category_name(name: str | None) -> str:
    """A category path with tidy separators: ``唐卡 / 颜料`` → ``唐卡/颜料``."""
    parts = [p.strip() for p in (normalize_text(name) or "").split("/")]
    return "/".join(p for p in parts if p)[:255]


def find_category(course: Course, name: str) -> QuestionCategory | None:
    return db.session.scalar(select(QuestionCategory).where(
        QuestionCategory.course_id == course.id, QuestionCategory.name == name))


def category_for(course: Course, name: str | None) -> QuestionCategory:
    """The course's category called ``name`` (the default one when empty), created if needed."""
    name = clean_category_name(name) or str(_l("Default"))
    category = find_category(course, name)
    if category is None:
        category = QuestionCategory(course_id=course.id, name=name)
        db.session.add(category)
        db.session.flush()
    return category


def save_category(actor: User, course: Course, category: QuestionCategory | None,
                  name: str) -> QuestionCategory:
    """Add a category or rename one."""
    _check(actor, course)
    name = clean_category_name(name)
    if not name:
        raise UserError(_l("Give the category a name."), "name")
    clash = find_category(course, name)
    if clash is not None and clash is not category:
        raise UserError(_l("The bank already has a category with this name."), "name")
    if category is None:
        category = QuestionCategory(course_id=course.id, name=name)
        db.session.add(category)
    category.name = name
    db.session.flush()
    return category


def delete_category(actor: User, category: QuestionCategory) -> None:
    """Remove an empty category."""
    _check(actor, category.course)
    if db.session.scalar(select(func.count(Question.id)).where(
            Question.category_id == category.id)):
        raise UserError(_l("This category still holds questions; move or delete them first."))
    db.session.delete(category)
    db.session.flush()


# --- questions ----------------------------------------------------------------------

def question_from_parsed(course: Course, parsed: ParsedQuestion, category: QuestionCategory,
                         lang: str) -> Question:
    """A bank question made from an imported one, its texts in the content language ``lang``."""
    question = Question(course_id=course.id, category=category, qtype=parsed.qtype,
                        name=parsed.name[:255], text_format=parsed.text_format,
                        extra=dict(parsed.extra))
    setattr(question, f"text_{lang}", parsed.text)
    setattr(question, f"general_feedback_{lang}", parsed.general_feedback or None)
    for position, answer in enumerate(parsed.answers):
        option = QuestionOption(position=position, fraction=answer.fraction, value=answer.value,
                                tolerance=answer.tolerance, range_min=answer.range_min,
                                range_max=answer.range_max)
        if parsed.qtype == formats.TRUE_FALSE:
            option.value = 1.0 if answer.text == "true" else 0.0
        elif parsed.qtype != formats.NUMERICAL:
            setattr(option, f"text_{lang}", answer.text or None)
        setattr(option, f"feedback_{lang}", answer.feedback or None)
        setattr(option, f"match_{lang}", answer.match or None)
        question.options.append(option)
    return question


def import_questions(actor: User | None, course: Course, questions: Iterable[ParsedQuestion], *,
                     category: str | None = None, language: str | None = None) -> list[Question]:
    """Add parsed questions to a course's bank.

    A question goes to the category its file names, else to ``category``, else
    to the default one. Its texts are stored in ``language``, or in the language
    its script shows (Tibetan, Chinese, otherwise English).
    """
    _check(actor, course)
    if language is not None and language not in CONTENT_LANGS:
        raise UserError(_l("Choose the language of the questions."), "language")
    created = []
    for parsed in questions:
        target = category_for(course, parsed.category or category)
        lang = language or guess_language(parsed.text)
        question = question_from_parsed(course, parsed, target, lang)
        db.session.add(question)
        created.append(question)
    db.session.flush()
    return created


def _first(obj: Any, field: str, lang: str) -> str:
    value = getattr(obj, f"{field}_{lang}", None)
    if value:
        return value
    return next((v for other in CONTENT_LANGS if (v := getattr(obj, f"{field}_{other}", None))),
                "")


def to_parsed(question: Question, lang: str | None = None) -> ParsedQuestion:
    """The question as an import format sees it, in ``lang`` (default: its first language)."""
    lang = lang if lang and getattr(question, f"text_{lang}") else (question.languages or
                                                                  ["bo"])[0]
    answers = []
    for option in question.options:
        if question.qtype == formats.TRUE_FALSE:
            text = "true" if option.value == 1 else "false"
        elif question.qtype == formats.NUMERICAL:
            text = formats.ANY_OTHER_ANSWER if is_other_answer(option) else ""
        else:
            text = _first(option, "text", lang)
        numeric = question.qtype == formats.NUMERICAL
        answers.append(ParsedAnswer(
            text, option.fraction, _first(option, "feedback", lang),
            value=option.value if numeric else None,
            tolerance=option.tolerance if numeric else None,
            range_min=option.range_min if numeric else None,
            range_max=option.range_max if numeric else None,
            match=_first(option, "match", lang) or None
            if question.qtype == formats.MATCHING else None))
    return ParsedQuestion(question.qtype, question.name, _first(question, "text", lang),
                          question.text_format, answers,
                          _first(question, "general_feedback", lang), question.category.name,
                          extra=dict(question.extra or {}))


def export_questions(questions: Iterable[Question], lang: str | None = None) -> str:
    """GIFT text of the questions (each in ``lang`` where it has it, else its first language)."""
    return export_gift(to_parsed(q, lang) for q in questions)


def _decimal(raw: Any, field: str, low: Decimal, high: Decimal) -> Decimal:
    try:
        value = typed_number(raw)
    except ValueError:
        raise UserError(_l("Enter a number."), field) from None
    if not low <= value <= high:
        raise UserError(_l("Enter a number between %(low)s and %(high)s.", low=low, high=high),
                        field)
    return value


def save_question(actor: User, question: Question, *, category: QuestionCategory,
                  values: dict[str, Any], options: dict[int, dict[str, Any]]) -> Question:
    """Edit a question: its name, category, texts in each language, mark, and its options'
    texts, feedback and weights (``options`` by option id)."""
    _check(actor, question.category.course)
    if category.course_id != question.course_id:
        raise Forbidden()
    name = normalize_text(values.get("name"))
    if not name:
        raise UserError(_l("Give the question a name."), "name")
    question.name = name[:255]
    question.category = category
    if values.get("text_format") in formats.TEXT_FORMATS:
        question.text_format = values["text_format"]
    for lang in CONTENT_LANGS:
        for field in ("text", "general_feedback"):
            setattr(question, f"{field}_{lang}", normalize_text(values.get(f"{field}_{lang}"))
                    or None)
    if not question.languages:
        raise UserError(_l("Write the question in at least one language."), "text_bo")
    question.mark = _decimal(values.get("mark", 1), "mark", Decimal("0"), Decimal("1000"))
    for option in question.options:
        given = options.get(option.id)
        if not given:
            continue
        for lang in CONTENT_LANGS:
            for field in ("text", "feedback", "match"):
                if f"{field}_{lang}" in given:
                    setattr(option, f"{field}_{lang}",
                            normalize_text(given[f"{field}_{lang}"]) or None)
        if "percent" in given and given["percent"] not in (None, ""):
            percent = _decimal(given["percent"], "options", Decimal("-100"), Decimal("100"))
            option.fraction = round(float(percent) / 100, 7)
    problems = qtype_of(question).problems(question)
    if problems:
        raise UserError(problems[0], "options")
    db.session.flush()
    return question


def delete_question(actor: User, question: Question) -> bool:
    """Delete a question; one that attempts used is retired instead. True if deleted."""
    _check(actor, question.category.course)
    used = db.session.scalar(select(AttemptSlot.id).where(
        AttemptSlot.question_id == question.id).limit(1))
    if used is not None:
        question.is_active = False
        db.session.flush()
        return False
    db.session.delete(question)
    db.session.flush()
    return True


def count_label(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Counts per question type with the types' names, for previews and the command line."""
    return [(type_label(key), n) for key, n in counts.items()]


"""Question types: small classes with one interface, registered under the keys the database
stores (``lms.assessment.formats``). ``base`` holds the interface and the registry; the
other modules hold the types and register them when imported here."""

from lms.assessment.questions import choice, matching, typed  # noqa: F401 (register the types)
from lms.assessment.questions.base import (
    MAX_ESSAY_TEXT,
    MAX_SHORT_TEXT,
    QUESTION_TYPES,
    QuestionType,
    answer_matches,
    field_name,
    format_number,
    normalise_answer,
    parse_number,
    qtype_of,
    register_type,
    render_text,
    type_label,
)
from lms.assessment.questions.typed import is_other_answer, number_matches

__all__ = [
    "MAX_ESSAY_TEXT", "MAX_SHORT_TEXT", "QUESTION_TYPES", "QuestionType", "answer_matches",
    "field_name", "format_number", "is_other_answer", "normalise_answer", "number_matches",
    "parse_number", "qtype_of", "register_type", "render_text", "type_label",
]

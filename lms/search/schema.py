"""What a search document is: the keys it may have, how they become index fields, the schema.

A document is a plain mapping (``lms.search.util`` builds them from the database); the
keys are an allow-list, so nothing that is not meant to be searchable (a learner, an ID
number, a target group) can reach the index by accident.
"""

from collections.abc import Mapping
from typing import Any

from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema

from lms.search.analysis import analyzer, nfc, spelling_analyzer

# Searched fields. Summary, body, subtitles and institution name are searched through one
# `content` field (and stored apart for display): every searched field adds a matcher per
# query word, and matching is most of what a whoosh query costs.
SEARCH_FIELDS = ("title", "occupation", "content")
CONTENT_KEYS = ("summary", "body", "subtitles", "institution")
FACET_FIELDS = ("training_type", "skill_level", "institution_id", "region", "language")
FILTER_FIELDS = (*FACET_FIELDS, "kind", "course_id")
PASSAGE_FIELDS = ("body", "summary", "subtitles")
KINDS = ("course", "lesson")

# The keys a document handed to update_documents or rebuild may have; titles are per
# language and all of them are searchable. A lesson carries its course's titles for
# display only.
_TITLE_KEYS = ("title_bo", "title_zh", "title_en")
COURSE_TITLE_KEYS = ("course_title_bo", "course_title_zh", "course_title_en")
_OCCUPATION_KEYS = ("occupation_name", "occupation_code")
_TEXT_KEYS = (*_TITLE_KEYS, *CONTENT_KEYS, *_OCCUPATION_KEYS)
DOCUMENT_KEYS = frozenset(
    {"doc_id", "kind", "course_id", "url", *_TEXT_KEYS, *COURSE_TITLE_KEYS, *FACET_FIELDS}
)


def schema() -> Schema:
    """Return the index schema: searchable text, stored display fields and facets."""
    text = analyzer()
    facet = {"stored": True, "sortable": True}
    return Schema(
        doc_id=ID(unique=True, stored=True),
        kind=ID(**facet),
        course_id=ID(stored=True, sortable=True),
        url=STORED(),
        title=TEXT(analyzer=text, stored=True, field_boost=3.0),
        title_bo=STORED(),
        title_zh=STORED(),
        title_en=STORED(),
        course_title_bo=STORED(),
        course_title_zh=STORED(),
        course_title_en=STORED(),
        occupation=TEXT(analyzer=text, stored=True, field_boost=2.0),
        content=TEXT(analyzer=text),
        summary=STORED(),
        body=STORED(),
        subtitles=STORED(),
        institution=STORED(),
        spelling=TEXT(analyzer=spelling_analyzer(), phrase=False),
        training_type=ID(**facet),
        skill_level=ID(**facet),
        institution_id=ID(**facet),
        region=ID(**facet),
        # A course can be taught in several languages: `language` holds the list for
        # filtering, `languages` the sorted list as one value, which counts in one column
        # lookup per hit where a list-valued facet would re-read the field on every search.
        language=KEYWORD(stored=True, scorable=False),
        languages=ID(sortable=True),
    )


def to_fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Return the index fields of a document; raise ValueError on a malformed one."""
    unknown = set(doc) - DOCUMENT_KEYS
    if unknown:
        raise ValueError(f"unknown search document keys: {sorted(unknown)}")
    doc_id, kind = str(doc.get("doc_id") or ""), doc.get("kind")
    if not doc_id or kind not in KINDS:
        raise ValueError(
            f"a search document needs a doc_id and a kind of course or lesson: {doc_id!r}"
        )
    text = {key: nfc(str(doc.get(key) or "")).strip() for key in (*_TEXT_KEYS, *COURSE_TITLE_KEYS)}
    fields: dict[str, Any] = {
        "title": "\n".join(filter(None, (text[key] for key in _TITLE_KEYS))),
        "occupation": " ".join(filter(None, (text[key] for key in _OCCUPATION_KEYS))),
        **{key: value for key, value in text.items() if key not in _OCCUPATION_KEYS},
    }
    fields["content"] = "\n".join(filter(None, (text[key] for key in CONTENT_KEYS)))
    fields["spelling"] = "\n".join(fields[name] for name in SEARCH_FIELDS)
    fields = {name: value.strip() for name, value in fields.items() if value.strip()}
    fields.update(doc_id=doc_id, kind=kind)
    for name in ("course_id", "url", *FACET_FIELDS):
        value = doc.get(name)
        if isinstance(value, list | tuple | set | frozenset):
            value = " ".join(sorted({str(v) for v in value}))
        if value not in (None, ""):
            fields[name] = str(value)
    if "language" in fields:
        fields["languages"] = fields["language"]
    return fields


def display_title(stored: Mapping[str, Any], lang: str, prefix: str = "title") -> str:
    """Return the title in lang ("bo", "zh_Hans", "en"), else in the first language it has.

    With prefix="course_title", the title of a lesson's course.
    """
    wanted = lang.split("_")[0].lower()
    order = [wanted] + [code for code in ("bo", "zh", "en") if code != wanted]
    return next((stored[f"{prefix}_{c}"] for c in order if stored.get(f"{prefix}_{c}")), "")

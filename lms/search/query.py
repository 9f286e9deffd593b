"""What a learner types, made safe and turned into a whoosh query; spelling suggestions.

Nothing a user types is parsed as whoosh query syntax: syntax characters and bare
operators are dropped, the text is cut to a maximum length, and what is left is analysed
with the fields' own analyzer, so a query token is exactly what the index holds.
"""

import re
from collections.abc import Sequence
from typing import Any

from whoosh import query as wq
from whoosh.fields import Schema
from whoosh.reading import IndexReader

from lms.search.analysis import CJK, SYLLABLE, TIBETAN, nfc, spelling_words, stem_word

_SYNTAX_CHARS = r'*?~^:()"\[\]{}\\'
_SYNTAX = re.compile(rf"[{_SYNTAX_CHARS}]")
# Chinese has no spaces, so a stray symbol inside a word joins its halves rather than splits.
_SYNTAX_IN_CJK = re.compile(
    rf"(?<=[{CJK}])[{_SYNTAX_CHARS}\s]*[{_SYNTAX_CHARS}][{_SYNTAX_CHARS}\s]*(?=[{CJK}])"
)
_OPERATORS = re.compile(r"(?<!\w)(?:AND|OR|NOT|ANDNOT|ANDMAYBE)(?!\w)")
_LATIN = rf"[^\W_{TIBETAN}{CJK}]"
_WORD_CHAR = re.compile(rf"[{SYLLABLE}]|{_LATIN}")
_PARTIAL_TAIL = re.compile(rf"(?:[{SYLLABLE}]+|{_LATIN}+)$")

MAX_QUERY_TOKENS = 24


def clean_query_text(text: str, max_chars: int = 200) -> str:
    """Return user input without query syntax, truncated to max_chars without cutting a word."""
    text = nfc(text or "")
    if len(text) > max_chars:
        cut = text[:max_chars]
        if _WORD_CHAR.match(text[max_chars]) and _WORD_CHAR.match(cut[-1]):
            # The cut fell inside a word or syllable: drop its first half rather than
            # search for a fragment.
            cut = _PARTIAL_TAIL.sub("", cut)
        text = cut
    text = _SYNTAX.sub(" ", _SYNTAX_IN_CJK.sub("", text))
    text = _OPERATORS.sub(" ", text)
    return " ".join(text.split())


def _query_tokens(text: str, field_analyzer: Any) -> list[str]:
    """Return the tokens a query text becomes in a field with field_analyzer."""
    tokens = [t.text for t in field_analyzer(text, mode="query", positions=True)]
    return tokens[:MAX_QUERY_TOKENS]


def build_query(
    text: str,
    fields: list[str],
    schema: Schema,
    *,
    max_chars: int = 200,
    phrase_boost: float = 4.0,
) -> wq.Query | None:
    """Turn what a user typed into a query, or None when nothing in it is searchable.

    Never raises on user input: syntax characters and bare operators are dropped and
    the text is truncated to max_chars. One token matches in any field; several tokens
    match as a phrase in one field (boosted, so exact phrases rank first) or all
    together across the fields.
    """
    cleaned = clean_query_text(text, max_chars)
    analysed: dict[int, list[str]] = {}  # fields usually share one analyzer: run it once
    by_field = {}
    for f in fields if cleaned else []:
        field_analyzer = schema[f].analyzer
        if id(field_analyzer) not in analysed:
            analysed[id(field_analyzer)] = _query_tokens(cleaned, field_analyzer)
        if analysed[id(field_analyzer)]:
            by_field[f] = analysed[id(field_analyzer)]
    if not by_field:
        return None
    longest = max(len(tokens) for tokens in by_field.values())
    every_token = wq.And(
        [
            wq.Or([wq.Term(f, tokens[i]) for f, tokens in by_field.items() if i < len(tokens)])
            for i in range(longest)
        ]
    )
    if longest == 1:
        return every_token.normalize()
    phrase = wq.Or(
        [wq.Phrase(f, tokens) for f, tokens in by_field.items() if len(tokens) > 1],
        boost=phrase_boost,
    )
    return wq.Or([phrase, every_token])


def did_you_mean(reader: IndexReader, text: str, fields: Sequence[str]) -> str | None:
    """Return text with its unknown English words replaced by the nearest indexed word.

    A word is known when the index holds it as typed or its stem in one of fields, so
    "pigment" is not corrected to "pigments".
    """
    corrections: dict[str, str] = {}
    for word in dict.fromkeys(spelling_words(text)):
        stem = stem_word(word)
        if ("spelling", word) in reader or any((f, stem) in reader for f in fields):
            continue
        # Nearest edit distance first; among equals, the word most documents use.
        for distance in (1, 2) if len(word) >= 5 else (1,):
            candidates = set(reader.terms_within("spelling", word, distance, prefix=1)) - {word}
            if candidates:
                corrections[word] = min(
                    candidates, key=lambda c: (-reader.doc_frequency("spelling", c), c)
                )
                break
    if not corrections:
        return None
    return re.sub(r"[A-Za-z]+", lambda m: corrections.get(m.group().lower(), m.group()), text)

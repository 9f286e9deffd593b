"""Passages of a result with the matched words marked: escaped text and <mark>, nothing else."""

import html
import re
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape
from whoosh.analysis import Token
from whoosh.highlight import (
    FIRST,
    ContextFragmenter,
    Formatter,
    FragmentScorer,
    get_text,
    set_matched_filter,
    top_fragments,
)

from lms.core.i18n import guess_language
from lms.search.analysis import analyzer
from lms.search.schema import PASSAGE_FIELDS

_ADJACENT_MARKS = re.compile("</mark>(\u0f0b?)<mark>")


class MarkFormatter(Formatter):
    """Escape all text and wrap matched words in <mark>, the only tag a passage carries."""

    between = " "

    def _text(self, text: str) -> str:
        return html.escape(text, quote=False)

    def format_fragment(self, fragment: Any, replace: bool = False) -> str:
        """Return one passage, with an ellipsis where it cuts the text."""
        lead = "…" if fragment.startchar > 0 else ""
        tail = "…" if fragment.endchar < len(fragment.text) else ""
        # Matched Tibetan syllables side by side read as one marked phrase, tsheg and all.
        marked = _ADJACENT_MARKS.sub(r"\1", super().format_fragment(fragment, replace))
        return lead + marked + tail

    def format_token(self, text: str, token: Token, replace: bool = False) -> str:
        """Return one matched word, escaped, inside <mark>."""
        return f"<mark>{html.escape(get_text(text, token, replace), quote=False)}</mark>"


class _DistinctTermsScorer(FragmentScorer):
    """Prefer the passage that shows the most different query words, then the most words."""

    def __call__(self, fragment: Any) -> float:
        return len({t.text for t in fragment.matches}) * 1000 + len(fragment.matches)


def highlight_passage(text: str, terms: set[str], *, max_chars: int = 240) -> str:
    """Return up to two passages of text around the terms as escaped HTML, or "" if none match."""
    # Analysing a whole lesson is the slow part of a results page, so look first around
    # the place where most terms appear as typed (stems are mostly prefixes too).
    lowered = text.lower()
    anchors = [i for i in map(lowered.find, terms) if i >= 0]
    if not anchors:
        return ""

    def window(at: int) -> tuple[int, int]:
        return max(0, at - max_chars), at + 2 * max_chars

    def terms_near(at: int) -> int:
        start, end = window(at)
        return sum(term in lowered[start:end] for term in terms)

    best = max(sorted(anchors), key=terms_near)
    return _highlight(text, terms, *window(best), max_chars) or _highlight(
        text, terms, 0, len(text), max_chars
    )


def _highlight(text: str, terms: set[str], start: int, end: int, max_chars: int) -> str:
    # Index mode, so a passage marks the sub-words and bare syllables the index matched.
    tokens = analyzer()(
        text[start:end], chars=True, mode="index", removestops=False, start_char=start
    )
    fragmenter = ContextFragmenter(maxchars=max_chars, surround=max_chars // 3)
    fragments = fragmenter.fragment_tokens(text, set_matched_filter(tokens, frozenset(terms)))
    best = top_fragments(fragments, 2, _DistinctTermsScorer(), FIRST, minscore=1)
    return MarkFormatter().format(best)


def result_passage(
    stored: Mapping[str, Any],
    terms: set[str],
    *,
    lang: str = "",
    max_chars: int = 240,
    scan_chars: int = 20_000,
) -> Markup:
    """Return the passage a result shows: the first passage field where terms match, marked;
    else the opening of the first field that has text.

    A field holds its text in every language it was written in, one after the other; a
    passage stays within one language, the reader's first (``lang``: "bo", "zh_Hans",
    "en"), so a Tibetan reader does not get Tibetan, Chinese and English run together.
    """
    # Highlighting re-analyses the text; the scan is capped so one long lesson
    # cannot slow a results page.
    blocks = [block for name in PASSAGE_FIELDS
              for block in language_blocks((stored.get(name) or "")[:scan_chars], lang)]
    for block in blocks:
        marked = highlight_passage(block, terms, max_chars=max_chars)
        if marked:
            return Markup(marked)  # noqa: S704 - MarkFormatter escaped every character
    opening = blocks[0] if blocks else ""
    shortened = opening[:max_chars]
    suffix = "…" if len(opening) > len(shortened) else ""
    return escape(shortened) + suffix


def language_blocks(text: str, lang: str = "") -> list[str]:
    """The text cut where its lines change language (by script: ``guess_language``), the
    blocks in ``lang`` first, the others in their order. A line without letters (blank,
    digits, punctuation) stays with the block it is in."""
    blocks: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        script = guess_language(line) if any(c.isalpha() for c in line) else ""
        if blocks and (not script or script == blocks[-1][0]):
            blocks[-1][1].append(line)
        else:
            blocks.append((script, [line]))
    wanted = lang.split("_")[0].lower()
    ordered = sorted(blocks, key=lambda block: block[0] != wanted)
    return [joined for _script, lines in ordered if (joined := "\n".join(lines).strip())]

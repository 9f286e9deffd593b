"""Text analysis for search: Tibetan syllables, Chinese words and English stems in one field.

Lesson text mixes scripts freely (a Tibetan title, a Chinese policy quote, an English
term), so one tokenizer walks the text by script run and hands each run to the rule
for its script. Every rule reports character offsets into the original text, so the
highlighter can mark the matched words, and positions that phrase queries can rely on.
"""

import functools
import html
import logging
import re
import threading
import unicodedata
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from whoosh import query as wq
from whoosh.analysis import STOP_WORDS, StemFilter, Token, Tokenizer
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.fields import Schema
from whoosh.highlight import (
    FIRST,
    ContextFragmenter,
    Formatter,
    FragmentScorer,
    get_text,
    set_matched_filter,
    top_fragments,
)
from whoosh.lang.porter import stem as porter_stem
from whoosh.reading import IndexReader

_TIBETAN = "\u0f00-\u0fff"
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_RUNS = re.compile(
    rf"(?P<bo>[{_TIBETAN}]+)"
    rf"|(?P<zh>[{_CJK}]+)"
    # Occupation codes (6-01-02-01) and dates stay one token so they can be searched whole.
    r"|(?P<code>\d+(?:[-./]\d+)+)"
    rf"|(?P<word>[^\W_{_TIBETAN}{_CJK}]+)"
)
# Letters, vowel signs and subjoined letters make a syllable; tsheg (U+0F0B, U+0F0C),
# shad (U+0F0D-U+0F12), head marks and every other sign in the block separate syllables,
# which is what folds ཐང་ཀ, ཐང་ཀ་ and ཐང་ཀ། into the same two tokens.
_SYLLABLE = "\u0f00\u0f18\u0f19\u0f35\u0f37\u0f39\u0f3e-\u0f84\u0f86-\u0fbc"
_TIBETAN_PARTS = re.compile(rf"(?P<syl>[{_SYLLABLE}]+)|(?P<num>[\u0f20-\u0f29]+)")
_TIBETAN_DIGITS = str.maketrans("༠༡༢༣༤༥༦༧༨༩", "0123456789")
# Case particles fused onto an open syllable (ཀའི, མོའོ, ཀའང, ཀའམ): the bare syllable is
# indexed at the same position too, so ཐང་ཀ finds ཐང་ཀའི་ལག་རྩལ.
_FUSED_PARTICLES = ("\u0f60\u0f72", "\u0f60\u0f7c", "\u0f60\u0f44", "\u0f60\u0f58")

_SYNTAX_CHARS = r'*?~^:()"\[\]{}\\'
_SYNTAX = re.compile(rf"[{_SYNTAX_CHARS}]")
# Chinese has no spaces, so a stray symbol inside a word joins its halves rather than splits.
_SYNTAX_IN_CJK = re.compile(
    rf"(?<=[{_CJK}])[{_SYNTAX_CHARS}\s]*[{_SYNTAX_CHARS}][{_SYNTAX_CHARS}\s]*(?=[{_CJK}])"
)
_OPERATORS = re.compile(r"(?<!\w)(?:AND|OR|NOT|ANDNOT|ANDMAYBE)(?!\w)")
_LATIN = rf"[^\W_{_TIBETAN}{_CJK}]"
_WORD_CHAR = re.compile(rf"[{_SYLLABLE}]|{_LATIN}")
_PARTIAL_TAIL = re.compile(rf"(?:[{_SYLLABLE}]+|{_LATIN}+)$")

MAX_QUERY_TOKENS = 24

_jieba_lock = threading.Lock()
_jieba_state: dict[str, Any] = {}


def _jieba() -> Any:
    """Return jieba's default tokenizer, loading its dictionary once per process, quietly."""
    tokenizer = _jieba_state.get("tokenizer")
    if tokenizer is not None:
        return tokenizer
    with _jieba_lock:
        if "tokenizer" not in _jieba_state:
            # jieba imports pkg_resources and logs its cache handling at DEBUG on stderr;
            # neither belongs in a server log.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import jieba
            jieba.setLogLevel(logging.WARNING)
            jieba.dt.initialize()
            _jieba_state["tokenizer"] = jieba.dt
    return _jieba_state["tokenizer"]


@functools.lru_cache(maxsize=50_000)
def stem_word(word: str) -> str:
    """Porter-stem an English word; other scripts pass through untouched."""
    return porter_stem(word) if word.isascii() else word


def nfc(text: str) -> str:
    """Return text in Unicode NFC, the form the index stores and compares."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


# A part is (text, start offset, end offset, new position?): False keeps the previous
# position, for alternative forms of the same word.
Part = tuple[str, int, int, bool]


def _tibetan_parts(run: str, offset: int, mode: str) -> Iterator[Part]:
    for m in _TIBETAN_PARTS.finditer(run):
        start, end = offset + m.start(), offset + m.end()
        if m.lastgroup == "num":
            yield m.group().translate(_TIBETAN_DIGITS), start, end, True
            continue
        syllable = m.group()
        base = next((syllable[: -len(p)] for p in _FUSED_PARTICLES if syllable.endswith(p)), "")
        if not base:
            yield syllable, start, end, True
        elif mode == "query":
            # A query for ཐང་ཀའི looks for the thangka syllables, whatever particle follows.
            yield base, start, end, True
        else:
            yield syllable, start, end, True
            yield base, start, max(start + 1, end - 2), False


def _bigrams(word: str, start: int) -> Iterator[tuple[str, int]]:
    for i in range(len(word) - 1):
        yield word[i : i + 2], start + i


def _chinese_parts(run: str, offset: int, mode: str) -> Iterator[Part]:
    dictionary = _jieba()
    freq = dictionary.FREQ
    words = list(dictionary.tokenize(run, HMM=True))
    if mode == "query":
        for word, start, end in words:
            if len(word) > 2 and not freq.get(word):
                # A long word jieba guessed may be cut differently inside a lesson;
                # its bigrams are indexed either way.
                for gram, at in _bigrams(word, offset + start):
                    yield gram, at, at + 2, True
            else:
                yield word, offset + start, offset + end, True
        return
    unknown = [not freq.get(word) for word, _, _ in words]
    # Where the dictionary knows no word, jieba falls back on guesses; overlapping
    # bigrams over each such stretch keep any two-character query findable.
    stretch_end = [0] * len(words)
    for i in range(len(words) - 1, -1, -1):
        if unknown[i]:
            nxt = i + 1
            stretch_end[i] = stretch_end[nxt] if nxt < len(words) and unknown[nxt] else words[i][2]
    for i, (word, start, end) in enumerate(words):
        yield word, offset + start, offset + end, True
        seen = {word}
        if len(word) > 2:
            # The dictionary sub-words that jieba.cut_for_search adds for long words.
            for n in (2, 3):
                for j in range(len(word) - n + 1):
                    gram = word[j : j + n]
                    if gram not in seen and freq.get(gram):
                        seen.add(gram)
                        yield gram, offset + start + j, offset + start + j + n, False
        if unknown[i]:
            for j in range(start, min(end, stretch_end[i] - 1)):
                gram = run[j : j + 2]
                if gram not in seen:
                    seen.add(gram)
                    yield gram, offset + j, offset + j + 2, False


class MixedTokenizer(Tokenizer):
    """Tokenize mixed Tibetan, Chinese and Latin text by script run."""

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        """Yield one token per syllable, word or code, reusing one Token as whoosh expects."""
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        # Offsets are into the NFC form: the index stores text NFC-normalised, so they
        # are also offsets into what the highlighter is given.
        value = nfc(value)
        if not tokenize:
            token.text = token.original = value
            token.boost, token.stopped = 1.0, False
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        pos = start_pos - 1
        for text, start, end, advance, stopped in self._parts(value, mode):
            if stopped and removestops:
                continue
            if advance:
                pos += 1
            token.text = text
            token.boost, token.stopped = 1.0, stopped
            if keeporiginal:
                token.original = text
            if positions:
                token.pos = max(pos, start_pos)
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token

    @staticmethod
    def _parts(value: str, mode: str) -> Iterator[tuple[str, int, int, bool, bool]]:
        for m in _RUNS.finditer(value):
            kind, run, start = m.lastgroup, m.group(), m.start()
            if kind == "bo":
                for part in _tibetan_parts(run, start, mode):
                    yield (*part, False)
            elif kind == "zh":
                for part in _chinese_parts(run, start, mode):
                    yield (*part, False)
            elif kind == "code":
                yield run, start, m.end(), True, False
            else:
                word = run.lower()
                # Stop words take no position, so "painting of thangka" is still a phrase.
                stopped = word in STOP_WORDS
                yield word, start, m.end(), not stopped, stopped


class SpellingTokenizer(Tokenizer):
    """Yield the lower-cased, unstemmed English words of a text, for did-you-mean."""

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        """Yield each alphabetic Latin word of three letters or more that is not a stop word."""
        token = Token(positions, chars, mode=mode, **kwargs)
        for pos, word in enumerate(spelling_words(value)):
            token.text, token.boost, token.stopped = word, 1.0, False
            if positions:
                token.pos = pos
            yield token


def spelling_words(text: str) -> list[str]:
    """Return the English words of a text that did-you-mean can correct."""
    words = (m.group().lower() for m in _RUNS.finditer(text) if m.lastgroup == "word")
    return [w for w in words if len(w) >= 3 and w.isascii() and w.isalpha() and w not in STOP_WORDS]


def analyzer() -> CompositeAnalyzer:
    """Return the analyzer for every searchable text field."""
    return MixedTokenizer() | StemFilter(stemfn=stem_word, cachesize=None)


def spelling_analyzer() -> SpellingTokenizer:
    """Return the analyzer of the field that holds the index's English vocabulary."""
    return SpellingTokenizer()


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


class MarkFormatter(Formatter):
    """Escape all text and wrap matched words in <mark>, the only tag a passage carries."""

    between = " "

    def _text(self, text: str) -> str:
        return html.escape(text, quote=False)

    def format_fragment(self, fragment: Any, replace: bool = False) -> str:
        """Return one passage, with an ellipsis where it cuts the text."""
        lead = "…" if fragment.startchar > 0 else ""
        tail = "…" if fragment.endchar < len(fragment.text) else ""
        return lead + super().format_fragment(fragment, replace) + tail

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

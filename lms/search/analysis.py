"""Text analysis for search: Tibetan syllables, Chinese words and English stems in one field.

Lesson text mixes scripts freely (a Tibetan title, a Chinese policy quote, an English
term), so one tokenizer walks the text by script run and hands each run to the rule
for its script. Every rule reports character offsets into the original text, so the
highlighter can mark the matched words, and positions that phrase queries can rely on.
What people type becomes a query in ``lms.search.query``; ``lms.search.highlight``
marks the matched words in a passage.
"""

import functools
import logging
import re
import threading
import unicodedata
import warnings
from collections.abc import Iterator
from typing import Any

from whoosh.analysis import STOP_WORDS, StemFilter, Token, Tokenizer
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.lang.porter import stem as porter_stem

TIBETAN = "\u0f00-\u0fff"
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_RUNS = re.compile(
    rf"(?P<bo>[{TIBETAN}]+)"
    rf"|(?P<zh>[{CJK}]+)"
    # Occupation codes (6-01-02-01) and dates stay one token so they can be searched whole.
    r"|(?P<code>\d+(?:[-./]\d+)+)"
    rf"|(?P<word>[^\W_{TIBETAN}{CJK}]+)"
)
# Letters, vowel signs and subjoined letters make a syllable; tsheg (U+0F0B, U+0F0C),
# shad (U+0F0D-U+0F12), head marks and every other sign in the block separate syllables,
# which is what folds ཐང་ཀ, ཐང་ཀ་ and ཐང་ཀ། into the same two tokens.
SYLLABLE = "\u0f00\u0f18\u0f19\u0f35\u0f37\u0f39\u0f3e-\u0f84\u0f86-\u0fbc"
_TIBETAN_PARTS = re.compile(rf"(?P<syl>[{SYLLABLE}]+)|(?P<num>[\u0f20-\u0f29]+)")
_TIBETAN_DIGITS = str.maketrans("༠༡༢༣༤༥༦༧༨༩", "0123456789")
# Case particles fused onto an open syllable (ཀའི, མོའོ, ཀའང, ཀའམ): the bare syllable is
# indexed at the same position too, so ཐང་ཀ finds ཐང་ཀའི་ལག་རྩལ.
_FUSED_PARTICLES = ("\u0f60\u0f72", "\u0f60\u0f7c", "\u0f60\u0f44", "\u0f60\u0f58")

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
            # A guessed word may have taken a character from its neighbour (调和成唐卡 is
            # cut 调和 成唐 卡): the bigrams across the stretch's edges are indexed too.
            first = start - 1 if start > 0 and (i == 0 or not unknown[i - 1]) else start
            for j in range(first, min(end, stretch_end[i], len(run) - 1)):
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

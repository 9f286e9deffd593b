"""Subtitle files: WebVTT or SRT in, clean WebVTT out.

The output is rebuilt from what was understood, never passed through: a
``WEBVTT`` header, then for each cue its times, the cue settings that are on
an allow-list with valid values, and its text with only the WebVTT inline tags
(``b i u c v lang ruby rt``, with classes and a voice name or language as their
only extras). Everything else, from ``<font>`` to ``<script>`` and STYLE
blocks, is dropped; text is NFC-normalised and escaped.
"""

from __future__ import annotations

import codecs
import html
import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePath

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

#: Subtitles for an hour of speech are about 100 KB; far above that is not subtitles.
MAX_SUBTITLE_BYTES = 1024 * 1024
ACCEPTED_SUFFIXES = frozenset({".vtt", ".srt"})

_TIME = r"(?:(\d+):)?(\d{2}):(\d{2})[.,](\d{3})"
_TIMING = re.compile(rf"^\s*{_TIME}[ \t]+-->[ \t]+{_TIME}(?:[ \t]+(.*))?$")
_SETTINGS = {
    "vertical": re.compile(r"rl|lr"),
    "line": re.compile(r"-?\d+|\d{1,3}(?:\.\d+)?%(?:,(?:start|center|end))?"),
    "position": re.compile(r"\d{1,3}(?:\.\d+)?%(?:,(?:line-left|center|line-right))?"),
    "size": re.compile(r"\d{1,3}(?:\.\d+)?%"),
    "align": re.compile(r"start|center|end|left|right"),
}
_TAG = re.compile(r"(<[^>\n]*>?)")
_TAG_PARTS = re.compile(r"<(/?)([A-Za-z]+)((?:\.[^\s.>]*)*)(?:[ \t]+([^>]*))?>?$")
_TIMESTAMP_TAG = re.compile(rf"<{_TIME}>")
_CLASS = re.compile(r"[A-Za-z0-9_-]+")
_LANGUAGE = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")
#: SRT files from subtitle editors carry ASS positioning codes such as {\an8}.
_ASS_CODE = re.compile(r"\{\\[^}]*\}")
_INLINE_TAGS = frozenset({"b", "i", "u", "c", "v", "lang", "ruby", "rt"})
#: Elements whose content goes with them, not just their tags.
_DROPPED_WITH_CONTENT = frozenset({"script", "style"})
_VTT_OTHER_BLOCK = re.compile(r"(?:NOTE|STYLE|REGION)(?:[ \t]|$)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


class SubtitleRejected(ValueError):
    """A subtitle file that cannot be used, with a reason for the instructor."""

    def __init__(self, reason: LazyString, code: str) -> None:
        super().__init__(code)
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class _Cue:
    start: float
    end: float
    settings: str
    text: str


def parse_subtitles(data: bytes, filename_hint: str = "", *,
                    max_bytes: int = MAX_SUBTITLE_BYTES) -> str:
    """Sanitised WebVTT from the bytes of a WebVTT or SRT file, or SubtitleRejected."""
    suffix = PurePath(filename_hint).suffix.lower()
    if suffix and suffix not in ACCEPTED_SUFFIXES:
        raise SubtitleRejected(_l("Subtitles must be a WebVTT (.vtt) or SRT (.srt) file."),
                               "format")
    if len(data) > max_bytes:
        raise SubtitleRejected(
            _l("The subtitle file is larger than %(limit)s KB.", limit=max_bytes // 1024),
            "too_large")
    text = _decode(data)
    if not text.strip():
        raise SubtitleRejected(_l("The subtitle file is empty."), "empty")
    cues = _parse_cues(text)
    if not cues:
        raise SubtitleRejected(_l("The subtitle file has no subtitles in it."), "no_cues")
    out = ["WEBVTT", ""]
    for cue in sorted(cues, key=lambda c: (c.start, c.end)):
        timing = f"{_format_time(cue.start)} --> {_format_time(cue.end)}"
        out += [f"{timing} {cue.settings}".rstrip(), cue.text, ""]
    return "\n".join(out)


def subtitle_text(vtt: str) -> str:
    """The words of every cue, one cue per line, for the search index."""
    lines: list[str] = []
    for cue in _parse_cues(vtt):
        words = " ".join(html.unescape(_TAG.sub("", cue.text)).split())
        if words and (not lines or lines[-1] != words):
            lines.append(words)
    return "\n".join(lines)


def _decode(data: bytes) -> str:
    """UTF-8 (a BOM allowed) or BOM-marked UTF-16, as editors save it; NFC; no binary."""
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not utf16 and b"\x00" in data:
        raise SubtitleRejected(_l("This is not a subtitle file."), "binary")
    try:
        text = data.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError:
        raise SubtitleRejected(
            _l("The subtitle file is not UTF-8 text. Save it as UTF-8 and upload it again."),
            "encoding") from None
    if _CONTROL.search(text):
        raise SubtitleRejected(_l("This is not a subtitle file."), "binary")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def _parse_cues(text: str) -> list[_Cue]:
    lines = text.split("\n")
    is_vtt = re.match(r"WEBVTT(?:[ \t]|$)", lines[0]) is not None
    blocks: list[list[tuple[int, str]]] = [[]]
    for number, line in enumerate(lines, start=1):
        if line.strip():
            blocks[-1].append((number, line))
        elif blocks[-1]:
            blocks.append([])
    cues = []
    for index, block in enumerate(b for b in blocks if b):
        if is_vtt and (index == 0 or _VTT_OTHER_BLOCK.match(block[0][1])):
            continue  # the header, comments, style sheets and regions
        cue = _parse_block(block, is_vtt)
        if cue is not None:
            cues.append(cue)
    return cues


def _parse_block(block: list[tuple[int, str]], is_vtt: bool) -> _Cue | None:
    """One cue from a blank-line-separated block; None for blocks that are not cues."""
    timing_at = next((i for i, (_, line) in enumerate(block[:2]) if "-->" in line), None)
    if timing_at is None:
        return None  # text outside any cue is never shown, so it is not kept
    number, line = block[timing_at]
    match = _TIMING.match(line)
    if match is None:
        raise SubtitleRejected(
            _l("Line %(line)s: the times are not written as 00:01:02.500 --> 00:01:04.000.",
               line=number), "timestamp")
    start, end = _seconds(match.groups()[0:4], number), _seconds(match.groups()[4:8], number)
    if end <= start:
        raise SubtitleRejected(
            _l("Line %(line)s: the subtitle ends before it starts.", line=number), "order")
    settings = _clean_settings(match.group(9) or "") if is_vtt else ""
    body = _clean_text("\n".join(raw for _, raw in block[timing_at + 1:]))
    if not _TAG.sub("", body).strip():
        return None
    return _Cue(start, end, settings, body)


def _seconds(parts: tuple[str | None, ...], line: int) -> float:
    if len(parts[0] or "") > 4:  # no video runs 10,000 hours; int() of 5,000 digits fails
        raise SubtitleRejected(
            _l("Line %(line)s: the hours of a time are too large.", line=line), "timestamp")
    hours, minutes, seconds, millis = (int(p) if p else 0 for p in parts)
    if minutes > 59 or seconds > 59:
        raise SubtitleRejected(
            _l("Line %(line)s: minutes and seconds go up to 59.", line=line), "timestamp")
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def _format_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _clean_settings(settings: str) -> str:
    kept = []
    for token in settings.split():
        name, _, value = token.partition(":")
        pattern = _SETTINGS.get(name)
        if pattern is not None and pattern.fullmatch(value):
            kept.append(f"{name}:{value}")
    return " ".join(kept)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clean_text(text: str) -> str:
    """Cue text with only allowed, balanced inline tags, and everything else escaped."""
    out: list[str] = []
    open_tags: list[str] = []
    skipping: str | None = None
    for piece in _TAG.split(_ASS_CODE.sub("", text)):
        parts = _TAG_PARTS.match(piece) if piece.startswith("<") else None
        if parts is None:
            if skipping is None and not _TIMESTAMP_TAG.fullmatch(piece):
                out.append(_escape(html.unescape(piece)))  # "a < b" stays text
            continue
        closing, name = parts.group(1) == "/", parts.group(2).lower()
        if skipping is not None:
            if closing and name == skipping:
                skipping = None
        elif name in _DROPPED_WITH_CONTENT and not closing:
            skipping = name
        elif name not in _INLINE_TAGS:
            continue
        elif closing:
            while name in open_tags:
                top = open_tags.pop()
                out.append(f"</{top}>")
                if top == name:
                    break
        else:
            tag = _start_tag(name, parts.group(3), parts.group(4), open_tags)
            if tag is not None:
                out.append(tag)
                open_tags.append(name)
    out.extend(f"</{name}>" for name in reversed(open_tags))
    lines = ("".join(out)).split("\n")
    return "\n".join(line.rstrip() for line in lines if line.strip())


def _start_tag(name: str, classes: str, annotation: str | None,
               open_tags: list[str]) -> str | None:
    """The cleaned start tag, or None where it would be invalid."""
    if name == "rt" and "ruby" not in open_tags:
        return None
    kept = "".join(f".{c}" for c in classes.split(".") if _CLASS.fullmatch(c))
    if name == "lang":
        language = (annotation or "").strip()
        if not _LANGUAGE.fullmatch(language):
            return None
        return f"<lang{kept} {language}>"
    if name == "v":
        voice = " ".join(html.unescape(annotation or "").split())
        return f"<v{kept} {_escape(voice)}>" if voice else f"<v{kept}>"
    return f"<{name}{kept}>"

"""Dashboard charts drawn on the server as SVG, readable without JavaScript.

The SVG scales to its container (viewBox, width 100%), names itself to
screen readers (role="img", <title>, <desc> listing every value), and keeps
to what the site's Content-Security-Policy allows: no scripts, no event
handlers, no style attributes or <style> elements. Colours are presentation
attributes and typefaces come from the site's CSS through the ``chart-*``
classes, which can also override the colours.

A chart drawn 560 units wide (about its column on a desktop, so its words
print at their size) and shrunk onto a phone prints its words at two thirds
of it, and small Tibetan cannot be read. ``narrow=True`` draws it for
a phone instead: 360 units wide, each bar's label on a line of its own
above the bar, the title over two lines if it needs them. ``responsive``
gives both, and the site's CSS shows the one that fits the screen.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from flask import has_request_context
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from lms.core.i18n import current_locale

WIDTH = 560
#: Where words start: some letters (Tibetan ཟླ, say) reach a little left of their origin.
INSET = 2
NARROW = 360
INK = "#333333"
MUTED = "#767676"
BAR = "#8a2b2b"
GRID = "#dddddd"
Number = float | int | Decimal
#: Text sizes in the chart's units, by role. The sizes are the SVG's own (the site's CSS
#: sets none), so the layout below measures exactly what is drawn.
SIZES = {"label": 14, "title": 17, "axis": 12, "empty": 15}
#: Tibetan is drawn larger, as the site's pages draw it: at the size of Chinese its
#: stacked letters are hard to read. Its letters are narrower (see ``_em_width``), so a
#: label keeps about its length. The axes carry numbers and dates.
TIBETAN_SIZES = {"label": 18, "title": 21, "axis": 13, "empty": 18}
# Characters XML forbids; a stray control character must not break the page.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: object) -> str:
    return _XML_INVALID.sub("", str(text))


def _number(value: float) -> str:
    rounded = round(float(value), 1)
    return f"{rounded:,.0f}" if rounded.is_integer() else f"{rounded:,.1f}"


def _with_unit(value: float, unit: str) -> str:
    return f"{_number(value)} {unit}".strip()


def _finite(value: Number) -> float:
    # No real count comes near 10**12; bounding values keeps the arithmetic finite.
    number = float(value)
    return max(-1e12, min(number, 1e12)) if math.isfinite(number) else 0.0


def _sizes() -> dict[str, int]:
    """Text sizes for the reader's language."""
    if has_request_context() and current_locale() == "bo":
        return TIBETAN_SIZES
    return SIZES


def _em_width(text: str) -> float:
    # A rough advance per character, erring wide (a label cut short reads better than one
    # cut off at the chart's edge): Chinese is one em wide; Tibetan letters ~0.6 em (they
    # measure 0.54-0.56 in Noto Serif Tibetan), their stacked consonants and vowel signs
    # no extra room; capitals and digits ~0.7 em (course codes are mostly these);
    # everything else ~0.6 em.
    width = 0.0
    for ch in text:
        if unicodedata.east_asian_width(ch) in "WF":
            width += 1.0
        elif unicodedata.combining(ch) or "\u0f71" <= ch <= "\u0fbc":
            continue
        elif "\u0f40" <= ch <= "\u0f6c" or ch.isupper() or ch.isdigit():
            width += 0.6 if ch >= "\u0f40" else 0.7
        else:
            width += 0.6
    return width


def _fit(text: str, max_em: float) -> str:
    """``text`` cut with an ellipsis so that it takes at most ``max_em``."""
    if _em_width(text) <= max_em:
        return text
    while text and _em_width(text) > max_em - 0.6:
        text = text[:-1]
    return text + "…"


_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
#: A break may come after a space or a tsheg, and before or after any Chinese character.
_PIECES = re.compile(rf"[{_CJK}]|[^\s\u0f0b{_CJK}]*[\s\u0f0b]+|[^\s\u0f0b{_CJK}]+")
#: Marks that close what comes before them and so never start a line.
_CLOSING = "\u0f0d\u0f0e\u0f11\u0f14\u3001\u3002\uff0c\uff1a\uff1b\uff01\uff1f\uff09\u300d\u300f"


def _wrap(text: str, max_em: float, lines: int = 2) -> list[str]:
    """``text`` in at most ``lines`` lines of ``max_em``, broken after a space or a tsheg
    or between Chinese characters, never before a shad or a closing mark; the last line
    is cut with an ellipsis if need be."""
    words: list[str] = []
    for piece in _PIECES.findall(text):
        if words and piece[0] in _CLOSING:
            words[-1] += piece
        else:
            words.append(piece)
    # (piece, whether it must start a line): a word wider than a line starts one of its
    # own and is broken anywhere.
    pieces: list[tuple[str, bool]] = []
    for word in words:
        if _em_width(word) > max_em:
            pieces.extend((ch, n == 0) for n, ch in enumerate(word))
        else:
            pieces.append((word, False))
    out = [""]
    for piece, starts_line in pieces:
        if out[-1] and (starts_line or _em_width(out[-1] + piece) > max_em):
            if len(out) == lines:
                return [*(line.rstrip() for line in out[:-1]),
                        _fit(out[-1] + piece + "…", max_em)]
            out.append("")
        out[-1] += piece
    return [line.rstrip() for line in out]


# Every fragment is a Markup template: format() escapes whatever goes into it.
_TEXT = Markup('<text class="{}" x="{:.1f}" y="{:.1f}" font-size="{}" text-anchor="{}" '
               'fill="{}">{}</text>')
_SVG = Markup('<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind} chart-{fit}" '
              'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMidYMid meet" '
              'role="img" aria-labelledby="{cid}-title {cid}-desc">'
              '<title id="{cid}-title">{title}</title><desc id="{cid}-desc">{desc}</desc>'
              '{heading}{body}</svg>')
_TIP = Markup("<g><title>{}</title>{}</g>")
_BAR = Markup('<rect class="chart-bar" x="{}" y="{}" width="{:.1f}" height="{}" rx="2" '
              'fill="{}"/>')
_GRID = Markup('<line class="chart-grid" x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" stroke="{}" '
               'stroke-width="1"/>')
_LINE = Markup('<polyline class="chart-line" points="{}" fill="none" stroke="{}" '
               'stroke-width="2" stroke-linejoin="round"/>')
_POINT = Markup('<circle class="chart-point" cx="{:.1f}" cy="{:.1f}" r="3.5" fill="{}"/>')


def _text(x: float, y: float, text: str, css: str, *, size: int, anchor: str = "start",
          fill: str = INK) -> Markup:
    return _TEXT.format(css, x, y, size, anchor, fill, text)


def _heading(title: str, narrow: bool) -> tuple[Markup, int]:
    """The printed title and how far below the chart's top it ends."""
    size = _sizes()["title"]
    if not narrow:
        return _text(INSET, 22, _fit(title, (WIDTH - INSET) / size), "chart-title", size=size), 0
    step = round(size * 1.4)  # Tibetan stacks need the room between lines
    lines = _wrap(title, (NARROW - INSET) / size)
    return Markup("").join(_text(INSET, 20 + step * n, line, "chart-title", size=size)
                           for n, line in enumerate(lines)), step * (len(lines) - 1)


def _svg(kind: str, title: str, desc: str, height: int, body: list[Markup],
         chart_id: str | None, data: object, *, narrow: bool = False,
         heading: Markup | None = None) -> Markup:
    cid = chart_id or "chart-" + hashlib.sha1(
        repr((kind, title, data, narrow)).encode("utf-8"), usedforsecurity=False).hexdigest()[:10]
    return _SVG.format(kind=kind, fit="narrow" if narrow else "wide",
                       width=NARROW if narrow else WIDTH, height=height, cid=cid, title=title,
                       desc=desc, heading=heading or _heading(title, narrow)[0],
                       body=Markup("").join(body))


def _empty(kind: str, title: str, chart_id: str | None, narrow: bool) -> Markup:
    message = str(_l("No data"))
    heading, below = _heading(title, narrow)
    width = NARROW if narrow else WIDTH
    body = [_text(width / 2, 78 + below, message, "chart-empty", size=_sizes()["empty"],
                  anchor="middle", fill=MUTED)]
    return _svg(kind, title, message, 120 + below, body, chart_id, (), narrow=narrow,
                heading=heading)


def _describe(items: Sequence[tuple[str, float]], unit: str) -> str:
    return "; ".join(f"{label}: {_with_unit(value, unit)}" for label, value in items)


def bar_chart(series: Sequence[tuple[str, Number]], *, title: str, unit: str = "",
              chart_id: str | None = None, narrow: bool = False) -> Markup:
    """Horizontal bars, one per (label, value), with each value printed at its bar's end.

    Wide, labels stand to the left of their bars; narrow, above them.
    """
    title, unit = _clean(title), _clean(unit)
    if not series:
        return _empty("bar", title, chart_id, narrow)
    items = [(_clean(label), _finite(value)) for label, value in series]
    heading, below = _heading(title, narrow)
    printed = [_with_unit(value, unit) for _, value in items]
    size = _sizes()["label"]
    grow = size - SIZES["label"]  # larger (Tibetan) text: rows grow to match
    widest = max(_em_width(text) for text in printed) * size + 8
    if narrow:
        # Label and value share a line above a full-width bar.
        bar_left, bar_room, row_h, top = 0, NARROW, 46 + 2 * grow, 34 + below
    else:
        # Labels take the room the longest needs, up to 45% of the width; bars leave room
        # for the widest value after them (a long unit must not be cut).
        label_width = min(max(max(_em_width(label) for label, _ in items) * size + INSET, 80),
                          WIDTH * 0.45)
        bar_left, row_h, top = label_width + 10, 30 + grow, 40 + grow
        bar_room = max(WIDTH - bar_left - 6 - widest, 120)
    # Negative values have no bar to draw; their printed value still tells the truth.
    scale = bar_room / (max(max(v for _, v in items), 0) or 1)
    body = []
    for i, ((label, value), value_text) in enumerate(zip(items, printed, strict=True)):
        y = top + i * row_h
        length = max(value, 0) * scale
        if narrow:
            room = (NARROW - _em_width(value_text) * size) / size - 1.5
            # Tibetan letters stack below the line: the bar keeps clear of them.
            line = y + 16 + grow
            shown = (_text(INSET, line, _fit(label, max(room, 3)), "chart-label", size=size)
                     + _BAR.format(bar_left, y + 27 + 2 * grow, length, 12, BAR)
                     + _text(NARROW, line, value_text, "chart-value", size=size, anchor="end"))
        else:
            line = y + 15 + grow
            shown = (_text(label_width, line, _fit(label, (label_width - INSET) / size),
                           "chart-label", size=size, anchor="end")
                     + _BAR.format(f"{bar_left:.1f}", y + 4, length, row_h - 10, BAR)
                     + _text(bar_left + length + 6, line, value_text, "chart-value",
                             size=size))
        body.append(_TIP.format(f"{label}: {value_text}", shown))
    height = top + len(items) * row_h + 8
    return _svg("bar", title, _describe(items, unit), height, body, chart_id, items,
                narrow=narrow, heading=heading)


def _tick_step(low: float, high: float) -> float:
    """A round gridline spacing (1, 2 or 5 times a power of ten) giving at most five steps."""
    raw = (high - low) / 4
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= raw)


def line_chart(points: Sequence[tuple[str, Number]], *, title: str, unit: str = "",
               chart_id: str | None = None, narrow: bool = False) -> Markup:
    """A line through (label, value) points in order, e.g. hours by month."""
    title, unit = _clean(title), _clean(unit)
    if not points:
        return _empty("line", title, chart_id, narrow)
    items = [(_clean(label), _finite(value)) for label, value in points]
    heading, below = _heading(title, narrow)
    width = NARROW if narrow else WIDTH
    left, right = (48, width - 24) if narrow else (64, width - 32)
    axis = _sizes()["axis"]
    top, bottom = 56 + below, 240 + below
    height = bottom + 36
    values = [v for _, v in items]
    step = _tick_step(min(0.0, *values), max(values))
    low = math.floor(min(0.0, *values) / step) * step
    ticks = max(math.ceil(max(values) / step - low / step), 1)
    span = ticks * step
    # The axis leaves room for its widest number (a region's hours run to six figures).
    numbers = [_number(low + tick * step) for tick in range(ticks + 1)]
    left = max(left, max(_em_width(text) for text in [*numbers, unit]) * axis + 8 + INSET)

    def y_of(value: float) -> float:
        return bottom - (value - low) / span * (bottom - top)

    gap = (right - left) / max(len(items) - 1, 1)

    def x_of(index: int) -> float:
        return (left + right) / 2 if len(items) == 1 else left + index * gap

    body = []
    for tick, number in enumerate(numbers):
        y = y_of(low + tick * step)
        body.append(_GRID.format(f"{left:.1f}", y, right, y, GRID))
        body.append(_text(left - 8, y + 4, number, "chart-axis", size=axis,
                          anchor="end", fill=MUTED))
    if unit:
        body.append(_text(left - 8, top - 14, unit, "chart-axis", size=axis, anchor="end",
                          fill=MUTED))
    every = math.ceil(len(items) / (4 if narrow else 8))
    for i, (label, _) in enumerate(items):
        if i % every == 0:
            body.append(_text(x_of(i), bottom + 20, _fit(label, 7), "chart-axis", size=axis,
                              anchor="middle", fill=MUTED))
    coords = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, (_, v) in enumerate(items))
    body.append(_LINE.format(coords, BAR))
    for i, (label, value) in enumerate(items):
        x, y = x_of(i), y_of(value)
        point = _POINT.format(x, y, BAR)
        if len(items) <= (6 if narrow else 12):
            number = _number(value)
            half = _em_width(number) * axis / 2  # the end points' numbers turn inwards
            anchor = ("end" if x + half > width - INSET else
                      "start" if x - half < INSET else "middle")
            point += _text(x, y - 9, number, "chart-value", size=axis, anchor=anchor)
        body.append(_TIP.format(f"{label}: {_with_unit(value, unit)}", point))
    return _svg("line", title, _describe(items, unit), height, body, chart_id, items,
                narrow=narrow, heading=heading)


def responsive(draw: Callable[..., Markup], data: Sequence[tuple[str, Number]], *,
               chart_id: str, **options: Any) -> Markup:
    """The chart drawn both wide and narrow; the site's CSS shows the one that fits."""
    return (draw(data, chart_id=chart_id, **options)
            + draw(data, chart_id=f"{chart_id}-narrow", narrow=True, **options))

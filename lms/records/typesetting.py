"""Typesetting for Yonten's PDFs: embedded Noto fonts, HarfBuzz shaping, wrapping, tables, QR.

Text is shaped with HarfBuzz so Tibetan stacks (སྒྲ, ཀྱི, བསྐྱེད) come out
right, and the Noto fonts are embedded as subsets so a file reads the same on
any phone. Lines break between Tibetan syllables (after a tsheg or shad) and
between Chinese characters. What goes on a page is decided in ``pdf.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import segno
from fpdf import FPDF

DEFAULT_FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/opentype/noto"),
)

# (family, style, file, index in a font collection, Debian package)
_FONTS = (
    ("tibetan", "", "NotoSerifTibetan-Regular.ttf", 0, "fonts-noto-core"),
    ("tibetan", "B", "NotoSerifTibetan-Bold.ttf", 0, "fonts-noto-core"),
    # Index 2 of the Noto CJK collections is the Simplified Chinese face (SC).
    ("cjk", "", "NotoSansCJK-Regular.ttc", 2, "fonts-noto-cjk"),
    ("cjk", "B", "NotoSansCJK-Bold.ttc", 2, "fonts-noto-cjk"),
    ("latin", "", "NotoSerif-Regular.ttf", 0, "fonts-noto-core"),
    ("latin", "B", "NotoSerif-Bold.ttf", 0, "fonts-noto-core"),
)

INK = (34, 34, 34)
MUTED = (110, 96, 80)
MAROON = (122, 30, 30)
GOLD = (176, 138, 62)
# The QR code alone is pure black, which keeps it crisp and easy to find.
QR_INK = (0, 0, 0)


class MissingFontError(RuntimeError):
    """A font needed for the PDFs is not installed."""

    def __init__(self, filename: str, dirs: Sequence[Path], package: str) -> None:
        searched = ", ".join(str(d) for d in dirs)
        super().__init__(
            f"Font {filename} was not found in {searched}; "
            f"install the Debian package {package}"
        )
        self.filename = filename
        self.package = package


def find_font(filename: str, dirs: Sequence[Path | str], package: str) -> Path:
    """Path of ``filename`` in the first of ``dirs`` that has it, else MissingFontError."""
    paths = [Path(d) for d in dirs]
    for directory in paths:
        candidate = directory / filename
        if candidate.is_file():
            return candidate
    raise MissingFontError(filename, paths, package)


_CJK = "\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_BREAK_AFTER = "\u0f0b\u0f0d\u0f0e "  # tsheg, shad, double shad, space
# A line may break after a tsheg, shad or space, and between Chinese characters.
_TOKEN = re.compile(rf"[{_CJK}]|[^{_CJK}{_BREAK_AFTER}]*[{_BREAK_AFTER}]+|[^{_CJK}{_BREAK_AFTER}]+")


class TrilingualPDF(FPDF):
    """An FPDF with the three scripts' fonts, syllable-aware wrapping, tables and QR codes."""

    def __init__(self, font_dirs: Sequence[Path | str], **kwargs: object) -> None:
        super().__init__(**kwargs)
        for family, style, filename, index, package in _FONTS:
            path = find_font(filename, font_dirs, package)
            self.add_font(family, style, str(path), collection_font_number=index)
        self.set_text_shaping(True)
        # Latin is the base face; Tibetan and Chinese come in glyph by glyph.
        self.set_fallback_fonts(["tibetan", "cjk"])
        self.set_font("latin", size=10)
        self.set_creator("Yonten")
        self._wraps: dict[tuple[str, float, str, float], list[str]] = {}

    def _render_styled_text_line(self, *args: object, **kwargs: object) -> bool:
        # fpdf2 bug #1772: a line that starts in a fallback font sets the base font
        # only inside its own q…Q block yet records it as set, so the next line is
        # printed with no font or the wrong one. Forgetting that record after every
        # line makes each line state its font.
        result = super()._render_styled_text_line(*args, **kwargs)
        self.current_font_is_set_on_page = False
        return result

    def wrap(self, text: str, width: float) -> list[str]:
        """``text`` broken into lines no wider than ``width`` in the current font."""
        # fpdf2's own wrapping re-shapes the line at every character; breaking
        # between syllables ourselves, and remembering repeated texts, is far faster.
        key = (text, round(width, 2), self.font_style, self.font_size_pt)
        if key not in self._wraps:
            lines: list[str] = []
            for paragraph in text.split("\n"):
                line = ""
                for token in _TOKEN.findall(paragraph):
                    if line and self.get_string_width(line + token.rstrip()) > width:
                        lines.extend(self._split_long(line.rstrip(), width))
                        line = token
                    else:
                        line += token
                lines.extend(self._split_long(line.rstrip(), width))
            self._wraps[key] = lines
        return self._wraps[key]

    def _split_long(self, line: str, width: float) -> list[str]:
        # A run with no break opportunity (a long code or URL) is cut anywhere.
        parts = []
        while len(line) > 1 and self.get_string_width(line) > width:
            cut = len(line) - 1
            while cut > 1 and self.get_string_width(line[:cut]) > width:
                cut -= 1
            parts.append(line[:cut])
            line = line[cut:]
        return [*parts, line]

    def text_line(self, text: str, size: float, *, bold: bool = False, w: float = 0,
                  align: str = "L", color: tuple[int, int, int] = INK) -> None:
        """Write wrapped text at the current position and move below it."""
        self.set_font("latin", "B" if bold else "", size)
        self.set_text_color(*color)
        x = self.get_x()
        width = w or self.w - self.r_margin - x
        for line in self.wrap(text, width):
            self.set_x(x)
            self.cell(width, leading(size), line, align=align, new_x="LEFT", new_y="NEXT")

    def table(self, widths: Sequence[float], headings: Sequence[str],
              rows: Iterable[Sequence[str]], *, size: float, numeric: int = 0) -> int:
        """Rows under a heading row that repeats on every page; return the row count.

        ``widths`` are in mm; the last ``numeric`` columns are right-aligned numbers.
        """
        aligns = ["L"] * (len(widths) - numeric) + ["R"] * numeric
        self.set_draw_color(*GOLD)
        self.set_line_width(0.15)
        self._table_row(widths, aligns, headings, size, heading=True)
        count = 0
        for cells in rows:
            if self._table_row(widths, aligns, cells, size, heading=False):
                self._table_row(widths, aligns, headings, size, heading=True)
                self._table_row(widths, aligns, cells, size, heading=False)
            count += 1
        return count

    def _table_row(self, widths: Sequence[float], aligns: Sequence[str],
                   cells: Sequence[str], size: float, *, heading: bool) -> bool:
        """Draw one row; if it does not fit, turn the page instead and return True."""
        pad, line_h = 1.2, leading(size)
        self.set_font("latin", "B" if heading else "", size - 1 if heading else size)
        wrapped = [self.wrap(text, w - 2 * pad) for text, w in zip(cells, widths, strict=True)]
        height = max(len(lines) for lines in wrapped) * line_h + 2 * pad
        if self.y + height > self.page_break_trigger:
            self.add_page()
            return not heading
        top, x = self.y, self.l_margin
        if heading:
            self.set_fill_color(246, 239, 226)
            self.rect(x, top, sum(widths), height, style="F")
        self.set_text_color(*(MAROON if heading else INK))
        for lines, w, align in zip(wrapped, widths, aligns, strict=True):
            for i, line in enumerate(lines):
                self.set_xy(x + pad, top + pad + i * line_h)
                self.cell(w - 2 * pad, line_h, line, align=align)
            x += w
        self.line(self.l_margin, top + height, self.l_margin + sum(widths), top + height)
        self.set_xy(self.l_margin, top + height)
        return False

    def qr_code(self, data: str, x: float, y: float, size: float) -> None:
        """Draw ``data`` as a vector QR code, ``size`` mm square, without quiet zone."""
        matrix = segno.make(data, error="m", micro=False).matrix
        module = size / len(matrix)
        self.set_fill_color(*QR_INK)
        for r, row in enumerate(matrix):
            c = 0
            while c < len(row):
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < len(row) and row[c]:
                    c += 1
                # A hair of overlap hides seams between neighbouring modules.
                self.rect(x + start * module, y + r * module,
                          (c - start) * module + 0.02, module + 0.02, style="F")


def leading(size: float) -> float:
    # Tibetan stacks reach far below the baseline: 1.55 x the size, in mm.
    return size * 0.3528 * 1.55

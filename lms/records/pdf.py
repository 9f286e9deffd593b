"""Certificate and lifelong-record PDFs in Tibetan, Chinese and English.

Text is shaped with HarfBuzz so Tibetan stacks (སྒྲ, ཀྱི, བསྐྱེད) come out
right, and the Noto fonts are embedded as subsets so the file reads the same
on any phone. Labels are printed in all three languages at once rather than
through gettext: a certificate or a record must read the same whoever
downloads it and whatever language their interface is in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
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

LABELS: dict[str, tuple[str, str, str]] = {
    "certificate": ("ལས་རིགས་ལག་རྩལ་སྦྱོང་བརྡར་ལག་ཁྱེར།", "职业技能培训证书",
                    "Vocational Skills Training Certificate"),
    "record": ("ཚེ་གང་སྦྱོང་བརྡར་ཡིག་ཚགས།", "终身职业技能培训电子档案",
               "Lifelong Vocational Skills Training Record"),
    "name": ("མིང་།", "姓名", "Name"),
    "id_number": ("ཐོབ་ཐང་ལག་ཁྱེར་ཨང་།", "身份证号", "ID number"),
    "course": ("སློབ་ཚན།", "课程", "Course"),
    "occupation": ("ལས་རིགས།", "职业（工种）", "Occupation"),
    "occupation_code": ("ལས་རིགས་ཨང་རྟགས།", "职业编码", "Occupation code"),
    "skill_level": ("ལག་རྩལ་རིམ་པ།", "技能等级", "Skill level"),
    "hours": ("སློབ་ཚོད།", "学时", "Hours"),
    "period": ("སྦྱོང་བརྡར་དུས་ཡུན།", "培训时间", "Training period"),
    "institution": ("སྦྱོང་བརྡར་ལས་ཁུངས།", "培训机构", "Training institution"),
    "issued_on": ("ལག་ཁྱེར་སྤྲོད་པའི་ཚེས་གྲངས།", "发证日期", "Date of issue"),
    "serial": ("ལག་ཁྱེར་ཨང་རྟགས།", "证书编号", "Certificate No."),
    "scan": ("ཨང་རྟགས་བཤེར་ནས་ར་སྤྲོད་བྱེད།", "扫码核验", "Scan to verify"),
    "generated_at": ("བཟོ་བའི་དུས་ཚོད།", "生成时间", "Generated at"),
    "total_hours": ("སློབ་ཚོད་ཁྱོན་བསྡོམས།", "累计学时", "Total hours"),
    "by_type": ("སྦྱོང་བརྡར་རིགས་ལྟར།", "按培训类型", "By training type"),
    "by_year": ("ལོ་ལྟར།", "按年度", "By year"),
    "by_institution": ("ལས་ཁུངས་ལྟར།", "按培训机构", "By institution"),
    "entries": ("སྦྱོང་བརྡར་ཟིན་ཐོ།", "培训记录", "Training entries"),
    "date": ("ཚེས་གྲངས།", "日期", "Date"),
    "kind": ("རིགས།", "类别", "Kind"),
    "training_type": ("སྦྱོང་བརྡར་རིགས།", "培训类型", "Training type"),
    "verified_time": ("ར་སྤྲོད་དུས་ཚོད།", "核验学习时长", "Verified study time"),
    "certificates": ("ལག་ཁྱེར།", "证书", "Certificates"),
    "status": ("གནས་སྟངས།", "状态", "Status"),
    "valid": ("ནུས་ལྡན།", "有效", "Valid"),
    "revoked": ("ཕྱིར་བསྡུས།", "已撤销", "Revoked"),
    "page": ("ཤོག་གྲངས།", "页码", "Page"),
    "year": ("ལོ།", "年度", "Year"),
    "none": ("མེད།", "无", "None"),
}


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


@dataclass(frozen=True)
class Multilingual:
    """One text in Tibetan, Chinese and English; any of them may be empty."""

    bo: str = ""
    zh: str = ""
    en: str = ""

    def lines(self, langs: Sequence[str] = ("bo", "zh", "en")) -> list[str]:
        """The non-empty texts among ``langs``, or the first non-empty one at all."""
        texts = [getattr(self, lang) for lang in langs if getattr(self, lang)]
        return texts or [t for t in (self.bo, self.zh, self.en) if t][:1]


@dataclass(frozen=True)
class CertificateData:
    """What a certificate shows; ``revoked`` is for the caller and is not printed."""

    serial: str
    learner_name: str
    masked_id_number: str
    course_title: Multilingual
    occupation_name: Multilingual
    occupation_code: str
    skill_level: Multilingual
    hours: Decimal
    start_date: date
    end_date: date
    institution_name: Multilingual
    issued_on: date
    revoked: bool = False


@dataclass(frozen=True)
class RecordTotal:
    """One line of a totals table: a label (type, year or institution) and its hours."""

    label: Multilingual
    hours: Decimal


@dataclass(frozen=True)
class RecordEntry:
    """One ledger entry as printed; reversing entries carry negative hours."""

    occurred_on: date
    institution: Multilingual
    course: Multilingual
    kind: Multilingual
    training_type: Multilingual
    hours: Decimal
    verified_seconds: int


@dataclass(frozen=True)
class RecordCertificate:
    """One certificate in the record's list."""

    serial: str
    course_title: Multilingual
    skill_level: Multilingual
    hours: Decimal
    issued_on: date
    revoked: bool = False


@dataclass(frozen=True)
class RecordData:
    """A learner's whole lifelong training record."""

    learner_name: str
    masked_id_number: str
    generated_at: datetime  # printed in its own time zone; naive means UTC
    totals_by_type: list[RecordTotal] = field(default_factory=list)
    totals_by_year: list[RecordTotal] = field(default_factory=list)
    totals_by_institution: list[RecordTotal] = field(default_factory=list)
    entries: Iterable[RecordEntry] = ()
    certificates: list[RecordCertificate] = field(default_factory=list)

    @property
    def total_hours(self) -> Decimal:
        """All credited hours: the sum of the totals by training type."""
        return sum((t.hours for t in self.totals_by_type), Decimal(0))


def find_font(filename: str, dirs: Sequence[Path | str], package: str) -> Path:
    """Path of ``filename`` in the first of ``dirs`` that has it, else MissingFontError."""
    paths = [Path(d) for d in dirs]
    for directory in paths:
        candidate = directory / filename
        if candidate.is_file():
            return candidate
    raise MissingFontError(filename, paths, package)


def format_hours(hours: Decimal) -> str:
    """Hours without trailing zeros: 48, 1.5, 0.25, -2."""
    text = f"{hours.quantize(Decimal('0.01')) + 0:f}"  # + 0 turns -0.00 into 0.00
    return text.rstrip("0").rstrip(".") if "." in text else text


def _aware(moment: datetime) -> datetime:
    # Naive datetimes are UTC by the project's convention.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def format_seconds(seconds: int) -> str:
    """A study time as H:MM:SS."""
    minutes, secs = divmod(max(int(seconds), 0), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


_CJK = "\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_BREAK_AFTER = "\u0f0b\u0f0d\u0f0e "  # tsheg, shad, double shad, space
# A line may break after a tsheg, shad or space, and between Chinese characters.
_TOKEN = re.compile(rf"[{_CJK}]|[^{_CJK}{_BREAK_AFTER}]*[{_BREAK_AFTER}]+|[^{_CJK}{_BREAK_AFTER}]+")


def _label(key: str, sep: str = "\n") -> str:
    return sep.join(LABELS[key])


class _TrilingualPDF(FPDF):
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
            self.cell(width, _leading(size), line, align=align, new_x="LEFT", new_y="NEXT")

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
        pad, line_h = 1.2, _leading(size)
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


def _leading(size: float) -> float:
    # Tibetan stacks reach far below the baseline: 1.55 x the size, in mm.
    return size * 0.3528 * 1.55


def render_certificate(cert: CertificateData, *, verify_url: str,
                       font_dirs: Sequence[Path | str] = DEFAULT_FONT_DIRS) -> bytes:
    """An unsigned A4-landscape certificate PDF with a QR code pointing at ``verify_url``."""
    pdf = _TrilingualPDF(font_dirs, orientation="L", format="A4")
    pdf.set_title(f"{LABELS['certificate'][1]} {cert.serial}")
    pdf.set_author(" ".join(cert.institution_name.lines(("zh", "bo"))))
    pdf.set_creation_date(datetime.combine(cert.issued_on, datetime.min.time(), UTC))
    pdf.set_auto_page_break(False)
    pdf.set_margins(24, 18, 24)
    pdf.add_page()
    _certificate_frame(pdf)

    pdf.set_xy(24, 22)
    pdf.text_line(LABELS["certificate"][0], 24, bold=True, align="C", color=MAROON)
    pdf.text_line(LABELS["certificate"][1], 21, bold=True, align="C", color=MAROON)
    pdf.set_char_spacing(1.2)
    pdf.text_line(LABELS["certificate"][2].upper(), 11, align="C", color=MUTED)
    pdf.set_char_spacing(0)
    pdf.set_draw_color(*GOLD)
    pdf.set_line_width(0.5)
    pdf.line(108, pdf.get_y() + 2, 189, pdf.get_y() + 2)

    rows: list[list[tuple[str, list[str], float]]] = [
        [("name", [cert.learner_name], 17), ("id_number", [cert.masked_id_number], 12)],
        [("course", cert.course_title.lines(), 12.5)],
        [("occupation", cert.occupation_name.lines(), 11),
         ("occupation_code", [cert.occupation_code], 11),
         ("skill_level", cert.skill_level.lines(), 11)],
        [("hours", [format_hours(cert.hours)], 12),
         ("period", [f"{cert.start_date.isoformat()} – {cert.end_date.isoformat()}"], 12)],
    ]
    y = pdf.get_y() + 7
    for row in rows:
        y = _field_row(pdf, row, x=26, y=y, width=190) + 3.5

    qr_x, qr_y, qr_size = 236, 78, 38
    pdf.qr_code(verify_url, qr_x, qr_y, qr_size)
    pdf.set_draw_color(*GOLD)
    pdf.set_line_width(0.3)
    pdf.rect(qr_x - 3, qr_y - 3, qr_size + 6, qr_size + 6)
    pdf.set_xy(qr_x - 8, qr_y + qr_size + 5)
    for key in ("scan", "serial"):
        bo, zh, en = LABELS[key]
        pdf.text_line(bo, 7, w=qr_size + 16, align="C", color=MUTED)
        pdf.text_line(f"{zh}  ·  {en}", 7, w=qr_size + 16, align="C", color=MUTED)
    pdf.text_line(cert.serial, 10.5, bold=True, w=qr_size + 16, align="C")

    pdf.set_xy(26, 176)
    pdf.text_line(verify_url, 7, w=120, color=MUTED)
    pdf.set_xy(160, 164)
    pdf.text_line(_label("institution", "  "), 7, w=112, align="R", color=MUTED)
    for line in cert.institution_name.lines():
        pdf.text_line(line, 11.5, bold=True, w=112, align="R")
    pdf.text_line(f"{_label('issued_on', '  ')}   {cert.issued_on.isoformat()}", 8,
                  w=112, align="R", color=MUTED)
    return bytes(pdf.output())


def _certificate_frame(pdf: _TrilingualPDF) -> None:
    pdf.set_fill_color(253, 250, 243)
    pdf.rect(0, 0, 297, 210, style="F")
    pdf.set_draw_color(*MAROON)
    pdf.set_line_width(1.6)
    pdf.rect(8, 8, 281, 194)
    pdf.set_draw_color(*GOLD)
    pdf.set_line_width(0.35)
    pdf.rect(12, 12, 273, 186)
    pdf.set_fill_color(*GOLD)
    for cx, cy in ((12, 12), (285, 12), (12, 198), (285, 198)):
        pdf.polygon([(cx - 2.6, cy), (cx, cy - 2.6), (cx + 2.6, cy), (cx, cy + 2.6)], style="F")


def _field_row(pdf: _TrilingualPDF, fields: list[tuple[str, list[str], float]],
               *, x: float, y: float, width: float) -> float:
    """Print labelled fields side by side; return the y below the tallest one."""
    gap = 6
    w = (width - gap * (len(fields) - 1)) / len(fields)
    bottom = y
    for i, (key, lines, size) in enumerate(fields):
        pdf.set_xy(x + i * (w + gap), y)
        pdf.text_line(_label(key, "  ·  "), 7, w=w, color=MUTED)
        for n, line in enumerate(lines):
            pdf.text_line(line, size if n == 0 else size - 1.5, bold=n == 0, w=w)
        bottom = max(bottom, pdf.get_y())
    pdf.set_draw_color(*GOLD)
    pdf.set_line_width(0.15)
    pdf.line(x, bottom + 1.5, x + width, bottom + 1.5)
    return bottom + 1.5


class _RecordPDF(_TrilingualPDF):
    running_title = ""

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_xy(self.l_margin, 8)
        self.text_line(self.running_title, 7, color=MUTED)
        self.set_draw_color(*GOLD)
        self.set_line_width(0.2)
        self.line(self.l_margin, 15, self.w - self.r_margin, 15)
        self.set_y(19)

    def footer(self) -> None:
        self.set_xy(self.l_margin, -12)
        # The page count goes last: fpdf2 reserves the alias's width for it.
        self.text_line(f"{_label('page', '  ·  ')}   {self.page_no()} / {{nb}}", 7,
                       align="C", color=MUTED)


def render_record(record: RecordData, *,
                  font_dirs: Sequence[Path | str] = DEFAULT_FONT_DIRS) -> bytes:
    """The learner's lifelong training record as an A4 PDF, as many pages as it takes."""
    pdf = _RecordPDF(font_dirs, orientation="P", format="A4")
    pdf.running_title = f"{LABELS['record'][0]}  {LABELS['record'][1]}  —  {record.learner_name}"
    pdf.set_title(f"{LABELS['record'][1]} {record.learner_name}")
    generated_at = _aware(record.generated_at)
    pdf.set_creation_date(generated_at.astimezone(UTC))
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=17)
    pdf.add_page()

    for text, size in zip(LABELS["record"], (19, 17, 10.5), strict=True):
        pdf.text_line(text, size, bold=size > 11, align="C", color=MAROON if size > 11 else MUTED)
    offset = generated_at.strftime("%z")
    zone = "UTC" if offset == "+0000" else f"UTC{offset[:3]}:{offset[3:]}"
    generated = f"{generated_at:%Y-%m-%d %H:%M} {zone}"
    y = pdf.get_y() + 4
    for row in ([("name", [record.learner_name], 12), ("id_number", [record.masked_id_number], 11)],
                [("generated_at", [generated], 10),
                 ("total_hours", [format_hours(record.total_hours)], 12)]):
        y = _field_row(pdf, row, x=15, y=y, width=180) + 2.5
    pdf.set_y(y)

    for key, heading, totals in (
        ("by_type", "training_type", record.totals_by_type),
        ("by_year", "year", record.totals_by_year),
        ("by_institution", "institution", record.totals_by_institution),
    ):
        _section_title(pdf, key)
        _table(pdf, (90, 30), [_label(heading), _label("hours")],
               ([_cell(t.label), format_hours(t.hours)] for t in totals), numeric=1)

    _section_title(pdf, "entries")
    _table(pdf, (19, 38, 40, 22, 27, 14, 20),
           [_label(k) for k in ("date", "institution", "course", "kind", "training_type",
                                "hours", "verified_time")],
           ([e.occurred_on.isoformat(), _cell(e.institution), _cell(e.course), _cell(e.kind),
             _cell(e.training_type), format_hours(e.hours), format_seconds(e.verified_seconds)]
            for e in record.entries), size=7.5, numeric=2)

    _section_title(pdf, "certificates")
    _table(pdf, (30, 50, 30, 24, 26, 20),
           [_label(k) for k in ("serial", "course", "skill_level", "hours", "issued_on",
                                "status")],
           ([c.serial, _cell(c.course_title), _cell(c.skill_level), format_hours(c.hours),
             c.issued_on.isoformat(), _label("revoked" if c.revoked else "valid")]
            for c in record.certificates), size=7.5)
    return bytes(pdf.output())


def _cell(text: Multilingual) -> str:
    return "\n".join(text.lines(("bo", "zh")))


def _section_title(pdf: _RecordPDF, key: str) -> None:
    pdf.ln(5)
    # Keep a title together with the start of its table.
    if pdf.get_y() > pdf.page_break_trigger - 40:
        pdf.add_page()
    pdf.text_line(_label(key, "   "), 11, bold=True, color=MAROON)
    pdf.ln(1)


def _table(pdf: _RecordPDF, widths: Sequence[float], headings: list[str],
           rows: Iterable[list[str]], *, size: float = 8.5, numeric: int = 0) -> None:
    if not pdf.table(widths, headings, rows, size=size, numeric=numeric):
        pdf.ln(1)
        pdf.text_line(_label("none", "  ·  "), size, color=MUTED)

"""Certificate and lifelong-record PDFs in Tibetan, Chinese and English.

What each document says and where it goes on the page; the fonts, shaping,
wrapping and tables are in ``typesetting.py``. Labels are printed in all
three languages at once rather than through gettext: a certificate or a
record must read the same whoever downloads it and whatever language their
interface is in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from lms.records.typesetting import (
    DEFAULT_FONT_DIRS,
    GOLD,
    MAROON,
    MUTED,
    MissingFontError,
    TrilingualPDF,
    find_font,
)

__all__ = [
    "DEFAULT_FONT_DIRS", "CERTIFICATE_KEYWORD", "CertificateData", "LABELS", "MissingFontError",
    "Multilingual", "RecordCertificate", "RecordData", "RecordEntry", "RecordTotal",
    "find_font", "format_hours", "format_seconds", "render_certificate", "render_record",
]

#: Written into a certificate's metadata (``/Keywords``) so a checker can read the serial.
CERTIFICATE_KEYWORD = "yonten-certificate:"

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


@dataclass(frozen=True)
class Multilingual:
    """One text in Tibetan, Chinese and English; any of them may be empty."""

    bo: str = ""
    zh: str = ""
    en: str = ""

    def lines(self, langs: Sequence[str] = ("bo", "zh", "en")) -> list[str]:
        """The different non-empty texts among ``langs`` (a year is one line, not two), or
        the first non-empty one at all."""
        texts = list(dict.fromkeys(getattr(self, lang) for lang in langs if getattr(self, lang)))
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


def _label(key: str, sep: str = "\n") -> str:
    return sep.join(LABELS[key])


def render_certificate(cert: CertificateData, *, verify_url: str,
                       font_dirs: Sequence[Path | str] = DEFAULT_FONT_DIRS) -> bytes:
    """An unsigned A4-landscape certificate PDF with a QR code pointing at ``verify_url``."""
    pdf = TrilingualPDF(font_dirs, orientation="L", format="A4")
    pdf.set_title(f"{LABELS['certificate'][1]} {cert.serial}")
    pdf.set_author(" ".join(cert.institution_name.lines(("zh", "bo"))))
    pdf.set_keywords(CERTIFICATE_KEYWORD + cert.serial)
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


def _certificate_frame(pdf: TrilingualPDF) -> None:
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


def _field_row(pdf: TrilingualPDF, fields: list[tuple[str, list[str], float]],
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


class _RecordPDF(TrilingualPDF):
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

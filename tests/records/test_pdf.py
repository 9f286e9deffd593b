"""Certificate and record PDFs: embedded fonts, QR code, pagination, missing fonts."""

import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import segno
from PIL import Image

from lms.records.pdf import (
    DEFAULT_FONT_DIRS,
    CertificateData,
    MissingFontError,
    Multilingual,
    RecordCertificate,
    RecordData,
    RecordEntry,
    RecordTotal,
    render_certificate,
    render_record,
)

VERIFY_URL = "https://yonten.example.org/records/verify/YT-2024-000123"
LHASA = Multilingual("ལྷ་ས་གྲོང་ཁྱེར་ལས་རིགས་ལག་རྩལ་སློབ་གྲྭ།", "拉萨市职业技术学校",
                     "Lhasa Vocational and Technical School")
THANGKA = Multilingual("ཐང་ཀ་རི་མོ་འབྲི་ཐབས་ཀྱི་ལག་རྩལ་སྦྱོང་བརྡར།", "唐卡绘画技法培训",
                       "Thangka Painting Techniques")
EMPLOYMENT = Multilingual("ལས་རིགས་ལག་རྩལ་སྦྱོང་བརྡར།", "就业技能培训")

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils is not installed",
)


def certificate(**changes: object) -> CertificateData:
    """A certificate for a thangka course, in Tibetan, Chinese and English."""
    fields: dict[str, object] = dict(
        serial="YT-2024-000123",
        learner_name="བསྟན་འཛིན་སྒྲོལ་མ། 丹增卓玛",
        masked_id_number="540102********0023",
        course_title=THANGKA,
        occupation_name=Multilingual("ཐང་ཀ་རི་མོ་བ།", "唐卡画师", "Thangka painter"),
        occupation_code="6-08-03-01",
        skill_level=Multilingual("རིམ་པ་ལྔ་པ།", "五级", "Level 5"),
        hours=Decimal("48.00"),
        start_date=date(2024, 3, 1),
        end_date=date(2024, 6, 30),
        institution_name=LHASA,
        issued_on=date(2024, 7, 2),
    )
    fields.update(changes)
    return CertificateData(**fields)  # type: ignore[arg-type]


def record(entry_count: int) -> RecordData:
    """A record with ``entry_count`` lesson credits and one certificate."""
    entries = (
        RecordEntry(
            occurred_on=date(2023 + i // 365, 1 + i // 31 % 12, 1 + i % 28),
            institution=LHASA,
            course=THANGKA,
            kind=Multilingual("ཚན་པ་གྲུབ།", "课时完成"),
            training_type=EMPLOYMENT,
            hours=Decimal("1.50"),
            verified_seconds=2700,
        )
        for i in range(entry_count)
    )
    total = Decimal("1.50") * entry_count
    return RecordData(
        learner_name="བསྟན་འཛིན་སྒྲོལ་མ། 丹增卓玛",
        masked_id_number="540102********0023",
        generated_at=datetime(2024, 7, 2, 3, 4, tzinfo=UTC),
        totals_by_type=[RecordTotal(EMPLOYMENT, total)],
        totals_by_year=[RecordTotal(Multilingual("༢༠༢༣", "2023年"), total)],
        totals_by_institution=[RecordTotal(LHASA, total)],
        entries=entries,
        certificates=[RecordCertificate("YT-2024-000123", THANGKA, Multilingual(zh="五级"),
                                        Decimal("48"), date(2024, 7, 2))],
    )


def page_texts(pdf: bytes, tmp_path: Path) -> list[str]:
    """The text poppler extracts from each page (reliable for Latin script only)."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True)
    return out.stdout.decode("utf-8").split("\f")[:-1]


def test_certificate_embeds_subsets_of_the_tibetan_chinese_and_latin_fonts():
    pdf = render_certificate(certificate(), verify_url=VERIFY_URL)

    assert pdf.startswith(b"%PDF-")
    for font in (b"NotoSerifTibetan", b"NotoSansCJKSC", b"NotoSerif"):
        # A six-letter tag and "+" mark a subset embedded in the file.
        assert b"+" + font in pdf
    assert b"/FontFile2" in pdf  # TrueType outlines (Tibetan, Latin) are inside
    assert b"/FontFile3" in pdf  # and so are the CFF outlines of the Chinese face


def test_certificate_is_a_single_a4_landscape_page():
    pdf = render_certificate(certificate(), verify_url=VERIFY_URL)

    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") == 1
    assert b"/MediaBox [0 0 841.89 595.28]" in pdf


def test_revoked_flag_is_not_printed_on_the_certificate():
    valid = render_certificate(certificate(), verify_url=VERIFY_URL)
    revoked = render_certificate(certificate(revoked=True), verify_url=VERIFY_URL)

    assert valid == revoked


@needs_poppler
def test_qr_code_on_the_printed_certificate_encodes_the_verification_url(tmp_path):
    pdf = tmp_path / "cert.pdf"
    pdf.write_bytes(render_certificate(certificate(), verify_url=VERIFY_URL))
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-singlefile", str(pdf),
                    str(tmp_path / "page")], check=True)
    page = Image.open(tmp_path / "page.png").convert("RGB")

    # Only the QR code is printed in pure black; its finder patterns span the symbol.
    mask = Image.eval(page.convert("L"), lambda v: 255 if v == 0 else 0)
    left, top, right, bottom = mask.getbbox()
    expected = segno.make(VERIFY_URL, error="m", micro=False).matrix
    size = len(expected)
    module = (right - left) / size
    printed = [
        [page.getpixel((int(left + (c + 0.5) * module), int(top + (r + 0.5) * module)))[0] < 128
         for c in range(size)]
        for r in range(size)
    ]

    assert abs((bottom - top) - (right - left)) <= 2
    assert printed == [[bool(m) for m in row] for row in expected]


@needs_poppler
def test_certificate_prints_the_serial_and_the_verification_url(tmp_path):
    (text,) = page_texts(render_certificate(certificate(), verify_url=VERIFY_URL), tmp_path)

    assert "YT-2024-000123" in text
    assert VERIFY_URL in text
    assert "Thangka Painting Techniques" in text


@needs_poppler
def test_record_with_500_entries_runs_over_many_numbered_pages_with_repeated_headings(tmp_path):
    pdf = render_record(record(500))
    pages = page_texts(pdf, tmp_path)

    assert len(pages) > 15
    assert f"Page {len(pages)} / {len(pages)}" in " ".join(pages[-1].split())
    for text in pages[1:-1]:
        assert "Training institution" in text  # the table heading, again on every page
    assert b"+NotoSerifTibetan" in pdf and b"+NotoSansCJKSC" in pdf


@needs_poppler
def test_record_without_entries_or_certificates_says_none_and_fits_one_page(tmp_path):
    empty = RecordData(learner_name="丹增卓玛", masked_id_number="540102********0023",
                       generated_at=datetime(2024, 7, 2, tzinfo=UTC))
    (text,) = page_texts(render_record(empty), tmp_path)

    assert "Training entries" in text
    assert text.count("None") == 5  # three totals, the entries and the certificates


def test_missing_tibetan_font_names_the_file_and_the_debian_package(tmp_path):
    with pytest.raises(MissingFontError) as caught:
        render_certificate(certificate(), verify_url=VERIFY_URL, font_dirs=[tmp_path])

    assert "NotoSerifTibetan-Regular.ttf" in str(caught.value)
    assert "fonts-noto-core" in str(caught.value)
    assert str(tmp_path) in str(caught.value)


def test_missing_chinese_font_names_the_cjk_package(tmp_path):
    for name in ("NotoSerifTibetan-Regular.ttf", "NotoSerifTibetan-Bold.ttf",
                 "NotoSerif-Regular.ttf", "NotoSerif-Bold.ttf"):
        source = next(d / name for d in DEFAULT_FONT_DIRS if (d / name).exists())
        (tmp_path / name).symlink_to(source)

    with pytest.raises(MissingFontError, match="NotoSansCJK-Regular.ttc.*fonts-noto-cjk"):
        render_record(record(1), font_dirs=[tmp_path])


def test_record_pages_are_a4_portrait():
    pdf = render_record(record(3))

    assert b"/MediaBox [0 0 595.28 841.89]" in pdf
    assert pdf.startswith(b"%PDF-")


@needs_poppler
def test_record_shows_when_it_was_made_in_the_time_zone_it_was_made_in(tmp_path):
    beijing_time = timezone(timedelta(hours=8))
    made = RecordData(learner_name="丹增卓玛", masked_id_number="540102********0023",
                      generated_at=datetime(2024, 7, 2, 11, 4, tzinfo=beijing_time))
    (text,) = page_texts(render_record(made), tmp_path)

    assert "2024-07-02 11:04 UTC+08:00" in text


def test_a_text_the_same_in_tibetan_and_chinese_is_printed_once():
    assert Multilingual("2026", "2026", "2026").lines(("bo", "zh")) == ["2026"]
    assert EMPLOYMENT.lines(("bo", "zh")) == ["ལས་རིགས་ལག་རྩལ་སྦྱོང་བརྡར།", "就业技能培训"]
    assert Multilingual("", "", "C-12").lines(("bo", "zh")) == ["C-12"]

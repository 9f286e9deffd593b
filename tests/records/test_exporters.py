"""Export formats: encodings, formula neutralisation, sheets, xAPI shape, flat memory."""

import csv
import io
import json
import os
import re
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lms.records.exporters import EXPORTERS, Column, get_exporter

NS = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
LHASA_TIME = timezone(timedelta(hours=8))
COLUMNS = [
    Column("learner", "Learner"),
    Column("course", "Course"),
    Column("hours", "Hours", "decimal"),
    Column("seconds", "Verified seconds", "int"),
    Column("credited_on", "Date", "date"),
    Column("credited_at", "Credited at (UTC)", "datetime"),
]
FORMULAS = ["=cmd|' /C calc'!A0", "+1", "-1+1", "@SUM(1)", "\t=1+1", "\r=1+1"]


def ledger_row(i: int = 0, **changes: object) -> dict[str, object]:
    """One exported ledger row, with Tibetan and Chinese text."""
    row: dict[str, object] = {
        "learner": "བསྟན་འཛིན་སྒྲོལ་མ། 丹增卓玛",
        "course": "ཐང་ཀ་རི་མོ་འབྲི་ཐབས། 唐卡绘画技法",
        "hours": Decimal("1.50"),
        "seconds": 2700 + i,
        "credited_on": date(2024, 5, 1),
        "credited_at": datetime(2024, 5, 1, 16, 30, tzinfo=LHASA_TIME),
        "id_number": "540102199001010023",  # present in the row, never exported
    }
    row.update(changes)
    return row


def export(key: str, rows: list[dict[str, object]], **options: object) -> bytes:
    """The bytes an export of ``rows`` in format ``key`` produces."""
    out = io.BytesIO()
    assert get_exporter(key, **options).write(rows, COLUMNS, out) == len(rows)
    return out.getvalue()


def csv_rows(data: bytes) -> list[list[str]]:
    """CSV bytes read back the way a program would."""
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _unescape(text: str) -> str:
    # OOXML writes control characters such as CR as _x000D_.
    return re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def xlsx_sheets(data: bytes) -> dict[str, list[list[str]]]:
    """Each sheet's name and cell values, read straight from the workbook's XML."""
    book = zipfile.ZipFile(io.BytesIO(data))
    names = [s.get("name") for s in
             ElementTree.fromstring(book.read("xl/workbook.xml")).iterfind(".//x:sheet", NS)]
    sheets = {}
    for number, name in enumerate(names, start=1):
        root = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{number}.xml"))
        sheets[name] = [
            [_unescape("".join(c.itertext())) for c in row.iterfind("x:c", NS)]
            for row in root.iterfind(".//x:sheetData/x:row", NS)
        ]
    return sheets


def test_csv_opens_in_excel_as_utf8_with_windows_line_ends():
    data = export("csv", [ledger_row()])

    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\r\n") == 2
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_csv_round_trips_tibetan_and_chinese_and_formats_values_plainly():
    header, row = csv_rows(export("csv", [ledger_row()]))

    assert header == ["Learner", "Course", "Hours", "Verified seconds", "Date",
                      "Credited at (UTC)"]
    assert row == ["བསྟན་འཛིན་སྒྲོལ་མ། 丹增卓玛", "ཐང་ཀ་རི་མོ་འབྲི་ཐབས། 唐卡绘画技法", "1.50",
                   "2700", "2024-05-01", "2024-05-01 08:30:00"]


@pytest.mark.parametrize("payload", FORMULAS)
def test_csv_neutralises_text_a_spreadsheet_would_run_as_a_formula(payload):
    _, row = csv_rows(export("csv", [ledger_row(learner=payload)]))

    assert row[0] == "'" + payload


def test_csv_keeps_negative_numbers_as_numbers_but_not_numbers_typed_as_text():
    _, reversal, text = csv_rows(export("csv", [
        ledger_row(hours=Decimal("-1.5")),
        ledger_row(hours="-1.5"),  # text in a number column is text, and neutralised
    ]))

    assert reversal[2] == "-1.5"
    assert text[2] == "'-1.5"


def test_csv_never_exports_keys_that_are_not_columns():
    assert b"540102199001010023" not in export("csv", [ledger_row()])


@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")))
def test_any_text_survives_a_csv_round_trip_apart_from_the_neutralising_quote(text):
    _, row = csv_rows(export("csv", [ledger_row(course=text)]))

    assert row[1] == ("'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text)


def test_xlsx_round_trips_tibetan_and_chinese_with_typed_numbers_and_dates():
    sheets = xlsx_sheets(export("xlsx", [ledger_row(hours=Decimal("-1.5"))]))

    (rows,) = sheets.values()
    assert rows[0][:2] == ["Learner", "Course"]
    assert rows[1][:4] == ["བསྟན་འཛིན་སྒྲོལ་མ། 丹增卓玛", "ཐང་ཀ་རི་མོ་འབྲི་ཐབས། 唐卡绘画技法",
                           "-1.5", "2700"]
    assert rows[1][4] == "45413"  # 2024-05-01 as an Excel date serial
    assert rows[1][5].startswith("45413.354166")  # 08:30 UTC


def test_xlsx_writes_formula_like_text_as_neutralised_text_and_never_a_formula():
    data = export("xlsx", [ledger_row(learner=p) for p in FORMULAS])
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")

    (rows,) = xlsx_sheets(data).values()
    assert [r[0] for r in rows[1:]] == ["'" + p for p in FORMULAS]
    assert b"<f>" not in sheet and b"<f " not in sheet


def test_xlsx_header_row_is_bold_and_frozen():
    data = export("xlsx", [ledger_row()])
    book = zipfile.ZipFile(io.BytesIO(data))
    sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    styles = ElementTree.fromstring(book.read("xl/styles.xml"))

    pane = sheet.find(".//x:pane", NS)
    assert pane is not None and pane.get("state") == "frozen" and pane.get("ySplit") == "1"
    header_style = int(sheet.find(".//x:row/x:c", NS).get("s"))
    font_id = int(styles.findall("x:cellXfs/x:xf", NS)[header_style].get("fontId"))
    assert styles.findall("x:fonts/x:font", NS)[font_id].find("x:b", NS) is not None


def test_xlsx_starts_a_new_sheet_when_a_sheet_is_full():
    sheets = xlsx_sheets(export("xlsx", [ledger_row(i) for i in range(25)], rows_per_sheet=10))

    assert list(sheets) == ["Records", "Records 2", "Records 3"]
    assert [len(rows) - 1 for rows in sheets.values()] == [10, 10, 5]
    assert all(rows[0][0] == "Learner" for rows in sheets.values())
    assert sheets["Records 3"][-1][3] == "2724"


def test_xlsx_refuses_a_sheet_size_excel_cannot_open():
    with pytest.raises(ValueError):
        get_exporter("xlsx", rows_per_sheet=1_048_576)


@pytest.mark.parametrize("key", ["csv", "xlsx", "jsonl", "xapi"])
def test_an_export_matching_nothing_is_a_valid_file(key):
    options = {"homepage": "https://yonten.example.org"} if key == "xapi" else {}
    data = export(key, [], **options)

    if key == "csv":
        assert csv_rows(data) == [[str(c.header) for c in COLUMNS]]
    elif key == "xlsx":
        assert xlsx_sheets(data) == {"Records": [[str(c.header) for c in COLUMNS]]}
    else:
        assert data == b""


def test_json_lines_are_unescaped_utf8_objects_with_only_the_columns():
    data = export("jsonl", [ledger_row(), ledger_row(1, learner="=1+1", hours=None)])
    first, second = (json.loads(line) for line in data.decode("utf-8").splitlines())

    assert "བསྟན་འཛིན་".encode() in data and b"\\u" not in data
    assert first == {"learner": "བསྟན་འཛིན་སྒྲོལ་མ། 丹增卓玛",
                     "course": "ཐང་ཀ་རི་མོ་འབྲི་ཐབས། 唐卡绘画技法", "hours": 1.5,
                     "seconds": 2700, "credited_on": "2024-05-01",
                     "credited_at": "2024-05-01T08:30:00Z"}
    assert second["learner"] == "=1+1" and second["hours"] is None


def xapi_row(**changes: object) -> dict[str, object]:
    """A ledger row as the xAPI exporter reads it."""
    row: dict[str, object] = {
        "entry_id": 41,
        "learner_ref": "lrn-7f3a9c",
        "learner_name": "丹增卓玛",
        "id_number": "540102199001010023",
        "activity_url": "https://yonten.example.org/courses/12",
        "activity_type": "course",
        "activity_name_bo": "ཐང་ཀ་རི་མོ་འབྲི་ཐབས།",
        "activity_name_zh": "唐卡绘画技法",
        "credited_hours": Decimal("1.50"),
        "verified_seconds": 2700,
        "occurred_at": datetime(2024, 5, 1, 16, 30, tzinfo=LHASA_TIME),
        "institution": "拉萨市职业技术学校",
        "training_type": "就业技能培训",
    }
    row.update(changes)
    return row


def xapi_statements(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """The statements an xAPI export of ``rows`` holds."""
    data = export("xapi", rows, homepage="https://yonten.example.org/")
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def test_xapi_statement_says_which_learner_completed_what_and_how_long():
    (statement,) = xapi_statements([xapi_row()])
    ext = "https://yonten.example.org/xapi/extensions/"

    assert statement["actor"] == {"objectType": "Agent", "account": {
        "homePage": "https://yonten.example.org", "name": "lrn-7f3a9c"}}
    assert statement["verb"]["id"] == "http://adlnet.gov/expapi/verbs/completed"
    assert statement["object"]["id"] == "https://yonten.example.org/courses/12"
    assert statement["object"]["definition"]["name"] == {
        "bo": "ཐང་ཀ་རི་མོ་འབྲི་ཐབས།", "zh-Hans": "唐卡绘画技法"}
    assert statement["result"]["extensions"] == {
        ext + "credited-hours": 1.5, ext + "verified-seconds": 2700}
    assert statement["timestamp"] == "2024-05-01T08:30:00Z"
    assert statement["context"]["extensions"] == {
        ext + "institution": "拉萨市职业技术学校", ext + "training-type": "就业技能培训"}


def test_xapi_statements_never_carry_the_learners_name_or_id_number():
    data = json.dumps(xapi_statements([xapi_row()]), ensure_ascii=False)

    assert "丹增卓玛" not in data
    assert "540102199001010023" not in data


def test_xapi_statement_id_is_stable_for_the_same_ledger_entry():
    first, again, other = xapi_statements([xapi_row(), xapi_row(), xapi_row(entry_id=42)])

    assert first["id"] == again["id"] != other["id"]


def test_every_format_names_its_content_type_and_file_extension():
    assert set(EXPORTERS) == {"csv", "xlsx", "jsonl", "xapi"}
    for cls in EXPORTERS.values():
        assert "/" in cls.content_type and cls.extension.isalpha()


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown export format"):
        get_exporter("pdf")


def many_rows(count: int) -> Iterator[dict[str, object]]:
    """``count`` ledger rows, made one at a time as an export reads them."""
    return (ledger_row(i, learner=f"བསྟན་འཛིན་ {i}") for i in range(count))


def peak_memory(key: str, count: int) -> int:
    """Peak bytes allocated while exporting ``count`` rows to a discarding sink."""
    with open(os.devnull, "wb") as sink:
        get_exporter(key).write(many_rows(10), COLUMNS, sink)  # warm caches first
        tracemalloc.start()
        try:
            get_exporter(key).write(many_rows(count), COLUMNS, sink)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


@pytest.mark.slow
@pytest.mark.parametrize("key", ["csv", "jsonl"])
def test_export_memory_stays_flat_as_rows_grow_tenfold(key):
    small = peak_memory(key, 5_000)  # five batches
    large = peak_memory(key, 50_000)

    assert large <= small * 1.2, (small, large)

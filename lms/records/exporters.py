"""Export formats for completion records, each a small class under a string key.

Every exporter streams: it reads the rows a batch at a time and writes them
out at once, so memory stays flat whether an export has ten rows or ten
million. How a value becomes a cell (typed by its column's kind; text that a
spreadsheet would run as a formula neutralised, numbers never touched, so a
negative number stays a number while the string "-1+1" becomes "'-1+1") is
in ``cells.py``; in CSV, typed values are plain text such as ``-1.5`` or
``2024-05-01``.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import uuid
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, BinaryIO, ClassVar

import xlsxwriter
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from lms.records.cells import (  # noqa: F401  (re-exported: the exporters' vocabulary)
    FORMULA_TRIGGERS,
    Cell,
    Column,
    ColumnKind,
    KeyedRows,
    Lookup,
    Row,
    batches,
    csv_cells,
    csv_column,
    csv_fact_column,
    neutralise,
    row_getter,
    typed_cell,
    utc_naive,
)

XAPI_COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
XAPI_PROGRESSED = "http://adlnet.gov/expapi/verbs/progressed"
XAPI_VOIDED = "http://adlnet.gov/expapi/verbs/voided"
XAPI_ACTIVITY_TYPES = {
    "course": "http://adlnet.gov/expapi/activities/course",
    "lesson": "http://adlnet.gov/expapi/activities/lesson",
}


class Exporter:
    """Base of the export formats: write rows in constant memory, return the row count."""

    key: ClassVar[str]
    label: ClassVar[LazyString]
    content_type: ClassVar[str]
    extension: ClassVar[str]

    def write(self, rows: Iterable[Row], columns: list[Column], out: BinaryIO) -> int:
        """Write ``rows`` (only the keys named by ``columns``) to ``out``; return how many.

        A row is a mapping (a dict, a database row's mapping) or a sequence of
        values in the order of ``columns``, which is cheaper for large exports.
        """
        raise NotImplementedError


EXPORTERS: dict[str, type[Exporter]] = {}


def register(cls: type[Exporter]) -> type[Exporter]:
    """Class decorator: make an export format available under its ``key``."""
    EXPORTERS[cls.key] = cls
    return cls


def get_exporter(key: str, **options: Any) -> Exporter:
    """An exporter for the format ``key``; ``options`` go to its constructor."""
    try:
        cls = EXPORTERS[key]
    except KeyError:
        raise ValueError(f"unknown export format {key!r}") from None
    return cls(**options)


@register
class CsvExporter(Exporter):
    """CSV as Excel opens it correctly: UTF-8 with a byte-order mark, CRLF line ends."""

    key = "csv"
    label = _l("CSV (opens in Excel)")
    content_type = "text/csv; charset=utf-8"
    extension = "csv"
    #: Rows converted together, a column at a time.
    batch_size = 1000

    def write(self, rows: Iterable[Row], columns: list[Column], out: BinaryIO) -> int:
        """Write a header line and one line per row."""
        # Each batch is formatted in memory and encoded once: writing row by row through
        # an encoding wrapper costs more than everything else put together.
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")

        def flush() -> None:
            out.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()

        out.write(codecs.BOM_UTF8)
        writer.writerow([neutralise(str(c.header)) for c in columns])
        if isinstance(rows, KeyedRows) and columns:
            flush()
            return self._write_keyed(rows, columns, out)
        get = row_getter(columns)
        converters = [csv_column(c.kind) for c in columns]
        count = 0
        for batch in batches(rows, self.batch_size):
            count += len(batch)
            if not columns:
                writer.writerows([] for _ in batch)
            else:
                cells = zip(*get(batch), strict=True)
                writer.writerows(zip(*[convert(column) for convert, column
                                       in zip(converters, cells, strict=True)], strict=True))
            flush()
        flush()
        return count

    @staticmethod
    def _write_keyed(rows: KeyedRows, columns: list[Column], out: BinaryIO) -> int:
        """Write facts and lookups: a key's cells are made once, not once per row."""
        converters: list[Any] = []  # per fact slot: its column's converter
        keep_as: list[Any] = []  # per lookup: its values as the text of their cells
        position = 0
        for slot in rows.plan:
            if isinstance(slot, Lookup):
                kinds = [c.kind for c in columns[position:position + slot.width]]
                keep_as.append(lambda values, kinds=kinds: csv_cells(values, kinds))
                converters.append(None)
                position += slot.width
            else:
                converters.append(csv_fact_column(columns[position].kind, rows.process[slot]))
                position += 1
        if position != len(columns):
            raise ValueError("the rows' plan does not match the columns")
        count = 0
        for facts, found in rows.batches(keep_as):
            texts = iter(found)
            cells = []
            for slot, convert in zip(rows.plan, converters, strict=True):
                if isinstance(slot, Lookup):
                    cells.append(list(map(next(texts).__getitem__, facts[slot.fact])))
                else:
                    cells.append(convert(facts[slot]))
            lines = map(",".join, zip(*cells, strict=True))
            out.write(("\r\n".join(lines) + "\r\n").encode("utf-8"))
            count += len(facts[0])
        return count


@register
class XlsxExporter(Exporter):
    """An Excel workbook written row by row; a new sheet every ``rows_per_sheet`` rows."""

    key = "xlsx"
    label = _l("Excel workbook (XLSX)")
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    extension = "xlsx"
    _FORMATS: ClassVar[dict[str, str]] = {
        "int": "0", "decimal": "0.00", "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm:ss",
    }
    _WIDTHS: ClassVar[dict[str, int]] = {
        "str": 24, "int": 10, "decimal": 10, "date": 12, "datetime": 20,
    }

    def __init__(self, rows_per_sheet: int = 1_000_000,
                 sheet_name: str | LazyString = _l("Records")) -> None:
        # Excel's hard limit is 1,048,576 rows a sheet, header included.
        if not 0 < rows_per_sheet < 1_048_576:
            raise ValueError("rows_per_sheet must be between 1 and 1,048,575")
        self.rows_per_sheet = rows_per_sheet
        self.sheet_name = sheet_name

    def write(self, rows: Iterable[Row], columns: list[Column], out: BinaryIO) -> int:
        """Write the workbook; each sheet has a bold, frozen header row and a filter."""
        workbook = xlsxwriter.Workbook(out, {
            "constant_memory": True,  # rows go to a temporary file as they are written
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        })
        bold = workbook.add_format({"bold": True})
        formats = {kind: workbook.add_format({"num_format": number_format})
                   for kind, number_format in self._FORMATS.items()}
        base = "".join(ch for ch in str(self.sheet_name) if ch not in "[]:*?/\\")[:24] or "Sheet"
        sheet, sheet_row, count = None, 0, 0
        get, kinds = row_getter(columns), [c.kind for c in columns]
        try:
            for values in (v for batch in batches(rows, 1000) for v in get(batch)):
                if sheet is None or sheet_row == self.rows_per_sheet:
                    self._finish(sheet, sheet_row, columns)
                    number = count // self.rows_per_sheet + 1
                    sheet = self._new_sheet(workbook, base if number == 1 else f"{base} {number}",
                                            columns, bold)
                    sheet_row = 0
                sheet_row += 1
                for col, (value, kind) in enumerate(zip(values, kinds, strict=True)):
                    self._write_cell(sheet, sheet_row, col, typed_cell(value, kind), formats)
                count += 1
            if sheet is None:
                # An empty export is still a workbook with its header row.
                sheet = self._new_sheet(workbook, base, columns, bold)
            self._finish(sheet, sheet_row, columns)
        finally:
            workbook.close()
        return count

    def _new_sheet(self, workbook: Any, name: str, columns: list[Column], bold: Any) -> Any:
        sheet = workbook.add_worksheet(name)
        sheet.freeze_panes(1, 0)
        for col, column in enumerate(columns):
            header = neutralise(str(column.header))
            sheet.set_column(col, col, max(self._WIDTHS[column.kind], len(header) + 2))
            sheet.write_string(0, col, header, bold)
        return sheet

    def _finish(self, sheet: Any, last_row: int, columns: list[Column]) -> None:
        if sheet is not None and columns:
            sheet.autofilter(0, 0, last_row, len(columns) - 1)

    def _write_cell(self, sheet: Any, row: int, col: int, cell: Cell,
                    formats: dict[str, Any]) -> None:
        if cell is None:
            return
        if isinstance(cell, str):
            # write_string: text stays text, whatever it looks like.
            sheet.write_string(row, col, cell)
        elif isinstance(cell, datetime):
            sheet.write_datetime(row, col, cell, formats["datetime"])
        elif isinstance(cell, date):
            sheet.write_datetime(row, col, datetime.combine(cell, time()), formats["date"])
        elif isinstance(cell, Decimal):
            sheet.write_number(row, col, float(cell), formats["decimal"])
        else:
            sheet.write_number(row, col, cell, formats["int"])


def _json_value(cell: Cell) -> Any:
    if isinstance(cell, Decimal):
        # A JSON number; ledger values have two decimal places, well within a double.
        return float(cell)
    if isinstance(cell, datetime):
        return cell.isoformat(timespec="seconds") + "Z"
    if isinstance(cell, date):
        return cell.isoformat()
    return cell


def _raw(value: Any, kind: ColumnKind) -> Any:
    # JSON is not a spreadsheet: typed like the other formats, but text is left as is.
    cell = typed_cell(value, kind)
    return str(value) if isinstance(cell, str) else _json_value(cell)


def _json_line(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


@register
class JsonLinesExporter(Exporter):
    """One JSON object per line, keyed by column key, in UTF-8."""

    key = "jsonl"
    label = _l("JSON Lines")
    content_type = "application/jsonl; charset=utf-8"
    extension = "jsonl"

    def write(self, rows: Iterable[Row], columns: list[Column], out: BinaryIO) -> int:
        """Write one object per row with the columns' keys."""
        count, get = 0, row_getter(columns)
        for batch in batches(rows, 1000):
            for values in get(batch):
                out.write(_json_line({c.key: _raw(v, c.kind)
                                      for c, v in zip(columns, values, strict=True)}))
                count += 1
        return count


@register
class XapiExporter(Exporter):
    """xAPI "completed" statements, one per line, for a learning record store.

    Statements have a fixed shape, so ``columns`` is not used. Each row must
    have ``learner_ref`` (an opaque, stable learner id: never a name or ID
    number), ``activity_url``, ``credited_hours`` (Decimal),
    ``verified_seconds`` (int) and ``occurred_at`` (datetime); it may have
    ``activity_name_bo``, ``activity_name_zh``, ``activity_name_en``,
    ``activity_type`` ("course" or "lesson"), ``institution``,
    ``training_type`` and ``entry_id`` (which makes the statement id stable,
    so a re-sent export does not duplicate statements). A row with ``reverses``
    (a correction) voids the statement of the entry it reverses; a row with a
    false ``is_completed`` (a course begun, not finished) says "progressed".
    Other keys are ignored.
    """

    key = "xapi"
    label = _l("xAPI statements (JSON Lines)")
    content_type = "application/jsonl; charset=utf-8"
    extension = "jsonl"

    def __init__(self, homepage: str) -> None:
        self.homepage = homepage.rstrip("/")

    def write(self, rows: Iterable[dict[str, Any]], columns: list[Column], out: BinaryIO) -> int:
        """Write one statement per row."""
        count = 0
        for row in rows:
            out.write(_json_line(self.statement(row)))
            count += 1
        return count

    def _iri(self, name: str) -> str:
        return f"{self.homepage}/xapi/extensions/{name}"

    def _statement_id(self, entry_id: Any) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.homepage}/ledger/{entry_id}"))

    def statement(self, row: dict[str, Any]) -> dict[str, Any]:
        """The xAPI statement for one ledger row."""
        actor = {"objectType": "Agent",
                 "account": {"homePage": self.homepage, "name": str(row["learner_ref"])}}
        if row.get("reverses") is not None:
            # A correction takes back what the reversed entry's statement said.
            voiding = {"actor": actor, "verb": {"id": XAPI_VOIDED, "display": {"en": "voided"}},
                       "object": {"objectType": "StatementRef",
                                  "id": self._statement_id(row["reverses"])},
                       "timestamp": _json_value(utc_naive(row["occurred_at"]))}
            if row.get("entry_id") is not None:
                voiding["id"] = self._statement_id(row["entry_id"])
            return voiding
        done = row.get("is_completed") in (None, 1, True)
        names = {tag: str(row[f"activity_name_{lang}"])
                 for lang, tag in (("bo", "bo"), ("zh", "zh-Hans"), ("en", "en"))
                 if row.get(f"activity_name_{lang}")}
        definition: dict[str, Any] = {"name": names} if names else {}
        if row.get("activity_type") in XAPI_ACTIVITY_TYPES:
            definition["type"] = XAPI_ACTIVITY_TYPES[row["activity_type"]]
        context = {name: str(row[key]) for key, name in
                   (("institution", "institution"), ("training_type", "training-type"))
                   if row.get(key) is not None}
        statement: dict[str, Any] = {
            "actor": actor,
            "verb": {"id": XAPI_COMPLETED, "display": {"en": "completed"}} if done
            else {"id": XAPI_PROGRESSED, "display": {"en": "progressed"}},
            "object": {"objectType": "Activity", "id": str(row["activity_url"]),
                       **({"definition": definition} if definition else {})},
            "result": {"completion": done, "extensions": {
                self._iri("credited-hours"): _json_value(Decimal(row["credited_hours"])),
                self._iri("verified-seconds"): int(row["verified_seconds"]),
            }},
            "timestamp": _json_value(utc_naive(row["occurred_at"])),
        }
        if context:
            statement["context"] = {"extensions": {self._iri(k): v for k, v in context.items()}}
        if row.get("entry_id") is not None:
            statement["id"] = self._statement_id(row["entry_id"])
        return statement

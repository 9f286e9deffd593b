"""How a value becomes a cell of an export, quickly and safely.

Cell values are typed by their column's kind: a value of the expected Python
type is written as a number, date or time, anything else as text. Text a
spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) gets a leading apostrophe; numbers are never
touched. Rows are mappings or sequences in the columns' order, read a batch
at a time; CSV cells are converted a whole column at a time, because an
export of a million rows converts tens of millions of cells.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice
from operator import itemgetter
from typing import Any, Literal

from flask_babel.speaklater import LazyString

from lms.core.spreadsheets import FORMULA_TRIGGERS, neutralise

ColumnKind = Literal["str", "int", "decimal", "date", "datetime"]
Cell = str | int | Decimal | date | datetime | None
#: A row to export: a mapping keyed by column key, or values in the columns' order.
Row = Mapping[str, Any] | Sequence[Any]



@dataclass(frozen=True)
class Column:
    """One exported column: the row key it reads, its header and its kind of value."""

    key: str
    header: str | LazyString
    kind: ColumnKind = "str"


def utc_naive(value: datetime) -> datetime:
    """A datetime in naive UTC (naive ones already are, by the project's convention)."""
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def typed_cell(value: Any, kind: ColumnKind) -> Cell:
    """The value as its column's type (datetimes in naive UTC), else as neutralised text."""
    if value is None:
        return None
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "decimal" and isinstance(value, Decimal | int) and not isinstance(value, bool):
        return Decimal(value)
    if kind == "datetime" and isinstance(value, datetime):
        return utc_naive(value)
    if kind == "date" and isinstance(value, date):
        return utc_naive(value).date() if isinstance(value, datetime) else value
    return neutralise(str(value))


def _text(cell: Cell) -> str:
    """A typed cell as CSV text."""
    if cell is None:
        return ""
    if isinstance(cell, Decimal):
        return f"{cell:f}"
    if isinstance(cell, datetime):
        return cell.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell)


def batches(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """``rows`` in lists of ``size`` (the last one shorter)."""
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def row_getter(columns: list[Column]) -> Callable[[list[Row]], Sequence[Sequence[Any]]]:
    """A function giving a batch of rows as sequences of values in the columns' order.

    Sequences pass through as they are; for mappings whose rows have every
    key, it is one C call per row (None stands in for a missing key).
    """
    keys = [c.key for c in columns]
    if not keys:
        return lambda batch: [() for _ in batch]
    fetch = itemgetter(*keys)
    if len(keys) == 1:
        one = fetch
        fetch = lambda row: (one(row),)  # noqa: E731 (itemgetter of one key is not a tuple)

    def get(batch: list[Row]) -> Sequence[Sequence[Any]]:
        if batch and not isinstance(batch[0], Mapping):
            return batch
        try:
            return list(map(fetch, batch))
        except KeyError:
            return [tuple(row.get(k) for k in keys) for row in batch]

    return get


_TRIGGER_SET = frozenset(FORMULA_TRIGGERS)


def csv_column(kind: ColumnKind) -> Callable[[Sequence[Any]], list[Any]]:
    """Convert a whole column of values to CSV cells: ``_text(typed_cell(v, kind))`` for each.

    A CSV export of a million rows converts tens of millions of cells, so the
    common types are handled inline and anything unusual goes the general way.
    """
    def general(value: Any) -> str:
        return _text(typed_cell(value, kind))

    if kind == "str":
        def convert(values: Sequence[Any]) -> list[Any]:
            texts = [v if type(v) is str else ("" if v is None else str(v)) for v in values]
            return ["'" + t if t[:1] in _TRIGGER_SET else t for t in texts]
    elif kind == "int":
        # csv writes an int as str(int), which is what _text does.
        def convert(values: Sequence[Any]) -> list[Any]:
            return [v if type(v) is int else "" if v is None else general(v) for v in values]
    elif kind == "decimal":
        def convert(values: Sequence[Any]) -> list[Any]:
            return [format(v, "f") if type(v) is Decimal else "" if v is None else general(v)
                    for v in values]
    elif kind == "datetime":
        def convert(values: Sequence[Any]) -> list[Any]:
            return [v.isoformat(" ", "seconds") if type(v) is datetime and v.tzinfo is None
                    and v.year >= 1000 else general(v) for v in values]
    else:
        def convert(values: Sequence[Any]) -> list[Any]:
            return [v.isoformat() if type(v) is date else general(v) for v in values]
    return convert

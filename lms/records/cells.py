"""How a value becomes a cell of an export, quickly and safely.

Cell values are typed by their column's kind: a value of the expected Python
type is written as a number, date or time, anything else as text. Text a
spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) gets a leading apostrophe; numbers are never
touched. Rows are mappings or sequences in the columns' order, read a batch
at a time; CSV cells are converted a whole column at a time, because an
export of a million rows converts tens of millions of cells.

Values that depend on one value of the row only (a learner's name on the
learner, a course's title on the course) need not travel with every row:
``KeyedRows`` carries the key and looks the values up once per key
(``Lookup``), and the CSV exporter writes those cells once per key too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
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


# --- rows made of facts and lookups ---------------------------------------------------------

@dataclass(frozen=True)
class Lookup:
    """Adjacent columns whose values depend on one value of the row only: its key.

    A learner's name and ID number depend on the learner, a course's code
    and title on the course. A row carries the key (at index ``fact``) and
    ``load`` reads the values once per key: given a set of keys, it returns
    ``{key: values}``, a tuple of ``width`` values each. Keys it leaves out,
    and None, have empty cells.
    """

    fact: int
    width: int
    load: Callable[[set[Any]], Mapping[Any, tuple[Any, ...]]]


#: One place of a row's plan: a fact's index (one column) or a lookup (``width`` columns).
Slot = int | Lookup


@dataclass
class KeyedRows:
    """Export rows as facts read from the database plus the lookups that complete them.

    Each slot of ``plan`` gives the next column(s) of a row: the index of a
    fact, or a ``Lookup``. ``facts`` are batches of rows as the database
    driver returns them; ``process[i]``, if not None, turns fact ``i`` into
    its Python value (the column type's own result processing, which the
    CSV exporter skips where the driver's value is already the text it
    writes). Looked-up values are kept for at most ``keep`` keys per lookup,
    so memory does not grow with the export.

    Iterating gives whole rows in the columns' order, which every exporter
    reads; ``batches()`` gives the facts with their looked-up values. A
    ``KeyedRows`` is read once.
    """

    plan: list[Slot]
    facts: Iterable[Sequence[Any]]
    process: Sequence[Callable[[Any], Any] | None]
    keep: int = 100_000
    _known: dict[int, dict[Any, Any]] = field(default_factory=dict, init=False, repr=False)

    @property
    def lookups(self) -> list[Lookup]:
        return [slot for slot in self.plan if isinstance(slot, Lookup)]

    def batches(self, keep_as: Sequence[Callable[[tuple[Any, ...]], Any]] | None = None
                ) -> Iterator[tuple[list[Sequence[Any]], list[Mapping[Any, Any]]]]:
        """Each batch of facts a column at a time, with each lookup's values for its keys.

        With ``keep_as`` (a function per lookup), what is kept and given for a
        key is that function of its values (the CSV exporter keeps the key's
        cells as text, made once, instead of the values).
        """
        lookups = self.lookups
        for batch in self.facts:
            if not batch:
                continue
            columns = list(zip(*batch, strict=True))
            yield columns, [self._values(n, lookup, columns[lookup.fact],
                                         keep_as[n] if keep_as else tuple)
                            for n, lookup in enumerate(lookups)]

    def _values(self, n: int, lookup: Lookup, keys: Sequence[Any],
                keep_as: Callable[[tuple[Any, ...]], Any]) -> Mapping[Any, Any]:
        empty = (None,) * lookup.width
        known = self._known.setdefault(n, {None: keep_as(empty)})
        missing = set(keys).difference(known)
        if missing:
            if len(known) + len(missing) > self.keep:
                known.clear()
                known[None] = keep_as(empty)
                missing = set(keys).difference(known)
            found = lookup.load(missing)
            known.update((key, keep_as(tuple(found.get(key, empty)))) for key in missing)
        return known

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for columns, found in self.batches():
            values = iter(found)
            cells: list[Any] = []
            for slot in self.plan:
                if isinstance(slot, Lookup):
                    known = next(values)
                    looked_up = [known[key] for key in columns[slot.fact]]
                    cells.extend(zip(*looked_up, strict=True))
                else:
                    convert = self.process[slot]
                    cells.append(columns[slot] if convert is None else
                                 [None if v is None else convert(v) for v in columns[slot]])
            yield from zip(*cells, strict=True)


def csv_quote(text: str) -> str:
    """``text`` as one CSV cell, quoted as the csv module quotes it (only when needed)."""
    if '"' in text:
        return '"' + text.replace('"', '""') + '"'
    if "," in text or "\n" in text or "\r" in text:
        return '"' + text + '"'
    return text


def csv_cells(values: Sequence[Any], kinds: Sequence[ColumnKind]) -> str:
    """Values of adjacent columns as the text of their CSV cells, commas between."""
    return ",".join(csv_quote(_text(typed_cell(v, k))) for v, k in zip(values, kinds, strict=True))


def csv_fact_column(kind: ColumnKind, process: Callable[[Any], Any] | None
                    ) -> Callable[[Sequence[Any]], list[str]]:
    """Convert a column of facts as the driver returns them to CSV cell text.

    The same text as ``csv_cells`` of the processed value; integers and
    SQLite's stored timestamps (``2025-01-01 08:30:00.000000``, UTC) are
    written as they come, without making Python objects of them first.
    """
    def general(value: Any) -> str:
        if value is None:
            return ""
        return csv_quote(_text(typed_cell(value if process is None else process(value), kind)))

    if kind == "int" and process is None:
        def convert(values: Sequence[Any]) -> list[str]:
            return [str(v) if type(v) is int else "" if v is None else general(v)
                    for v in values]
    elif kind == "str" and process is None:
        def convert(values: Sequence[Any]) -> list[str]:
            return [csv_quote(v) if type(v) is str and v[:1] not in _TRIGGER_SET
                    else "" if v is None else general(v) for v in values]
    elif kind == "datetime":
        def convert(values: Sequence[Any]) -> list[str]:
            # Years before 1000 (a mistyped date) go the general way, as strftime has them.
            return [v[:19] if type(v) is str and len(v) >= 19 and v[10] == " "
                    and v[19:20] in ("", ".") and v[0] != "0" else general(v) for v in values]
    else:
        # Hours and dates repeat: each distinct value is converted once.
        once = lru_cache(maxsize=4096)(general)

        def convert(values: Sequence[Any]) -> list[str]:
            try:
                return [once(v) for v in values]
            except TypeError:  # a value that cannot be a dictionary key
                return [general(v) for v in values]
    return convert

"""Verified watch time: unique watched seconds, credited no faster than the wall clock.

The player reports the segments it has played (``[(start, end), ...]`` in media
seconds). The server keeps, per learner and lesson, the merged intervals already
credited, and per learner one study clock (``courses.models.StudyClock``, shared
with reading): when they last reported on anything and a small allowance
carried from one report to the next. Pure functions: the caller
loads a :class:`WatchState` from both, calls :func:`credit_report` with the
server's clock while holding locks on both rows, and stores the new state.

The rule is a bank of wall-clock time. Every second since the learner's
previous study report (from any tab or device) is paid into the bank,
which holds at most ``max_carry_s``; a report may spend from it no more than the
time since the previous report plus ``tolerance_s``. So one report never earns
more than its elapsed time plus the tolerance (the rule of the design), over
any stretch of time the learner earns at most that stretch plus the bank, and
reporting often or from several tabs cannot mint time: a tolerance is not
handed out afresh with each report. Time a report could not spend (a paused
second tab reported in between, or a report was lost and a later one claimed
more at once) stays in the bank, and later reports catch up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

Interval = tuple[float, float]

#: A report is a few seconds of playing; more pieces than this is not a player.
MAX_SEGMENTS_PER_REPORT = 200
#: Pieces shorter than this are dropped: they are noise, and refusing them bounds
#: how finely a client can fragment the stored intervals.
MIN_SEGMENT_S = 0.25
#: Most unspent wall-clock time kept for later reports: enough to absorb lost,
#: late and interleaved reports, too little to let idle hours become credit.
MAX_CARRY_S = 60.0
#: Below this, a remaining allowance or a clipped piece counts as nothing, so
#: floating-point crumbs never become credited slivers.
EPSILON_S = 1e-6


class ReportRejected(ValueError):
    """A watch report that is refused as a whole."""

    def __init__(self, reason: LazyString, code: str) -> None:
        super().__init__(code)
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class WatchState:
    """What is known about one learner watching one lesson's video: its credited
    intervals, and the learner's clock (shared by all they watch)."""

    intervals: tuple[Interval, ...] = ()
    #: Server time (epoch seconds) of the last accepted report; None before the first.
    last_report_at: float | None = None
    #: Wall-clock time earned but not yet spent on credit, at most ``max_carry_s``.
    carry_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for a database column."""
        return {
            "intervals": [list(interval) for interval in self.intervals],
            "last_report_at": self.last_report_at,
            "carry_s": self.carry_s,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WatchState:
        """The inverse of :meth:`to_dict`."""
        return cls(
            intervals=tuple((float(s), float(e)) for s, e in data.get("intervals", ())),
            last_report_at=data.get("last_report_at"),
            carry_s=float(data.get("carry_s", 0.0)),
        )


@dataclass(frozen=True)
class CreditOutcome:
    """The result of one report: the state to store and what it changed."""

    state: WatchState
    #: Unique seconds credited by this report.
    credited_s: float
    #: Unique seconds credited for this video so far.
    total_s: float
    #: ``total_s`` as a share of the duration, 0..1.
    fraction: float
    #: True when the wall-clock cap refused some of the claimed new seconds.
    capped: bool


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        value = float(value)
    except OverflowError:  # an integer of hundreds of digits
        return None
    return value if math.isfinite(value) else None


def _valid(segment: Any, duration: float) -> Interval | None:
    if not isinstance(segment, Sequence) or isinstance(segment, str) or len(segment) != 2:
        return None
    start, end = _number(segment[0]), _number(segment[1])
    if start is None or end is None or start < 0 or start >= end or start >= duration:
        return None
    return start, min(end, duration)


def merge_intervals(intervals: Iterable[Any], duration: float) -> list[Interval]:
    """Sorted, merged intervals within [0, duration]; invalid ones are dropped."""
    valid = sorted(v for v in (_valid(i, duration) for i in intervals) if v is not None)
    merged: list[Interval] = []
    for start, end in valid:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def measure(intervals: Iterable[Interval]) -> float:
    """Total length of disjoint intervals."""
    return sum(end - start for start, end in intervals)


def _subtract(claimed: list[Interval], covered: Sequence[Interval]) -> list[Interval]:
    """Parts of ``claimed`` not in ``covered`` (both sorted and disjoint)."""
    fresh: list[Interval] = []
    i = 0
    for start, end in claimed:
        while i < len(covered) and covered[i][1] <= start:
            i += 1
        j = i
        while j < len(covered) and covered[j][0] < end:
            if covered[j][0] > start:
                fresh.append((start, covered[j][0]))
            start = max(start, covered[j][1])
            j += 1
        if start < end:
            fresh.append((start, end))
    return fresh


def _earliest(pieces: list[Interval], budget: float) -> list[Interval]:
    """The first ``budget`` seconds of ``pieces``, in media order."""
    taken: list[Interval] = []
    for start, end in pieces:
        if budget < EPSILON_S:
            break
        end = min(end, start + budget)
        taken.append((start, end))
        budget -= end - start
    return taken


def credit_report(
    state: WatchState,
    segments: Sequence[Any],
    *,
    now: float,
    duration: float,
    tolerance_s: float,
    max_segments: int = MAX_SEGMENTS_PER_REPORT,
    max_carry_s: float = MAX_CARRY_S,
) -> CreditOutcome:
    """Credit the new unique seconds of one report, no faster than the wall clock."""
    if not math.isfinite(duration) or duration <= 0:
        raise ValueError("duration must be a positive number of seconds")
    if not isinstance(segments, list | tuple):
        raise ReportRejected(_l("A report must list the played segments."), "malformed")
    if len(segments) > max_segments:
        raise ReportRejected(
            _l("A report may list at most %(limit)s played segments.", limit=max_segments),
            "too_many_segments",
        )
    total = measure(state.intervals)
    if state.last_report_at is not None and now < state.last_report_at:
        # An older report overtaken by a newer one: its seconds, if real, come
        # again in the player's next report.
        return CreditOutcome(state, 0.0, total, min(total / duration, 1.0), False)

    if state.last_report_at is None:
        # No earlier report anchors the wall clock, so nothing proves how long
        # playing has lasted: the tolerance is all a first report can earn. A
        # player that reports when playing starts loses nothing by this.
        banked = allowance = tolerance_s
    else:
        elapsed = now - state.last_report_at
        banked = state.carry_s + elapsed
        allowance = min(banked, elapsed + tolerance_s)

    claimed = [
        piece for piece in merge_intervals(segments, duration)
        if piece[1] - piece[0] >= MIN_SEGMENT_S
    ]
    fresh = _subtract(claimed, state.intervals)
    granted = [p for p in _earliest(fresh, allowance) if p[1] - p[0] >= EPSILON_S]
    intervals = tuple(merge_intervals([*state.intervals, *granted], duration))
    new_total = measure(intervals)
    credited = max(new_total - total, 0.0)
    new_state = WatchState(
        intervals=intervals,
        last_report_at=now,
        carry_s=min(max(banked - credited, 0.0), max(max_carry_s, tolerance_s)),
    )
    return CreditOutcome(
        state=new_state,
        credited_s=credited,
        total_s=new_total,
        fraction=min(new_total / duration, 1.0),
        capped=measure(fresh) - credited > EPSILON_S,
    )


def is_complete(state: WatchState, duration: float, threshold: float = 0.95) -> bool:
    """Whether the unique watched seconds cover ``threshold`` of the video."""
    if not math.isfinite(duration) or duration <= 0:
        return False
    return measure(state.intervals) >= threshold * duration - EPSILON_S

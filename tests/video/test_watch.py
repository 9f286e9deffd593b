"""Verified watch time: only seconds really watched, at wall-clock speed, are credited."""

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lms.video.watch import (
    MAX_CARRY_S,
    MAX_SEGMENTS_PER_REPORT,
    ReportRejected,
    WatchState,
    credit_report,
    is_complete,
    measure,
    merge_intervals,
)

pytestmark = pytest.mark.no_database

DURATION = 600.0  # a ten-minute thangka lesson
TOLERANCE = 15.0
T0 = 1_700_000_000.0  # wall-clock time of the learner's first report


def report(state, segments, now, duration=DURATION):
    return credit_report(state, segments, now=now, duration=duration, tolerance_s=TOLERANCE)


def watch_steadily(until: float, step: float = 10.0) -> WatchState:
    """A learner who plays from the start and reports every ``step`` seconds."""
    state = WatchState()
    position = 0.0
    while position < until:
        end = min(position + step, until)
        state = report(state, [(position, end)], now=T0 + end).state
        position = end
    return state


# merge_intervals


def test_overlapping_and_touching_intervals_merge_into_one():
    assert merge_intervals([(20, 30), (0, 10), (10, 15), (25, 40)], DURATION) == [
        (0.0, 15.0), (20.0, 40.0)]


def test_intervals_are_clamped_to_the_video():
    assert merge_intervals([(590, 700)], DURATION) == [(590.0, 600.0)]


@pytest.mark.parametrize("bad", [
    (-5, 10), (30, 30), (40, 20), (float("nan"), 10), (0, float("inf")),
    (600, 650), ("0", "10"), (True, 10), (1, 2, 3), None,
])
def test_invalid_segments_are_dropped(bad):
    assert merge_intervals([bad, (100, 110)], DURATION) == [(100.0, 110.0)]


# crediting: the named cases


def test_learner_who_watches_steadily_is_credited_every_second():
    state = watch_steadily(DURATION)
    assert measure(state.intervals) == pytest.approx(DURATION)
    assert is_complete(state, DURATION)


def test_first_report_credits_at_most_the_tolerance():
    outcome = report(WatchState(), [(0, 120)], now=T0)
    assert outcome.credited_s == pytest.approx(TOLERANCE)
    assert outcome.state.intervals == ((0.0, TOLERANCE),)
    assert outcome.capped


def test_report_claiming_ten_minutes_ten_seconds_after_the_previous_credits_only_wall_clock():
    state = report(WatchState(), [(0, 10)], now=T0).state
    outcome = report(state, [(0, 600)], now=T0 + 10)
    # 10 s of wall-clock plus what is left of the tolerance, never ten minutes
    assert outcome.credited_s <= 10 + TOLERANCE
    assert outcome.total_s <= 10 + 10 + TOLERANCE
    assert outcome.capped
    assert outcome.fraction < 0.1


def test_capped_credit_keeps_the_earliest_seconds_so_stored_intervals_equal_the_credit():
    state = report(WatchState(), [(0, 10)], now=T0).state
    outcome = report(state, [(0, 600)], now=T0 + 10)
    assert outcome.state.intervals == ((0.0, outcome.total_s),)
    assert measure(outcome.state.intervals) == pytest.approx(outcome.total_s)


def test_seconds_refused_by_the_cap_are_credited_when_real_time_has_passed():
    state = report(WatchState(), [(0, 10)], now=T0).state
    state = report(state, [(0, 60)], now=T0 + 10).state  # claimed early, partly refused
    assert measure(state.intervals) < 60
    later = report(state, [(0, 60)], now=T0 + 60)  # the same claim once 60 s really passed
    assert later.total_s == pytest.approx(60)


def test_seek_to_the_end_credits_only_the_seconds_played_there():
    state = report(WatchState(), [(0, 10)], now=T0 + 10).state
    outcome = report(state, [(0, 10), (590, 600)], now=T0 + 20)
    assert outcome.credited_s == pytest.approx(10)
    assert outcome.state.intervals == ((0.0, 10.0), (590.0, 600.0))
    assert not is_complete(outcome.state, DURATION)


def test_claim_of_a_segment_running_to_the_end_after_a_seek_is_capped_at_wall_clock():
    state = report(WatchState(), [(0, 10)], now=T0 + 10).state
    outcome = report(state, [(10, 600)], now=T0 + 20)
    assert outcome.credited_s <= 10 + TOLERANCE
    assert not is_complete(outcome.state, DURATION)


def test_two_tabs_reporting_the_same_seconds_count_them_once():
    state = watch_steadily(60)
    tab_a = report(state, [(60, 70)], now=T0 + 70)
    tab_b = report(tab_a.state, [(60, 70)], now=T0 + 70.4)
    assert tab_a.credited_s == pytest.approx(10)
    assert tab_b.credited_s == 0
    assert tab_b.total_s == pytest.approx(70)


def test_two_devices_playing_different_parts_at_once_earn_wall_clock_time_only():
    phone, laptop = 0.0, 300.0
    state = WatchState()
    for step in range(1, 31):  # both play for five minutes, reporting every 10 s
        now = T0 + step * 10
        state = report(state, [(phone, phone + 10)], now=now).state
        state = report(state, [(laptop, laptop + 10)], now=now + 1).state
        phone, laptop = phone + 10, laptop + 10
    assert measure(state.intervals) <= 300 + TOLERANCE + 1


def test_report_older_than_the_previous_one_adds_nothing():
    state = report(WatchState(), [(0, 10)], now=T0 + 10).state
    state = report(state, [(10, 20)], now=T0 + 20).state
    late = report(state, [(20, 30)], now=T0 + 15)
    assert late.credited_s == 0
    assert late.state == state


def test_replayed_report_adds_nothing():
    state = report(WatchState(), [(0, 10)], now=T0 + 10).state
    first = report(state, [(10, 20)], now=T0 + 20)
    replay = report(first.state, [(10, 20)], now=T0 + 20)
    again_later = report(replay.state, [(10, 20)], now=T0 + 90)
    assert replay.credited_s == 0
    assert replay.state == first.state
    assert again_later.credited_s == 0


def test_rapid_fire_reports_cannot_multiply_the_tolerance():
    state = report(WatchState(), [], now=T0).state
    position = 0.0
    for second in range(1, 121):  # a script reporting every second, claiming 20 s each time
        state = report(state, [(position, position + 20)], now=T0 + second).state
        position += 20
    assert measure(state.intervals) <= 120 + TOLERANCE


def test_idle_hours_do_not_become_a_stock_of_credit():
    state = report(watch_steadily(10), [], now=T0 + 3600).state  # page left open an hour
    position = 10.0
    for second in range(1, 121):  # then a script claims 20 s every second
        state = report(state, [(position, position + 20)], now=T0 + 3600 + second).state
        position += 20
    assert measure(state.intervals) <= 10 + 120 + MAX_CARRY_S + 1e-6


def test_report_with_too_many_segments_is_rejected():
    segments = [(i * 2.0, i * 2.0 + 1) for i in range(MAX_SEGMENTS_PER_REPORT + 1)]
    with pytest.raises(ReportRejected) as rejected:
        report(WatchState(), segments, now=T0)
    assert rejected.value.code == "too_many_segments"
    assert "segments" in str(rejected.value.reason)


@pytest.mark.parametrize("segments", [None, "0-600", {"start": 0, "end": 600}, 600])
def test_report_that_is_not_a_list_of_segments_is_rejected(segments):
    with pytest.raises(ReportRejected) as rejected:
        report(WatchState(), segments, now=T0)
    assert rejected.value.code == "malformed"


def test_invalid_segments_in_a_report_are_ignored_and_valid_ones_credited():
    outcome = report(WatchState(), [(-3, 5), (float("nan"), 4), (700, 710), (0, 8)], now=T0)
    assert outcome.state.intervals == ((0.0, 8.0),)


def test_video_is_complete_at_95_percent_and_not_before():
    assert not is_complete(watch_steadily(DURATION * 0.94), DURATION)
    assert is_complete(watch_steadily(DURATION * 0.95), DURATION)
    assert is_complete(watch_steadily(DURATION * 0.5), DURATION, threshold=0.5)


def test_state_round_trips_through_a_json_column():
    state = report(watch_steadily(30), [(100, 110)], now=T0 + 40).state
    assert WatchState.from_dict(state.to_dict()) == state


# properties


seconds = st.floats(min_value=-20, max_value=DURATION + 20) | st.sampled_from(
    [float("nan"), float("inf"), -float("inf")])
segment = st.tuples(seconds, seconds)
reports = st.lists(
    st.tuples(st.floats(min_value=0, max_value=120), st.lists(segment, max_size=6)),
    min_size=1, max_size=25,
)


def play(script):
    """Apply (gap since previous report, segments) pairs; yield (now, outcome) per report."""
    state, now = WatchState(), T0
    for gap, segments in script:
        now += gap
        outcome = report(state, segments, now=now)
        state = outcome.state
        yield now, outcome


@settings(max_examples=300, deadline=None)
@given(reports)
def test_credited_time_never_outruns_the_wall_clock_or_the_video(script):
    first_at = T0 + script[0][0]
    previous_at, previous_total = None, 0.0
    for now, outcome in play(script):
        elapsed = 0.0 if previous_at is None else now - previous_at
        assert outcome.credited_s <= elapsed + TOLERANCE + 1e-6
        assert outcome.total_s <= (now - first_at) + TOLERANCE + 1e-6
        assert outcome.total_s <= DURATION + 1e-9
        assert outcome.total_s == pytest.approx(previous_total + outcome.credited_s, abs=1e-6)
        assert measure(outcome.state.intervals) == pytest.approx(outcome.total_s, abs=1e-9)
        assert 0.0 <= outcome.fraction <= 1.0
        previous_at, previous_total = now, outcome.total_s


@settings(max_examples=300, deadline=None)
@given(reports)
def test_credited_seconds_are_never_taken_back(script):
    covered: list[tuple[float, float]] = []
    for _, outcome in play(script):
        for start, end in covered:
            assert any(s <= start and end <= e for s, e in outcome.state.intervals)
        covered = list(outcome.state.intervals)


@settings(max_examples=300, deadline=None)
@given(reports, st.integers(min_value=0, max_value=24), st.floats(min_value=0, max_value=60))
def test_replaying_any_report_never_credits_a_second_twice(script, which, delay):
    outcomes = list(play(script))
    now, outcome = outcomes[which % len(outcomes)]
    replay = report(outcome.state, script[which % len(script)][1], now=now + delay)
    if not outcome.capped:
        assert replay.credited_s == 0
    assert replay.total_s == pytest.approx(outcome.total_s + replay.credited_s, abs=1e-6)
    assert replay.credited_s <= delay + TOLERANCE + 1e-6


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(segment, min_size=1, max_size=4), min_size=2, max_size=4),
    st.floats(min_value=0, max_value=60),
)
def test_simultaneous_reports_in_any_order_stay_capped_and_end_with_the_same_credit(batch, gap):
    start = report(WatchState(), [(0, 5)], now=T0).state
    finals = []
    for order in itertools.permutations(batch):
        state = start
        for segments in order:
            state = report(state, segments, now=T0 + gap).state
        assert measure(state.intervals) <= 5 + gap + TOLERANCE + 1e-6
        # the tabs go on resending what they played; once real time has passed,
        # the arrival order of that one moment leaves no trace
        for later, segments in enumerate(order, start=1):
            state = report(state, segments, now=T0 + gap + later * DURATION).state
        finals.append(measure(state.intervals))
    assert max(finals) - min(finals) < 1e-6


def test_paused_tab_reporting_in_between_does_not_cost_the_playing_tab_its_seconds():
    state = report(WatchState(), [], now=T0).state  # the player reports when play starts
    state = report(state, [(0, 10)], now=T0 + 10).state
    # the playing tab's next two reports are lost; a paused tab reports meanwhile
    state = report(state, [(0, 10)], now=T0 + 39).state
    state = report(state, [(0, 40)], now=T0 + 40).state
    assert measure(state.intervals) == pytest.approx(10 + 1 + TOLERANCE)
    state = report(state, [(0, 50)], now=T0 + 50).state
    assert measure(state.intervals) == pytest.approx(50)


def test_fraction_is_watched_share_of_duration():
    outcome = report(watch_steadily(290), [(290, 300)], now=T0 + 300)
    assert outcome.fraction == pytest.approx(0.5)
    assert math.isclose(outcome.total_s, 300)

"""Sign-ups sent twice at once (a double tap, a retry on a weak network) and ID-number
answers asked for in parallel: the database decides, and the person gets a message."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.core import throttle
from lms.core.errors import UserError
from lms.extensions import db as database
from lms.users import operations
from lms.users.models import User

VALID_ID = "540102199001011233"


def side_by_side(app, work, count: int = 2) -> list:
    """Run ``work()`` in ``count`` threads at once, each in its own unit of work; returns
    what each returned or raised."""
    outcomes: list = []
    lock = threading.Lock()

    def run() -> None:
        with app.app_context():
            try:
                result = work()
                database.session.commit()
            except Exception as exc:  # collected for the test to judge
                database.session.rollback()
                result = exc
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


@pytest.mark.parametrize("resident_id", [None, VALID_ID])
def test_the_same_sign_up_sent_twice_at_once_makes_one_account_and_one_message(
        app, committed_db, monkeypatch, resident_id):
    # Both requests pass the "is this phone free?" check before either inserts.
    arrived = threading.Barrier(2, timeout=2)  # SQLite's writers take turns: it runs out
    real_check = operations._contact_fields

    def check_then_meet(contact):
        fields = real_check(contact)
        with contextlib.suppress(threading.BrokenBarrierError):
            arrived.wait()
        return fields

    monkeypatch.setattr(operations, "_contact_fields", check_then_meet)
    contact = "13800138000" if resident_id is None else "dolma@yonten.example"
    outcomes = side_by_side(app, lambda: operations.register_learner(
        real_name="卓玛", contact=contact, password="thangka-2026", locale="bo",
        resident_id=resident_id))
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], UserError), outcomes
    assert refused[0].field in ("contact", "resident_id")
    with app.app_context():
        assert database.session.scalar(select(func.count(User.id))) == 1


def test_parallel_requests_never_take_more_answers_than_the_ration(app, committed_db):
    outcomes = side_by_side(app, lambda: throttle.take(
        "id-number-taken:address:203.0.113.9", limit=5, window=timedelta(hours=1)), count=8)
    assert sorted(outcomes) == [False] * 3 + [True] * 5

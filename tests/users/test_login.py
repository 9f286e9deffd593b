"""Logging in and out, throttling, locking, password changes and cookies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lms.core.db import utcnow
from lms.users import operations
from tests.conftest import form_errors
from tests.factories import PASSWORD


def login(client, contact, password=PASSWORD):
    return client.post("/account/login", data={"contact": contact, "password": password})


def test_learner_logs_in_with_phone_or_email_and_logs_out(client, make):
    user = make.learner(contact="13912345678")
    response = login(client, "139 1234 5678")
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")
    assert user.real_name in client.get("/dashboard").text
    client.post("/account/logout")
    assert client.get("/dashboard").status_code == 302
    assert login(client, "༡༣༩ ༡༢༣༤ ༥༦༧༨").status_code == 302  # typed in Tibetan digits


def test_logging_in_and_out_start_new_sessions_with_new_csrf_secrets(client, make):
    user = make.learner()
    planted = client.csrf_token()  # known to whoever planted this session cookie
    login(client, user.email)
    assert client.post("/language", data={"locale": "bo", "csrf_token": planted}).status_code == 400
    before_logout = client.csrf_token()
    client.post("/account/logout")
    assert client.post("/language", data={"locale": "bo", "csrf_token": before_logout}
                       ).status_code == 400
    assert client.post("/language", data={"locale": "bo"}).status_code == 302


def test_a_login_restored_from_keep_me_logged_in_gets_a_new_csrf_secret(app, client, make):
    user = make.learner()
    client.post("/account/login", data={"contact": user.email, "password": PASSWORD,
                                        "remember": "y"})
    remembered = client.get_cookie("remember_token").value
    browser = app.test_client()  # a browser given a session by someone else, then the cookie
    planted = browser.csrf_token()
    browser.set_cookie("remember_token", remembered)
    assert user.real_name in browser.get("/dashboard").text
    assert browser.post("/language", data={"locale": "bo", "csrf_token": planted}
                        ).status_code == 400


def test_logging_out_forgets_a_remembered_login(client, make):
    user = make.learner()
    client.post("/account/login", data={"contact": user.email, "password": PASSWORD,
                                        "remember": "y"})
    assert client.get_cookie("remember_token") is not None
    client.post("/account/logout")
    assert client.get_cookie("remember_token") is None
    client.delete_cookie("yonten_session")
    assert client.get("/dashboard").status_code == 302


def test_wrong_password_gets_one_message_that_reveals_nothing(client, make):
    make.learner(contact="dawa@yonten.example")
    wrong = form_errors(login(client, "dawa@yonten.example", "nope-nope").text)
    unknown = form_errors(login(client, "nobody@yonten.example", "nope-nope").text)
    assert wrong == unknown == ["Wrong phone number, email or password."]


def test_login_redirects_back_to_a_local_page_but_never_off_site(client, make):
    user = make.learner()
    response = client.post("/account/login?next=/account/profile",
                           data={"contact": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/account/profile"
    client.post("/account/logout")
    response = client.post("/account/login?next=https://evil.example/",
                           data={"contact": user.email, "password": PASSWORD})
    assert response.headers["Location"].endswith("/dashboard")


def test_failed_logins_slow_down_then_lock_the_account(app, db, make):
    user = make.learner()
    start = utcnow()
    messages = []
    now = start
    for attempt in range(10):
        # Wait exactly as long as the throttle asks before each attempt.
        outcome = operations.authenticate(user.email, "wrong password", now=now)
        messages.append(str(outcome.message))
        now += timedelta(seconds=2 ** max(0, attempt - 1) + 1)
    assert messages[0] == "Wrong phone number, email or password."
    assert "locked" in messages[-1]
    assert user.locked_until is not None and user.locked_until > now
    # Even the right password is refused while locked.
    outcome = operations.authenticate(user.email, PASSWORD, now=now)
    assert outcome.user is None and "locked" in str(outcome.message)
    # After the lock, the right password works again and the counters reset.
    later = user.locked_until + timedelta(seconds=1)
    assert operations.authenticate(user.email, PASSWORD, now=later).user == user
    assert user.failed_logins == 0 and user.locked_until is None


def test_attempts_made_too_quickly_are_told_to_wait_and_are_not_checked(app, db, make):
    user = make.learner()
    now = utcnow()
    for _ in range(3):
        operations.authenticate(user.email, "wrong", now=now)
    outcome = operations.authenticate(user.email, PASSWORD, now=now)
    assert outcome.user is None
    assert "Wait 1 seconds" in str(outcome.message)
    assert operations.authenticate(user.email, PASSWORD, now=now + timedelta(seconds=2)).user


def test_ten_wrong_passwords_over_http_lock_the_account(client, make, monkeypatch):
    user = make.learner()
    clock = [utcnow()]
    monkeypatch.setattr("lms.users.operations.utcnow", lambda: clock[0])
    for _ in range(10):
        clock[0] += timedelta(minutes=5)  # a patient attacker, never throttled
        response = login(client, user.email, "guess")
    assert "locked" in " ".join(form_errors(response.text))
    clock[0] += timedelta(seconds=30)
    response = login(client, user.email, PASSWORD)
    assert response.status_code == 200
    assert "locked" in " ".join(form_errors(response.text))


def test_switched_off_accounts_cannot_log_in(client, make, db):
    user = make.learner()
    user.is_active = False
    db.session.flush()
    assert "switched off" in " ".join(form_errors(login(client, user.email).text))


def test_changing_the_password_logs_out_other_devices(app, db, make):
    user = make.learner()
    phone, laptop = app.test_client(), app.test_client()
    for c in (phone, laptop):
        login(c, user.email)
        assert c.get("/dashboard").status_code == 200
    response = phone.post("/account/password", data={
        "current": PASSWORD, "password": "new-password-99", "confirm": "new-password-99"})
    assert response.status_code == 302
    assert phone.get("/dashboard").status_code == 200
    assert laptop.get("/dashboard").status_code == 302


def test_password_change_requires_the_current_password(login_as, make):
    client = login_as(make.learner())
    response = client.post("/account/password", data={
        "current": "not-it", "password": "new-password-99", "confirm": "new-password-99"})
    assert "current password is wrong" in " ".join(form_errors(response.text))


def test_session_cookie_is_httponly_and_samesite(client, make):
    user = make.learner()
    response = login(client, user.email)
    cookie = next(v for k, v in response.headers.items()
                  if k == "Set-Cookie" and v.startswith("yonten_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("path", ["/", "/account/login", "/account/register"])
def test_pages_carry_security_headers(client, path):
    headers = client.get(path).headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_profile_edit_saves_name_and_language(login_as, make):
    user = make.learner()
    client = login_as(user)
    response = client.post("/account/profile", data={"real_name": "  ཚེ་རིང་  ",
                                                     "locale": "zh_Hans", "resident_id": ""})
    assert response.status_code == 302
    assert user.real_name == "ཚེ་རིང་" and user.locale == "zh_Hans"


def test_wrong_passwords_sent_side_by_side_slow_down_and_lock_the_account_too(
        app, committed_make):
    """Each attempt sees the last one's count (on PostgreSQL, guesses sent at once all read
    "no failures yet" and none was slowed)."""
    import threading

    from lms.extensions import db
    from lms.users.models import User

    learner = committed_make.learner()
    learner_id, contact = learner.id, learner.email
    db.session.remove()
    attempts = 12
    barrier = threading.Barrier(attempts)
    outcomes, errors = [], []
    # All sent at one moment: on a busy machine a thread may start a second late, which
    # would make it a later guess, free to be checked.
    sent_at = utcnow()

    def attempt(n: int) -> None:
        try:
            with app.test_request_context():
                barrier.wait()
                outcome = operations.authenticate(contact, f"wrong-{n}", now=sent_at)
                db.session.commit()
                outcomes.append(str(outcome.message))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            db.session.remove()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    checked = sum(message.startswith("Wrong") for message in outcomes)
    assert checked == app.config["LOGIN_SLOWDOWN_AFTER"]  # then "wait", "wait"...
    assert db.session.get(User, learner_id).failed_logins == checked


def test_a_language_chosen_just_before_logging_in_is_kept_and_saved(app, make, db):
    user = make.learner(contact="13912340000", locale="bo")
    visitor = app.test_client()
    visitor.get("/language/zh_Hans?next=/account/login")  # a visitor taps 中文, then logs in
    login(visitor, "13912340000")
    assert '<html lang="zh-Hans"' in visitor.get("/dashboard").text
    db.session.refresh(user)
    assert user.locale == "zh_Hans"
    # A browser that merely remembers another language from long ago does not change it.
    old_phone = app.test_client()
    old_phone.set_cookie("lms_lang", "en")
    login(old_phone, "13912340000")
    assert '<html lang="zh-Hans"' in old_phone.get("/dashboard").text
    db.session.refresh(user)
    assert user.locale == "zh_Hans"

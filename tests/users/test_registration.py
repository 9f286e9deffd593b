"""A learner registers: real name, contact, password, language, optional ID number."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lms.users.models import User
from tests.conftest import form_errors

VALID_ID = "540102199001011233"  # a real-format number with a correct check digit


def register(client, **overrides):
    data = dict(real_name="བཀྲ་ཤིས་ལྷ་མོ།", contact="13800138000", password="thangka-2026",
                confirm="thangka-2026", locale="bo", resident_id="")
    data.update(overrides)
    return client.post("/account/register", data=data)


def user_count(db) -> int:
    return db.session.scalar(select(func.count(User.id)))


def test_learner_registers_and_lands_on_their_dashboard(client, db):
    response = register(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard")
    user = db.session.scalar(select(User).where(User.phone == "13800138000"))
    assert user.real_name == "བཀྲ་ཤིས་ལྷ་མོ།"
    assert user.role == "learner" and user.locale == "bo"
    assert user.password_hash != "thangka-2026"
    assert client.get("/dashboard").status_code == 200


def test_phone_numbers_are_normalised_so_the_same_phone_cannot_register_twice(client, db):
    register(client, contact="+86 138-0013-8000")
    client.post("/account/logout")
    response = register(client, contact="13800138000")
    assert response.status_code == 200
    assert "already exists" in " ".join(form_errors(response.text))
    # Full-width digits (a Chinese keyboard) and Tibetan digits are the same number.
    for typed in ("13８00138000", "༡༣༨༠༠༡༣༨༠༠༠"):
        response = register(client, contact=typed)
        assert "already exists" in " ".join(form_errors(response.text)), typed
    assert user_count(db) == 1


def test_duplicate_email_is_refused_with_a_message_and_writes_nothing(client, db):
    register(client, contact="dolma@yonten.example")
    client.post("/account/logout")
    before = user_count(db)
    response = register(client, contact="Dolma@Yonten.example", real_name="卓玛")
    assert response.status_code == 200
    assert "already exists" in " ".join(form_errors(response.text))
    assert user_count(db) == before


@pytest.mark.parametrize("bad_id, expected", [
    ("540102199001011234", "does not match"),       # wrong check digit (3 is right)
    ("54010219900101123", "18 characters"),         # too short
    ("5401021990010112330", "18 characters"),       # too long
    ("540102199002301230", "does not exist"),       # 30 February
    ("540102290001011234", "impossible"),           # born in the future
    ("990102199001011234", "not a real region"),
    ("54010219900101123Y", "digit or the letter X"),
    ("54010²199001011233", "digit or the letter X"),  # a digit to isdigit(), not to int()
])
def test_invalid_id_numbers_are_refused_with_a_reason_and_write_nothing(client, db, bad_id,
                                                                        expected):
    before = user_count(db)
    response = register(client, resident_id=bad_id)
    assert response.status_code == 200
    assert expected in " ".join(form_errors(response.text))
    assert user_count(db) == before


def test_id_number_is_encrypted_at_rest_and_shown_masked(client, db):
    register(client, resident_id="540102 19900101 1233")
    user = db.session.scalar(select(User).where(User.phone == "13800138000"))
    assert user.resident_id_masked == "5401**********1233"
    assert VALID_ID not in (user.resident_id_cipher or "")
    page = client.get("/account/profile").text
    assert "5401**********1233" in page
    assert VALID_ID not in page


def test_the_same_id_number_cannot_hold_two_accounts(client, db):
    register(client, resident_id=VALID_ID)
    client.post("/account/logout")
    response = register(client, contact="13900139000", resident_id=VALID_ID)
    assert "already registered" in " ".join(form_errors(response.text))
    # The same number typed in full-width digits is the same number.
    full_width = "５４０１０２１９９００１０１１２３３"
    response = register(client, contact="13900139000", resident_id=full_width)
    assert "already registered" in " ".join(form_errors(response.text))
    assert user_count(db) == 1


def test_ten_thousand_character_fields_get_form_errors_not_a_crash(client, db):
    huge = "ཀ" * 10_000
    response = register(client, real_name=huge, contact=huge, password=huge, confirm=huge,
                        resident_id=huge)
    assert response.status_code == 200
    errors = form_errors(response.text)
    assert len(errors) >= 4
    assert user_count(db) == 0


def test_registration_without_a_csrf_token_is_refused(client, db):
    response = client.post("/account/register", csrf=False, data=dict(
        real_name="x", contact="13800138000", password="thangka-2026",
        confirm="thangka-2026", locale="bo"))
    assert response.status_code == 400
    assert "did not come from this site" in response.text
    assert user_count(db) == 0


def test_registration_with_a_forged_csrf_token_is_refused(client, db):
    response = client.post("/account/register", csrf=False, data=dict(
        csrf_token="forged.token.value", real_name="x", contact="13800138000",
        password="thangka-2026", confirm="thangka-2026", locale="bo"))
    assert response.status_code == 400
    assert user_count(db) == 0


def test_mismatched_passwords_and_short_passwords_are_explained(client, db):
    response = register(client, password="short", confirm="other")
    errors = " ".join(form_errors(response.text))
    assert "8 to 128 characters" in errors
    assert "differ" in errors


@pytest.mark.parametrize("language, required", [
    ("bo", "འདི་ངེས་པར་དུ་འབྲི་དགོས།"), ("zh-CN", "此项为必填项。"), ("en", "This field is required."),
])
def test_form_checks_speak_the_readers_language(client, db, language, required):
    response = client.post("/account/register", data={"real_name": "", "contact": ""},
                           headers={"Accept-Language": language})
    assert required in form_errors(response.text)


def id_number(serial: int) -> str:
    from lms.core.security import id_check_char

    first17 = f"54010219900101{serial:03d}"
    return first17 + id_check_char(first17)


def test_id_numbers_taken_by_others_are_answered_a_few_times_an_hour_per_address(
        client, db, make, monkeypatch):
    """"Already registered" tells whether a person trains here: five such answers an hour
    from one address, then no ID number is checked at all, so guessing stays slow."""
    from datetime import timedelta

    from lms.core.db import utcnow

    owners = [id_number(n) for n in range(1, 8)]
    for number in owners:
        make.learner(resident_id=number)
    clock = [utcnow()]
    monkeypatch.setattr("lms.core.throttle.utcnow", lambda: clock[0])
    before = user_count(db)
    for attempt, number in enumerate(owners[:5]):
        response = register(client, contact=f"1390013900{attempt}", resident_id=number)
        assert "already registered" in " ".join(form_errors(response.text))
    # The sixth number gets the same refusal whether or not it is anyone's.
    for number in (owners[5], id_number(99)):
        errors = " ".join(form_errors(register(client, resident_id=number).text))
        assert "Too many ID numbers" in errors and "already registered" not in errors
    assert user_count(db) == before  # and nothing was written
    # Meanwhile signing up without an ID number works; an hour later the number is checked.
    assert register(client, contact="13700137000", resident_id="").status_code == 302
    client.post("/account/logout")
    clock[0] += timedelta(hours=1, seconds=1)
    errors = " ".join(form_errors(register(client, resident_id=owners[6]).text))
    assert "already registered" in errors
    assert register(client, resident_id=id_number(99)).status_code == 302
    assert user_count(db) == before + 2


def test_an_account_trying_id_numbers_in_its_profile_runs_out_of_answers_too(
        client, db, make, login_as):
    owners = [id_number(n) for n in range(1, 7)]
    for number in owners:
        make.learner(resident_id=number)
    guesser = make.learner()
    client = login_as(guesser)
    for number in owners[:5]:
        response = client.post("/account/profile", data={
            "real_name": guesser.real_name, "locale": "en", "resident_id": number})
        assert "already registered" in " ".join(form_errors(response.text))
    response = client.post("/account/profile", data={
        "real_name": guesser.real_name, "locale": "en", "resident_id": owners[5]})
    assert "Too many ID numbers" in " ".join(form_errors(response.text))
    db.session.refresh(guesser)
    assert guesser.resident_id_digest is None


def test_length_limits_count_the_text_as_it_is_stored(client, db):
    # U+0F43 is stored NFC-normalised as two code points (U+0F42 U+0FB7): sixty of them
    # make 120 characters, over the name's 100 (PostgreSQL would refuse the row).
    response = register(client, real_name="\u0f43" * 60)
    assert response.status_code == 200
    assert "100" in " ".join(form_errors(response.text))
    assert user_count(db) == 0
    register(client, real_name="\u0f43" * 50)
    assert db.session.scalar(select(User.real_name)) == "\u0f42\u0fb7" * 50

"""Installation key, certificate signatures and canonical JSON."""

import shutil
import stat
import subprocess
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from lms.records.pdf import CertificateData, Multilingual, render_certificate
from lms.records.signing import (
    VerifyReason,
    canonical_json,
    key_fingerprint,
    load_or_create_key,
    load_public_key,
    public_key_pem,
    sign_payload,
    sign_pdf,
    verify_payload,
    verify_pdf,
)

# A tiny but complete PDF, enough for a reader to open.
MINIMAL_PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n"
    b"%%EOF\n"
)
KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()


def test_first_run_creates_a_key_only_the_server_account_can_read(tmp_path):
    path = tmp_path / "keys" / "certificates.pem"

    key = load_or_create_key(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert key_fingerprint(load_or_create_key(path)) == key_fingerprint(key)
    assert [p.name for p in path.parent.iterdir()] == ["certificates.pem"]


def test_workers_starting_together_end_up_with_one_shared_key(tmp_path):
    path = tmp_path / "keys" / "certificates.pem"
    path.parent.mkdir()
    start = threading.Barrier(8)
    fingerprints: list[str] = []

    def worker() -> None:
        start.wait()
        fingerprints.append(key_fingerprint(load_or_create_key(path)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(fingerprints)) == 1
    assert fingerprints[0] == key_fingerprint(load_or_create_key(path))


def test_a_key_file_holding_another_kind_of_key_is_refused(tmp_path):
    path = tmp_path / "certificates.pem"
    path.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))

    with pytest.raises(ValueError, match="not an Ed25519 private key"):
        load_or_create_key(path)


def test_published_public_key_round_trips_and_has_a_short_fingerprint():
    pem = public_key_pem(KEY)

    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert key_fingerprint(load_public_key(pem)) == key_fingerprint(KEY)
    assert len(key_fingerprint(KEY)) == 16
    assert int(key_fingerprint(KEY), 16) >= 0
    assert key_fingerprint(KEY) != key_fingerprint(OTHER_KEY)


def test_signed_certificate_verifies_with_the_installation_key():
    signed = sign_pdf(MINIMAL_PDF, KEY)
    result = verify_pdf(signed, KEY.public_key())

    assert result.valid and result.reason is VerifyReason.OK
    assert result.fingerprint == key_fingerprint(KEY)
    assert signed.startswith(MINIMAL_PDF)
    last_line = signed.rstrip(b"\n").rsplit(b"\n", 1)[1]
    assert last_line.startswith(b"%YONTEN-SIGNATURE ed25519 " + key_fingerprint(KEY).encode())


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is not installed")
def test_signed_certificate_still_opens_in_a_pdf_reader(tmp_path):
    cert = CertificateData(
        serial="YT-2024-000001", learner_name="丹增卓玛", masked_id_number="5401**********0023",
        course_title=Multilingual("བོད་ཟས་བཟོ་ཐབས།", "藏餐烹饪"),
        occupation_name=Multilingual(zh="中式烹调师"),
        occupation_code="4-03-02-01", skill_level=Multilingual(zh="五级"), hours=Decimal("32"),
        start_date=date(2024, 1, 8), end_date=date(2024, 3, 1),
        institution_name=Multilingual(zh="拉萨市职业技术学校"), issued_on=date(2024, 3, 2))
    path = tmp_path / "signed.pdf"
    path.write_bytes(sign_pdf(render_certificate(cert, verify_url="https://x.example/v/1"), KEY))

    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(path), str(tmp_path / "p")], check=True)

    assert "Pages:           1" in info.stdout
    assert "Syntax Error" not in info.stderr
    assert (tmp_path / "p-1.png").stat().st_size > 1000
    assert verify_pdf(path.read_bytes(), KEY.public_key()).valid


def test_certificate_changed_after_signing_is_reported_altered():
    signed = sign_pdf(MINIMAL_PDF, KEY)
    forged = signed.replace(b"MediaBox[0 0 200 200]", b"MediaBox[0 0 200 201]")

    result = verify_pdf(forged, KEY.public_key())

    assert not result.valid and result.reason is VerifyReason.ALTERED
    assert "changed" in result.message


def test_content_appended_after_the_signature_is_reported_altered():
    signed = sign_pdf(MINIMAL_PDF, KEY)
    updated = signed + b"4 0 obj<</Title(forged)>>endobj\n%%EOF\n"

    assert verify_pdf(updated, KEY.public_key()).reason is VerifyReason.ALTERED


def test_certificate_from_another_installation_is_reported_as_another_key():
    result = verify_pdf(sign_pdf(MINIMAL_PDF, OTHER_KEY), KEY.public_key())

    assert not result.valid and result.reason is VerifyReason.WRONG_KEY
    assert result.fingerprint == key_fingerprint(OTHER_KEY)


def test_relabelled_fingerprint_on_a_genuine_signature_is_refused():
    signed = sign_pdf(MINIMAL_PDF, KEY)
    relabelled = signed.replace(key_fingerprint(KEY).encode(), b"0" * 16)

    result = verify_pdf(relabelled, KEY.public_key())

    assert not result.valid and result.reason is VerifyReason.MALFORMED


def test_pdf_without_signature_is_reported_unsigned():
    result = verify_pdf(MINIMAL_PDF, KEY.public_key())

    assert not result.valid and result.reason is VerifyReason.UNSIGNED


@pytest.mark.parametrize("data", [
    b"",
    b"%PDF-1.4\n%%EOF\n%YONTEN-SIGNATURE ed25519\n",
    b"%PDF-1.4\n%%EOF\n%YONTEN-SIGNATURE ed25519 abcd not-base64!\n",
    b"%PDF-1.4\n%%EOF\n%YONTEN-SIGNATURE ed25519 abcd QUJD\n",
    b"%PDF-1.4\n%%EOF\n%YONTEN-SIGNATURE rsa abcd QUJD\n",
    b"hello\n%YONTEN-SIGNATURE ed25519 abcd " + b"A" * 86 + b"==\n",
    b"%PDF-1.4\n%%EOF\n%YONTEN-SIGNATURE ed25519 \xff\xfe " + b"A" * 86 + b"==\n",
])
def test_damaged_signatures_are_reported_malformed(data):
    result = verify_pdf(data, KEY.public_key())

    assert not result.valid
    assert result.reason in (VerifyReason.MALFORMED, VerifyReason.UNSIGNED)


@given(st.binary(max_size=400))
def test_verifying_arbitrary_bytes_never_raises(data):
    assert not verify_pdf(data, KEY.public_key()).valid
    assert not verify_pdf(b"%PDF-" + data + b"\n%YONTEN-SIGNATURE " + data, KEY.public_key())


def test_verifying_something_that_is_not_bytes_gives_an_answer():
    assert verify_pdf(None, KEY.public_key()).reason is VerifyReason.MALFORMED  # type: ignore[arg-type]


def test_signing_refuses_a_file_that_is_not_a_pdf_or_already_signed():
    with pytest.raises(ValueError):
        sign_pdf(b"<html></html>", KEY)
    with pytest.raises(ValueError):
        sign_pdf(sign_pdf(MINIMAL_PDF, KEY), KEY)


def test_certificate_payload_signature_breaks_when_any_field_changes():
    payload = {"serial": "YT-2024-000123", "learner": "བསྟན་འཛིན་སྒྲོལ་མ།",
               "course": "唐卡绘画技法", "hours": Decimal("48.00"), "issued_on": date(2024, 7, 2)}
    signature = sign_payload(payload, KEY)

    assert verify_payload(dict(reversed(payload.items())), signature, KEY.public_key())
    assert not verify_payload({**payload, "hours": Decimal("480")}, signature, KEY.public_key())
    assert not verify_payload({**payload, "learner": "བསྟན་འཛིན།"}, signature, KEY.public_key())
    assert not verify_payload(payload, signature, OTHER_KEY.public_key())


@pytest.mark.parametrize("signature", ["", "not base64!", "QUJD", "A" * 88])
def test_garbage_payload_signatures_fail_quietly(signature):
    assert not verify_payload({"serial": "YT-1"}, signature, KEY.public_key())


def test_canonical_json_is_sorted_compact_utf8_with_fixed_decimals_and_utc_times():
    lhasa = timezone(timedelta(hours=8))
    encoded = canonical_json({
        "name": "བསྟན་འཛིན་ 卓玛",
        "hours": Decimal("1.5"),
        "credited_at": datetime(2024, 5, 1, 16, 30, tzinfo=lhasa),
        "evidence": None,
        "seconds": 2700,
        "on": date(2024, 5, 1),
        "parts": [True, Decimal("-0.25")],
    })

    assert encoded == (
        '{"credited_at":"2024-05-01T08:30:00.000000Z","evidence":null,"hours":"1.50",'
        '"name":"བསྟན་འཛིན་ 卓玛","on":"2024-05-01","parts":[true,"-0.25"],"seconds":2700}'
    ).encode()


def test_canonical_json_treats_naive_datetimes_as_utc_and_equal_decimals_alike():
    naive = datetime(2024, 5, 1, 8, 30)

    assert canonical_json(naive) == canonical_json(naive.replace(tzinfo=UTC))
    assert canonical_json(Decimal("1.5")) == canonical_json(Decimal("1.50")) == b'"1.50"'
    assert canonical_json(Decimal("-0")) == b'"0.00"'


@pytest.mark.parametrize("value", [1.5, Decimal("1.234"), Decimal("NaN"), {1: "x"}, object()])
def test_canonical_json_refuses_values_it_cannot_encode_exactly(value):
    with pytest.raises((TypeError, ValueError)):
        canonical_json(value)


@given(st.dictionaries(st.text(), st.one_of(st.none(), st.integers(), st.text()), max_size=8))
def test_canonical_json_does_not_depend_on_key_order(mapping):
    assert canonical_json(mapping) == canonical_json(dict(reversed(list(mapping.items()))))

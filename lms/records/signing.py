"""Installation key, canonical JSON and Ed25519 signatures for certificates.

A signed certificate PDF is the PDF followed by one trailing comment line::

    %YONTEN-SIGNATURE ed25519 <fingerprint> <base64 signature>

The signature covers every byte before that line. PDF readers ignore
comments after ``%%EOF``, so the file still opens everywhere, and anyone
holding the installation's public key can check it offline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from flask_babel import lazy_gettext as _l

SIGNATURE_TAG = b"%YONTEN-SIGNATURE"
SIGNATURE_ALGORITHM = b"ed25519"
# Ledger hours carry two decimal places; canonical JSON refuses to round more.
DECIMAL_PLACES = 2
_EOF = b"%%EOF"
_FINGERPRINT_CHARS = 16


class VerifyReason(StrEnum):
    """Why a signature check came out the way it did."""

    OK = "ok"
    UNSIGNED = "unsigned"
    WRONG_KEY = "wrong_key"
    ALTERED = "altered"
    MALFORMED = "malformed"


_REASON_MESSAGES = {
    VerifyReason.OK: _l("The signature is valid: this certificate was issued here."),
    VerifyReason.UNSIGNED: _l("This file carries no signature."),
    VerifyReason.WRONG_KEY: _l("This file was signed by another installation's key."),
    VerifyReason.ALTERED: _l("This file was changed after it was signed."),
    VerifyReason.MALFORMED: _l("This file's signature is damaged or not a certificate."),
}


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of checking a signed PDF: valid or not, and why."""

    valid: bool
    reason: VerifyReason
    fingerprint: str | None = None

    @property
    def message(self) -> str:
        """A sentence for the verification page or the command line."""
        return str(_REASON_MESSAGES[self.reason])

    def __bool__(self) -> bool:
        return self.valid


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """Load the installation's Ed25519 key from PEM, creating it (0600, dir 0700) if absent."""
    path = Path(path)
    try:
        return _load_private_key(path.read_bytes(), path)
    except FileNotFoundError:
        pass
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
        path.parent.chmod(0o700)  # mkdir's mode is filtered by the umask
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Write a complete file under a temporary name, then link it into place:
    # link() fails if another process created the key first, so two workers
    # starting together end up sharing one key instead of each keeping its own.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".key-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(pem)
            tmp.flush()
            os.fsync(tmp.fileno())
        try:
            os.link(tmp_name, path)
        except FileExistsError:
            return _load_private_key(path.read_bytes(), path)
    finally:
        os.unlink(tmp_name)
    return key


def _load_private_key(pem: bytes, path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} holds a {type(key).__name__}, not an Ed25519 private key")
    return key


def _public(key: Ed25519PrivateKey | Ed25519PublicKey) -> Ed25519PublicKey:
    return key.public_key() if isinstance(key, Ed25519PrivateKey) else key


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public half of ``key`` as a SubjectPublicKeyInfo PEM string."""
    return (
        _public(key)
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode("ascii")
    )


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    """Parse a PEM public key, as published for offline verification."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def key_fingerprint(public_key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """Short hex fingerprint: the first 16 hex digits of sha256 of the raw public key."""
    raw = _public(public_key).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return hashlib.sha256(raw).hexdigest()[:_FINGERPRINT_CHARS]


def sign_pdf(pdf_bytes: bytes, key: Ed25519PrivateKey) -> bytes:
    """Return the PDF with a detached Ed25519 signature line appended after ``%%EOF``."""
    eof = pdf_bytes.rfind(_EOF)
    if not pdf_bytes.startswith(b"%PDF-") or eof < 0:
        raise ValueError("not a PDF: no %PDF- header or no %%EOF marker")
    if pdf_bytes[eof + len(_EOF) :].strip():
        raise ValueError("the PDF has data after its final %%EOF (already signed?)")
    signed = pdf_bytes[: eof + len(_EOF)] + b"\n"
    signature = base64.b64encode(key.sign(signed))
    fingerprint = key_fingerprint(key).encode("ascii")
    return signed + b" ".join((SIGNATURE_TAG, SIGNATURE_ALGORITHM, fingerprint, signature)) + b"\n"


def verify_pdf(data: bytes, public_key: Ed25519PublicKey) -> VerifyResult:
    """Check a signed PDF against ``public_key``; never raises, whatever ``data`` is."""
    try:
        return _verify_pdf(bytes(data), public_key)
    except Exception:  # garbage in must give an answer, not a crash
        return VerifyResult(False, VerifyReason.MALFORMED)


def _verify_pdf(data: bytes, public_key: Ed25519PublicKey) -> VerifyResult:
    start = data.rfind(b"\n" + SIGNATURE_TAG + b" ")
    if start < 0:
        return VerifyResult(False, VerifyReason.UNSIGNED)
    signed, tail = data[: start + 1], data[start + 1 :]
    line, _, after = tail.partition(b"\n")
    if after.strip():
        # Bytes appended after the signature (an incremental update, say).
        return VerifyResult(False, VerifyReason.ALTERED)
    fields = line.rstrip(b"\r").split(b" ")
    if len(fields) != 4 or fields[1] != SIGNATURE_ALGORITHM or not signed.startswith(b"%PDF-"):
        return VerifyResult(False, VerifyReason.MALFORMED)
    try:
        fingerprint = fields[2].decode("ascii")
        signature = base64.b64decode(fields[3], validate=True)
    except (UnicodeDecodeError, binascii.Error):
        return VerifyResult(False, VerifyReason.MALFORMED)
    if len(signature) != 64:
        return VerifyResult(False, VerifyReason.MALFORMED)
    ours = key_fingerprint(public_key)
    try:
        public_key.verify(signature, signed)
    except InvalidSignature:
        reason = VerifyReason.ALTERED if fingerprint == ours else VerifyReason.WRONG_KEY
        return VerifyResult(False, reason, fingerprint)
    if fingerprint != ours:
        # The signature is ours but its label was edited: refuse the tampering.
        return VerifyResult(False, VerifyReason.MALFORMED, fingerprint)
    return VerifyResult(True, VerifyReason.OK, fingerprint)


def canonical_json(obj: Any, *, decimal_places: int = DECIMAL_PLACES) -> bytes:
    """Deterministic UTF-8 JSON: sorted keys, no spaces, fixed decimals, UTC datetimes."""
    return json.dumps(
        _canonical(obj, decimal_places),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")


def _canonical(obj: Any, places: int) -> Any:
    # bool before int: True is an int, and must stay true rather than become 1.
    if obj is None or isinstance(obj, str | bool | int):
        return obj
    if isinstance(obj, Decimal):
        return _fixed_decimal(obj, places)
    if isinstance(obj, datetime):
        # Naive datetimes are UTC by the project's convention.
        aware = obj.replace(tzinfo=UTC) if obj.tzinfo is None else obj.astimezone(UTC)
        return aware.isoformat(timespec="microseconds").replace("+00:00", "Z")
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, list | tuple):
        return [_canonical(item, places) for item in obj]
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise TypeError("canonical JSON needs string keys")
        return {k: _canonical(v, places) for k, v in obj.items()}
    # Floats are refused: their rounding would make hashes depend on arithmetic.
    raise TypeError(f"canonical JSON cannot encode {type(obj).__name__}")


def _fixed_decimal(value: Decimal, places: int) -> str:
    if not value.is_finite():
        raise ValueError(f"canonical JSON cannot encode {value}")
    exponent = Decimal(1).scaleb(-places)
    try:
        fixed = value.quantize(exponent)
    except InvalidOperation as exc:
        raise ValueError(f"{value} does not fit {places} decimal places") from exc
    if fixed != value:
        raise ValueError(f"{value} has more than {places} decimal places")
    return f"{fixed:f}" if fixed else f"{abs(fixed):f}"


def sign_payload(payload: dict[str, Any], key: Ed25519PrivateKey) -> str:
    """Base64 Ed25519 signature over the payload's canonical JSON."""
    return base64.b64encode(key.sign(canonical_json(payload))).decode("ascii")


def verify_payload(payload: dict[str, Any], signature: str, public_key: Ed25519PublicKey) -> bool:
    """True when ``signature`` is a valid signature of ``payload``; never raises."""
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, canonical_json(payload))
    except Exception:  # any malformed input simply fails verification
        return False
    return True

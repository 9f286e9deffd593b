"""Security helpers shared by every domain.

Resident ID numbers (GB 11643), their masking and encryption at rest; the
HTTP security headers and Content-Security-Policy every response carries;
and key files kept in the instance directory, outside the repository.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import Flask, Response, current_app, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import lazy_gettext as _l

from lms.core.i18n import ascii_digits

# --- resident identity numbers (GB 11643-1999) ----------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
#: First two digits of real province-level division codes (GB/T 2260).
_PROVINCE_CODES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82",
})


class InvalidResidentId(ValueError):
    """An ID number that cannot be real; ``message`` is ready for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(str(message))
        self.message = message


def normalize_resident_id(raw: str) -> str:
    """Strip spaces, read any script's digits, and upper-case the check character."""
    return "".join(ascii_digits(raw).split()).upper()


_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def validate_resident_id(raw: str, *, today: date | None = None) -> str:
    """Return the normalised 18-character ID number or raise ``InvalidResidentId``."""
    value = normalize_resident_id(raw)
    if len(value) != 18:
        raise InvalidResidentId(_l("An ID number has 18 characters."))
    if not _ID_SHAPE.fullmatch(value):
        raise InvalidResidentId(
            _l("An ID number is 17 digits followed by a digit or the letter X."))
    if value[:2] not in _PROVINCE_CODES:
        raise InvalidResidentId(_l("The first digits of this ID number are not a real region."))
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidResidentId(_l("The birth date in this ID number does not exist.")) from None
    if born.year < 1900 or born > (today or date.today()):
        raise InvalidResidentId(_l("The birth date in this ID number is impossible."))
    if id_check_char(value[:17]) != value[17]:
        raise InvalidResidentId(
            _l("The last character of this ID number does not match; please check it."))
    return value


def mask_resident_id(value: str | None) -> str:
    """``540102199001011234`` → ``5401**********1234``: enough to recognise, not to use."""
    if not value:
        return ""
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_contact(value: str | None) -> str:
    """``13812345678`` → ``138****5678``, ``dawa@yonten.example`` → ``d***@yonten.example``."""
    if not value:
        return ""
    local, at, domain = value.partition("@")
    if at:
        return local[:1] + "***@" + domain
    if len(value) <= 7:
        return value[:1] + "*" * (len(value) - 1)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


# --- key files and encryption at rest -------------------------------------

def read_or_create_secret(path: Path, make: callable) -> bytes:
    """Read a key file, creating it (mode 0600, directory 0700) on first use.

    Written whole under a temporary name and then linked into place, so two
    processes (or threads) starting at once never read a half-written key:
    one link wins and both read the winner's key.
    """
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(make())
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process's key came first
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes().strip()


class PiiCipher:
    """Encrypts personal identifiers at rest and derives lookup digests.

    The digest (HMAC-SHA256 under a key derived from the same secret) lets the
    database enforce one account per ID number without storing it in clear.
    """

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self._mac_key = hashlib.sha256(b"yonten-pii-digest:" + key).digest()

    @classmethod
    def for_app(cls, app: Flask) -> PiiCipher:
        cipher = app.extensions.get("lms_pii")
        if cipher is None:
            key = read_or_create_secret(Path(app.config["PII_KEY_PATH"]), Fernet.generate_key)
            cipher = app.extensions["lms_pii"] = cls(key)
        return cipher

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError("PII token does not decrypt with this installation's key") from None

    def digest(self, value: str) -> str:
        return hmac.new(self._mac_key, value.encode(), hashlib.sha256).hexdigest()


def pii_cipher() -> PiiCipher:
    """The current app's PII cipher."""
    return PiiCipher.for_app(current_app)


def secret_key_for(instance_dir: Path) -> str:
    """The installation's session-signing key, kept in ``instance/secret_key``."""
    return read_or_create_secret(
        instance_dir / "secret_key", lambda: secrets.token_hex(32).encode()).decode()


# --- HTTP headers ---------------------------------------------------------

#: The site's own pages: scripts, styles and fonts from our origin only; no
#: inline script or style, no plugins, no framing, forms post only to us.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: For user-supplied files that are shown inline (images, PDFs): nothing runs.
SANDBOX_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, for which JSON nested too deep to read is invalid JSON like any other."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def set_security_headers(response: Response) -> Response:
    """Add the security headers to a response (user files keep their stricter policy)."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response

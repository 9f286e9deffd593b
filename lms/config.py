"""Every Yonten setting: name, type, default and meaning, in one table.

Each setting can be overridden by an environment variable named ``LMS_<NAME>``
(``LMS_DATABASE_URL``, ``LMS_REDIS_URL`` ...) or by the mapping given to
``create_app(config_override=...)``. Values are parsed and checked when the app
starts, so a typo fails loudly at start-up instead of at the first request.
``lms config`` prints this table; the README's settings section is generated
from it and a test keeps the two in step.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "LMS_"


class ConfigError(Exception):
    """A setting has a value Yonten cannot start with."""


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _path_list(raw: str) -> list[str]:
    return [p for p in raw.split(os.pathsep) if p]


def _json_object(raw: str) -> dict:
    value = json.loads(raw) if raw.strip() else {}
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


@dataclass(frozen=True)
class Setting:
    """One documented setting; ``default`` may be a callable of the instance dir."""

    name: str
    default: Any
    parse: Callable[[str], Any]
    help: str
    check: Callable[[Any], str | None] | None = None

    def default_value(self, instance_dir: Path) -> Any:
        return self.default(instance_dir) if callable(self.default) else self.default

    def default_text(self) -> str:
        if callable(self.default):
            return self.default(Path("instance"))
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        if isinstance(self.default, list):
            return os.pathsep.join(self.default)
        if isinstance(self.default, dict):
            return json.dumps(self.default) if self.default else ""
        return str(self.default)


def _check_database_url(value: str) -> str | None:
    try:
        url = make_url(value)
    except ArgumentError as exc:
        return (f"is not a database URL ({exc}); expected e.g. sqlite:///instance/yonten.db "
                "or postgresql+psycopg://user@host/db")
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        return f"names the backend {url.get_backend_name()!r}; Yonten runs on sqlite or postgresql"
    if url.get_backend_name() == "postgresql" and not url.database:
        return "names no database"
    return None


def _check_redis_url(value: str) -> str | None:
    if value and not value.startswith(("redis://", "rediss://", "unix://")):
        return ("must start with redis://, rediss:// or unix:// "
                "(or be empty for Huey on SQLite)")
    return None


def _check_locale(value: str) -> str | None:
    if value not in LOCALES:
        return f"must be one of {', '.join(LOCALES)}"
    return None


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than zero"


def _ratio(value: float) -> str | None:
    return None if 0 < value <= 1 else "must be a fraction between 0 and 1"


#: Interface languages, in the order the switcher shows them.
LOCALES = ("bo", "zh_Hans", "en")

SETTINGS: tuple[Setting, ...] = (
    # --- core --------------------------------------------------------------
    Setting("SECRET_KEY", "", str,
            "Signs sessions and CSRF tokens; empty: a random key kept in instance/secret_key."),
    Setting("DATABASE_URL", lambda i: f"sqlite:///{i / 'yonten.db'}", str,
            "SQLAlchemy URL of the application database (SQLite file or postgresql+psycopg://...).",
            _check_database_url),
    Setting("DATABASE_ECHO", False, _bool, "Log every SQL statement (debugging only)."),
    Setting("REDIS_URL", "", str,
            "Redis for the job queue when scaling out; empty keeps Huey on SQLite in instance/.",
            _check_redis_url),
    Setting("MEDIA_ROOT", str(PROJECT_ROOT / "media"), str,
            "Directory for uploads, renditions and generated files."),
    Setting("MEDIA_X_ACCEL_PREFIX", "", str,
            "If set (e.g. /protected-media/), media is handed to nginx with X-Accel-Redirect."),
    Setting("PUBLIC_URL", "http://127.0.0.1:5000", str,
            "The address people reach Yonten at; used in certificate QR codes and exports."),
    Setting("DEFAULT_LOCALE", "bo", str,
            "Interface language when neither the user nor the browser chooses one.", _check_locale),
    Setting("SESSION_COOKIE_SECURE", False, _bool,
            "Send the session cookie over HTTPS only; turn on behind TLS."),
    Setting("LOG_LEVEL", "INFO", str, "Python logging level for the app and its workers."),
    # --- accounts ----------------------------------------------------------
    Setting("LOGIN_SLOWDOWN_AFTER", 3, int,
            "Failed logins after which each further attempt must wait (doubling each time).",
            _positive),
    Setting("LOGIN_LOCK_AFTER", 10, int,
            "Failed logins in a row that lock the account.", _positive),
    Setting("LOGIN_LOCK_MINUTES", 15, int, "How long a locked account stays locked.", _positive),
    Setting("PII_KEY_PATH", lambda i: str(i / "keys" / "pii.key"), str,
            "Key that encrypts resident ID numbers at rest; created on first run, back it up."),
    # --- background jobs ---------------------------------------------------
    Setting("QUEUE_NAME", "yonten", str,
            "Name of the job queue; installations sharing one Redis need different names."),
    Setting("WORKERS", 2, int, "Worker threads in `lms serve` and per `lms worker` process.",
            _positive),
    Setting("JOB_LEASE_SECONDS", 120, int,
            "A running job's lease; its worker renews it, so an expired one means the worker died.",
            _positive),
    Setting("JOB_MAX_ATTEMPTS", 3, int, "Attempts before a job is marked failed.", _positive),
    # --- uploads -----------------------------------------------------------
    Setting("UPLOAD_MAX_BYTES", 4 * 2**30, int,
            "Largest file an instructor may upload (a video, say), in bytes.", _positive),
    Setting("UPLOAD_CHUNK_BYTES", 2 * 2**20, int,
            "Size of one upload chunk; small chunks resume well on weak networks.", _positive),
    Setting("UPLOAD_EXPIRE_HOURS", 48, int,
            "Unfinished uploads older than this are deleted.", _positive),
    # --- video -------------------------------------------------------------
    # --- assessment --------------------------------------------------------
    # --- records -----------------------------------------------------------
    # --- search ------------------------------------------------------------
)

SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


def load_config(instance_dir: Path, override: Mapping[str, Any] | None = None,
                environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Resolve every setting from defaults, the environment and ``override``; check them."""
    environ = os.environ if environ is None else environ
    override = dict(override or {})
    values: dict[str, Any] = {}
    problems: list[str] = []
    for setting in SETTINGS:
        env_name = ENV_PREFIX + setting.name
        if setting.name in override:
            value = override.pop(setting.name)
        elif env_name in environ:
            try:
                value = setting.parse(environ[env_name])
            except (ValueError, json.JSONDecodeError) as exc:
                problems.append(f"{env_name}: {exc}")
                continue
        else:
            value = setting.default_value(instance_dir)
        if setting.check is not None:
            problem = setting.check(value)
            if problem:
                problems.append(f"{env_name}={value!r} {problem}")
                continue
        values[setting.name] = value
    if problems:
        raise ConfigError("Yonten cannot start:\n  " + "\n  ".join(problems))
    # Anything left in the override is Flask's own configuration (TESTING ...).
    values.update(override)
    return values


def settings_markdown() -> str:
    """The settings table as Markdown, for the README."""
    lines = ["| setting | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = s.default_text().replace(str(PROJECT_ROOT), ".") or "(empty)"
        lines.append(f"| `{ENV_PREFIX}{s.name}` | `{default}` | {s.help} |")
    return "\n".join(lines)

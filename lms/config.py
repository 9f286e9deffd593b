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
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

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
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        return (f"is not a database URL ({exc}); expected e.g. sqlite:///instance/yonten.db "
                "or postgresql+psycopg://user@host/db")
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        return f"names the backend {url.get_backend_name()!r}; Yonten runs on sqlite or postgresql"
    if url.get_backend_name() == "postgresql" and not url.database:
        return "names no database"
    try:
        url.get_dialect()
    except NoSuchModuleError:
        return (f"names the driver {url.get_driver_name()!r}, which is not installed; "
                "use postgresql+psycopg://")
    return None


def _check_log_level(value: str) -> str | None:
    if not isinstance(logging.getLevelName(str(value).upper()), int):
        return "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
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


def _not_negative(value: float) -> str | None:
    return None if value >= 0 else "must not be negative"


def _ratio(value: float) -> str | None:
    return None if 0 < value <= 1 else "must be a fraction between 0 and 1"


_X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                 "slower", "veryslow")


def _check_x264_preset(value: str) -> str | None:
    return None if value in _X264_PRESETS else f"must be one of {', '.join(_X264_PRESETS)}"


def _check_renditions(value: dict) -> str | None:
    from lms.video.renditions import build_profiles

    try:
        build_profiles(value)
    except (TypeError, ValueError) as exc:
        return f"is not a usable ladder: {exc}"
    return None


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
    Setting("TRUSTED_PROXIES", 0, int,
            "Reverse proxies in front of Yonten (nginx: 1) whose X-Forwarded-For and "
            "X-Forwarded-Proto it believes; 0 when clients reach it directly.", _not_negative),
    Setting("LOG_LEVEL", "INFO", lambda text: text.strip().upper(),
            "Python logging level for the app and its workers.", _check_log_level),
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
    Setting("UPLOAD_MAX_OPEN", 5, int,
            "Uploads one person may have open at a time: still arriving, or whole but not "
            "yet used.", _positive),
    Setting("UPLOAD_EXPIRE_HOURS", 48, int,
            "Unfinished uploads older than this are deleted (a whole file nobody used, "
            "after 6 hours).", _positive),
    # --- video -------------------------------------------------------------
    Setting("VIDEO_MAX_DURATION_S", 3 * 3600.0, float,
            "Longest video accepted, in seconds (a longer one is rejected before transcoding).",
            _positive),
    Setting("VIDEO_MAX_WIDTH", 3840, int,
            "Widest picture accepted, in pixels (checked in either orientation).", _positive),
    Setting("VIDEO_MAX_HEIGHT", 2160, int,
            "Tallest picture accepted, in pixels (checked in either orientation).", _positive),
    Setting("VIDEO_MAX_FPS", 60.0, float, "Highest frame rate accepted.", _positive),
    Setting("VIDEO_MAX_STREAMS", 8, int,
            "Most streams (video, sound, phone data tracks) one file may hold.", _positive),
    Setting("VIDEO_PROBE_TIMEOUT_S", 30.0, float,
            "Wall-clock limit of one ffprobe run, in seconds.", _positive),
    Setting("VIDEO_TRANSCODE_TIMEOUT_S", 6 * 3600.0, float,
            "Wall-clock limit of one transcode (all renditions at once), in seconds.", _positive),
    Setting("VIDEO_X264_PRESET", "veryfast", str,
            "x264 speed preset: slower presets make smaller files for the same quality.",
            _check_x264_preset),
    Setting("VIDEO_RENDITIONS", {}, _json_object,
            "Changes to the rendition ladder as JSON, e.g. "
            '{"240p": {"video_kbps": 200}, "720p": null} (see lms/video/renditions.py).',
            _check_renditions),
    Setting("VIDEO_WATCH_TOLERANCE_S", 10.0, float,
            "Seconds of watching a report may claim beyond the wall-clock time since the last.",
            _positive),
    Setting("VIDEO_COMPLETION_THRESHOLD", 0.95, float,
            "Share of a video's seconds a learner must watch to complete a video lesson.",
            _ratio),
    Setting("VIDEO_SUBTITLE_MAX_BYTES", 2**20, int,
            "Largest subtitle file (WebVTT or SRT) accepted, in bytes.", _positive),
    # --- assessment --------------------------------------------------------
    Setting("QUIZ_GRACE_SECONDS", 30, int,
            "Seconds after a quiz's time limit in which answers still count (slow networks).",
            lambda v: None if 0 <= v <= 600 else "must be between 0 and 600"),
    Setting("QUIZ_IMPORT_MAX_BYTES", 5 * 2**20, int,
            "Largest GIFT or Aiken file an instructor may import, in bytes.", _positive),
    Setting("EVIDENCE_MAX_BYTES", 500 * 2**20, int,
            "Largest file a learner may upload as practical evidence (a video, say), in bytes.",
            _positive),
    # --- records -----------------------------------------------------------
    Setting("CERTIFICATE_KEY_PATH", lambda i: str(i / "keys" / "certificates.pem"), str,
            "Ed25519 key that signs certificates; created on first run. Back it up: "
            "certificates signed with a lost key can no longer be checked here."),
    Setting("EXPORT_LINK_HOURS", 24, int,
            "Hours an export's download link works (only for the admin who asked for it).",
            _positive),
    Setting("OFFLINE_EVIDENCE_MAX_BYTES", 10 * 1024 * 1024, int,
            "Largest evidence file (PDF or image) for offline training entries, in bytes.",
            _positive),
    # --- search ------------------------------------------------------------
    Setting("SEARCH_INDEX_PATH", lambda i: str(i / "search"), str,
            "Directory of the search index (a relative path is under the instance directory)."),
    Setting("SEARCH_LOCK_TIMEOUT", 10.0, float,
            "Seconds an index update waits for another writer before its job is retried.",
            _positive),
    Setting("PAGE_CACHE_MB", 64, int,
            "Memory per process for pages kept for one signed-in user until what they show "
            "changes (a lesson page); 0 renders every view.", _not_negative),
    Setting("SEARCH_PER_PAGE", 10, int, "Results on one page of the search page.",
            lambda v: None if 1 <= v <= 100 else "must be between 1 and 100"),
    Setting("SEARCH_MAX_QUERY_CHARS", 200, int,
            "Longest query searched; longer input is cut at a word boundary.",
            lambda v: None if 10 <= v <= 1000 else "must be between 10 and 1000"),
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

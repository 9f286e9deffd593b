"""Settings: defaults, environment overrides and clear errors at start-up."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from lms import create_app
from lms.config import SETTINGS, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_environment_overrides_defaults(tmp_path):
    config = load_config(tmp_path, environ={"LMS_WORKERS": "4",
                                            "LMS_SESSION_COOKIE_SECURE": "yes"})
    assert config["WORKERS"] == 4 and config["SESSION_COOKIE_SECURE"] is True


def test_default_database_is_sqlite_in_the_instance_directory(tmp_path):
    url = load_config(tmp_path, environ={})["DATABASE_URL"]
    assert url == f"sqlite:///{tmp_path / 'yonten.db'}"


@pytest.mark.parametrize("url", ["not a url", "mysql://root@localhost/lms", "postgresql://host",
                                 "postgresql://yonten@db:notaport/yonten",
                                 "postgresql+nosuchdriver://yonten@db/yonten"])
def test_malformed_database_url_is_a_clear_startup_error(tmp_path, url):
    with pytest.raises(ConfigError) as excinfo:
        create_app({"INSTANCE_DIR": str(tmp_path), "DATABASE_URL": url})
    assert "LMS_DATABASE_URL" in str(excinfo.value)


def test_malformed_database_url_stops_the_command_with_a_message_not_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "lms.cli", "db", "upgrade"], capture_output=True, text=True,
        env={"LMS_DATABASE_URL": "sqlite:/::nonsense::", "LMS_INSTANCE_DIR": str(tmp_path),
             "PATH": "/usr/bin:/bin"}, cwd=ROOT, timeout=60)
    assert result.returncode == 2
    assert "LMS_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_log_level_is_a_known_level_in_any_case(tmp_path):
    assert load_config(tmp_path, environ={"LMS_LOG_LEVEL": "debug"})["LOG_LEVEL"] == "DEBUG"
    with pytest.raises(ConfigError) as excinfo:
        load_config(tmp_path, environ={"LMS_LOG_LEVEL": "verbose"})
    assert "LMS_LOG_LEVEL" in str(excinfo.value) and "WARNING" in str(excinfo.value)


def test_every_problem_is_reported_at_once(tmp_path):
    with pytest.raises(ConfigError) as excinfo:
        load_config(tmp_path, environ={"LMS_WORKERS": "many", "LMS_DEFAULT_LOCALE": "fr",
                                       "LMS_REDIS_URL": "http://x"})
    message = str(excinfo.value)
    assert "LMS_WORKERS" in message and "LMS_DEFAULT_LOCALE" in message
    assert "LMS_REDIS_URL" in message


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`LMS_([A-Z0-9_]+)`", readme))
    missing = [s.name for s in SETTINGS if s.name not in documented]
    assert not missing, f"README lacks settings: {missing} (paste `lms config` into it)"

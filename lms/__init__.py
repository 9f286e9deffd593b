"""Yonten (ཡོན་ཏན་): a learning management system for lifelong vocational-skills training."""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from lms.config import PROJECT_ROOT, load_config

#: Modules imported for what they register: models, jobs (``@job``), signal listeners.
REGISTERING_MODULES = (
    "lms.core.jobs",
    "lms.core.audit",
    "lms.core.cache",
    "lms.core.throttle",
    "lms.users.models",
    "lms.users.target_groups",
    "lms.courses.models",
    "lms.courses.listeners",
    "lms.uploads.models",
    "lms.video.models",
    "lms.video.kinds",
    "lms.video.tasks",
    "lms.video.listeners",
    "lms.assessment.models",
    "lms.assessment.kinds",
    "lms.records.models",
    "lms.records.tasks",
    "lms.records.listeners",
    "lms.search.tasks",
    "lms.search.listeners",
)

#: Blueprints, in registration order (``<domain>.blueprint.bp``).
BLUEPRINTS = (
    "lms.web.blueprint",
    "lms.users.blueprint",
    "lms.courses.blueprint",
    "lms.uploads.blueprint",
    "lms.video.blueprint",
    "lms.assessment.blueprint",
    "lms.records.blueprint",
    "lms.search.blueprint",
)


class BoundedIntegerConverter(IntegerConverter):
    """``<int:id>`` limited to a 64-bit signed integer, the largest id a database stores."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = 2**63 - 1, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def create_app(config_override: dict[str, Any] | None = None) -> Flask:
    """Build the Yonten app from the settings, the environment and ``config_override``."""
    override = dict(config_override or {})
    instance_dir = Path(override.pop("INSTANCE_DIR", None)
                        or os.environ.get("LMS_INSTANCE_DIR")
                        or PROJECT_ROOT / "instance")
    instance_dir.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, instance_path=str(instance_dir.resolve()), static_folder="web/static")
    from lms.core.security import JSONProvider

    app.json = JSONProvider(app)
    # <int:...> in a URL never exceeds what the database can hold (else: 404, not a crash).
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.config.update(load_config(instance_dir, override))
    _configure_flask(app)
    _init_extensions(app)
    for module in REGISTERING_MODULES:
        importlib.import_module(module)
    for module in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(module).bp)
    return app


def _configure_flask(app: Flask) -> None:
    from lms.core.security import secret_key_for

    config = app.config
    config["SECRET_KEY"] = config["SECRET_KEY"] or secret_key_for(Path(app.instance_path))
    config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="yonten_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=config["SESSION_COOKIE_SECURE"],
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        BABEL_DEFAULT_LOCALE=config["DEFAULT_LOCALE"],
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,  # form posts; big files arrive in chunks
    )
    logging.getLogger("lms").setLevel(config["LOG_LEVEL"])
    if proxies := config["TRUSTED_PROXIES"]:
        # Behind TLS-terminating nginx, the request is HTTPS only by its X-Forwarded-Proto:
        # HSTS, secure redirects and Flask-WTF's referrer check on HTTPS depend on it.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)


def _init_extensions(app: Flask) -> None:
    from lms.core import access, queue, storage
    from lms.core.i18n import select_locale
    from lms.extensions import babel, csrf, db, login_manager

    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    access.init_app(app)
    storage.init_app(app)
    queue.init_app(app)

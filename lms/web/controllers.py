"""The site's frame: home page, per-role dashboard, language switch, errors, headers."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy.exc import DataError
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.wrappers import Response

from lms.config import LOCALES
from lms.core import i18n
from lms.core.access import login_required, public
from lms.core.db import write_intent
from lms.core.forms import in_language
from lms.core.i18n import DISPLAY_TZ
from lms.core.security import set_security_headers
from lms.extensions import db
from lms.web.menus import footer_links, home_blocks, nav_links, panels_for

STATIC_DIR = Path(__file__).parent / "static"


@public
def home() -> str:
    return render_template("web/home.html")


@login_required
def dashboard() -> str:
    return render_template("web/dashboard.html", panels=panels_for(current_user))


def safe_next(target: str | None, default: str = "web.home") -> str:
    """A same-site path to go back to, never an open redirect."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//") and "\\" not in target:
            return target
    return url_for(default)


def _remember_language(response: Response, locale: str) -> Response:
    if not current_user.is_authenticated:
        # A cookie for this browser visit only, not the session: anonymous pages stay
        # cacheable. Logging in now saves the choice to the account (users.controllers).
        response.set_cookie(i18n.CHOSEN_LANGUAGE, "1", samesite="Lax", httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    response.set_cookie(i18n.LANG_COOKIE, locale, max_age=365 * 24 * 3600,
                        samesite="Lax", httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@public
def set_language() -> Response:
    """Signed-in users switch language with a form; it is saved to their account too."""
    locale = request.form.get("locale", "")
    response = redirect(safe_next(request.form.get("next")))
    if locale not in LOCALES:
        flash(_("That language is not available."), "error")
        return response
    if current_user.is_authenticated and current_user.locale != locale:
        current_user.locale = locale
        db.session.commit()
    return _remember_language(response, locale)


@public
def choose_language(locale: str) -> Response:
    """Visitors switch language with a link: only a cookie changes, nothing is stored."""
    return _remember_language(redirect(safe_next(request.args.get("next"))), locale)


@public
def health() -> dict:
    return {"status": "ok"}


# --- app-wide hooks ---------------------------------------------------------

@cache
def _static_version(filename: str) -> str:
    try:
        return hashlib.sha256((STATIC_DIR / filename).read_bytes()).hexdigest()[:10]
    except OSError:
        return "0"


_STATIC_URLS: dict[tuple[str, str], str] = {}


def static_url(filename: str) -> str:
    """URL of a static file with a content hash, so it can be cached for a year."""
    key = (request.script_root, filename)
    url = _STATIC_URLS.get(key)
    if url is None:
        url = _STATIC_URLS[key] = url_for("static", filename=filename,
                                          v=_static_version(filename))
    return url


def format_hours(value: Decimal | float | int | None) -> str:
    """Hours without useless zeros: 48, 1.5, 0.25."""
    if value is None:
        return ""
    text = f"{Decimal(str(value)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_datetime(value: datetime | None) -> str:
    """A UTC timestamp shown in the region's time (Beijing time, UTC+8)."""
    return value.astimezone(DISPLAY_TZ).strftime("%Y-%m-%d %H:%M") if value else ""


def format_date(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(DISPLAY_TZ)
    return value.strftime("%Y-%m-%d")


def time_tag(value: datetime | date | None, text: str) -> Markup:
    """A date or time for a page: a ``<time>`` element, which the style sheet keeps on one
    line (a narrow phone screen would otherwise break 2026-11-27 at its hyphens)."""
    if value is None:
        return Markup("")
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), text)


def _error_page(error: HTTPException) -> tuple[str | dict, int]:
    code = error.code or 500
    messages = {
        400: _("The request could not be understood."),
        403: _("You do not have permission to open this page."),
        404: _("This page does not exist, or it is not available to you."),
        405: _("This address does not accept that kind of request."),
        413: _("The file or form is too large."),
        500: _("Something went wrong on our side. Nothing you did caused it; please try again."),
    }
    return _error_response(code, messages.get(code, error.description))


def _csrf_error(error: CSRFError) -> tuple[str | dict, int]:
    return _error_response(400, _("This form has expired or did not come from this site. "
                                  "Please go back, reload the page and send it again."))


def _error_response(code: int, message: str) -> tuple[str | dict, int]:
    """An error page, or for a page's script (JSON sent or asked for) the message as JSON."""
    if request.is_json or request.accept_mimetypes.best == "application/json":
        return {"error": message}, code
    return render_template("web/error.html", code=code, message=message), code


def _unusable_number(error: Exception) -> tuple[str | dict, int]:
    db.session.rollback()
    return _error_page(BadRequest())


def _server_error(error: HTTPException) -> tuple[str | dict, int]:
    db.session.rollback()
    return _error_page(error)


def install_app_hooks(state: BlueprintSetupState) -> None:
    """App-wide error pages, headers, template helpers and the write-intent flag."""
    app: Flask = state.app
    for code in (400, 403, 404, 405, 413):
        app.register_error_handler(code, _error_page)
    app.register_error_handler(CSRFError, _csrf_error)
    # A number too large for the database in a query string or form: bad input, not a crash.
    app.register_error_handler(OverflowError, _unusable_number)
    app.register_error_handler(DataError, _unusable_number)
    app.register_error_handler(500, _server_error)

    @app.before_request
    def _declare_write_intent() -> None:
        view = app.view_functions.get(request.endpoint or "")
        writes = request.method not in ("GET", "HEAD", "OPTIONS") and not getattr(
            view, "lms_writes_later", False)
        request.environ["lms.write_intent_token"] = write_intent.set(writes)

    @app.teardown_request
    def _reset_write_intent(_exc: BaseException | None) -> None:
        token = request.environ.pop("lms.write_intent_token", None)
        if token is not None:
            write_intent.reset(token)

    @app.after_request
    def _headers(response: Response) -> Response:
        if request.endpoint == "static" and request.args.get("v"):
            response.cache_control.max_age = 365 * 24 * 3600
            response.cache_control.public = True
            response.cache_control.immutable = True
        elif "Cache-Control" not in response.headers and current_user.is_authenticated:
            response.cache_control.private = True
            response.cache_control.no_store = True
        return set_security_headers(response)

    app.jinja_env.globals.update(
        static_url=static_url,
        current_locale=i18n.current_locale,
        html_lang=i18n.html_lang,
        localized=i18n.localized,
        labelled=i18n.labelled,
        from_snapshot=i18n.from_snapshot,
        in_language=in_language,
        locales=LOCALES,
        native_names=i18n.NATIVE_NAMES,
        nav_links=nav_links,
        footer_links=footer_links,
        home_blocks=home_blocks,
    )
    app.jinja_env.globals["localized_lang"] = lambda obj, field: i18n.localized_with_lang(
        obj, field)[1]
    app.jinja_env.filters["nl2br"] = lambda text: Markup("<br>").join(
        (text or "").splitlines())
    app.jinja_env.filters["hours"] = format_hours
    app.jinja_env.filters["datetime"] = lambda value: time_tag(value, format_datetime(value))
    app.jinja_env.filters["date"] = lambda value: time_tag(value, format_date(value))

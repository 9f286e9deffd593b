"""Route-level access rules: every view declares who may reach it.

A view is decorated with exactly one of ``public``, ``login_required``,
``roles_required(...)`` or ``pass_required``. A request to a view that declares nothing is refused
(fail closed), and a test walks the URL map so such a view never ships.
Per-object checks (may *this* instructor edit *this* course?) live in each
domain's ``permissions.py`` and are called by its loaders and operations.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, current_app, request
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])

ACCESS_ATTR = "lms_access_rule"
#: Endpoints Flask itself adds.
_BUILTIN_PUBLIC = {"static"}


def _mark(view: F, rule: str) -> F:
    setattr(view, ACCESS_ATTR, rule)
    return view


def public(view: F) -> F:
    """Anyone, signed in or not, may open this view."""
    return _mark(view, "public")


def pass_required(view: F) -> F:
    """Anyone presenting a pass the view checks itself: a signed token a page handed to a
    signed-in user, bound to them and to what it lets them do (the watch heartbeat).
    The pass stands in for both the session and the form token."""
    return _mark(view, "pass")


def login_required(view: F) -> F:
    """Only signed-in users may open this view."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        return view(*args, **kwargs)

    return _mark(wrapper, "login")


def roles_required(*roles: str) -> Callable[[F], F]:
    """Only signed-in users holding one of ``roles`` may open this view (else 403)."""
    allowed = frozenset(str(r) for r in roles)

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if str(current_user.role) not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return _mark(wrapper, "roles:" + ",".join(sorted(allowed)))

    return decorator


def access_rule(app: Flask, endpoint: str) -> str | None:
    """The declared rule of an endpoint, or None if it declares none."""
    if endpoint in _BUILTIN_PUBLIC:
        return "public"
    view = app.view_functions.get(endpoint)
    return getattr(view, ACCESS_ATTR, None)


def init_app(app: Flask) -> None:
    """Refuse requests to views that declare no rule."""

    @app.before_request
    def _enforce_declared_rule() -> None:
        endpoint = request.endpoint
        if endpoint is None:  # no route matched: let the 404 handler answer
            return
        if access_rule(app, endpoint) is None:
            app.logger.error("view %s declares no access rule; refusing", endpoint)
            abort(403)

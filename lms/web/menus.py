"""What domains add to the frame: dashboard panels, header and footer links, home blocks.

A panel is a function ``(user) -> dict | None`` registered for some roles; it
returns the template to include and its context, or None to stay hidden.
The web domain renders them without knowing the domains behind them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PanelFunc = Callable[[Any], dict[str, Any] | None]


@dataclass(frozen=True)
class Panel:
    """A registered panel: its order on the page, the roles it is for, its function."""

    order: int
    roles: frozenset[str]
    func: PanelFunc


_PANELS: list[Panel] = []


def dashboard_panel(*roles: str, order: int = 50) -> Callable[[PanelFunc], PanelFunc]:
    """Register a dashboard panel for ``roles`` (all roles when none are given)."""

    def decorator(func: PanelFunc) -> PanelFunc:
        _PANELS.append(Panel(order, frozenset(str(r) for r in roles), func))
        _PANELS.sort(key=lambda p: p.order)
        return func

    return decorator


def panels_for(user: Any) -> list[dict[str, Any]]:
    """The panels ``user`` should see, rendered to template name + context."""
    out = []
    for panel in _PANELS:
        if panel.roles and str(user.role) not in panel.roles:
            continue
        content = panel.func(user)
        if content is not None:
            out.append(content)
    return out


# --- links and home-page blocks -------------------------------------------

@dataclass(frozen=True)
class Link:
    """A link a domain adds to the header or footer: endpoint and a lazy label."""

    order: int
    endpoint: str
    label: Any


_NAV: list[Link] = []
_FOOTER: list[Link] = []
_HOME_BLOCKS: list[tuple[int, str]] = []


def nav_link(endpoint: str, label: Any, order: int = 50) -> None:
    """Add a header link (e.g. the catalogue)."""
    _NAV.append(Link(order, endpoint, label))
    _NAV.sort(key=lambda link: link.order)
    _RESOLVED.clear()


def footer_link(endpoint: str, label: Any, order: int = 50) -> None:
    """Add a footer link (e.g. certificate verification)."""
    _FOOTER.append(Link(order, endpoint, label))
    _FOOTER.sort(key=lambda link: link.order)
    _RESOLVED.clear()


def home_block(template: str, order: int = 50) -> None:
    """Add a template included on the home page (e.g. featured courses)."""
    _HOME_BLOCKS.append((order, template))
    _HOME_BLOCKS.sort()


_RESOLVED: dict[tuple[str, str, str], list[tuple[str, str]]] = {}


def _resolved(which: str, links: list[Link]) -> list[tuple[str, str]]:
    """``(url, label)`` pairs, built once per site root and language (every page shows them)."""
    from flask import request, url_for

    from lms.core.i18n import current_locale

    key = (which, request.script_root, current_locale())
    pairs = _RESOLVED.get(key)
    if pairs is None:
        pairs = _RESOLVED[key] = [(url_for(link.endpoint), str(link.label)) for link in links]
    return pairs


def nav_links() -> list[tuple[str, str]]:
    """The header links, resolved for this request's language."""
    return _resolved("nav", _NAV)


def footer_links() -> list[tuple[str, str]]:
    """The footer links, resolved for this request's language."""
    return _resolved("footer", _FOOTER)


def home_blocks() -> list[dict[str, str]]:
    return [{"template": template} for _order, template in _HOME_BLOCKS]

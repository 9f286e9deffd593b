"""Markdown authored by instructors, rendered to HTML that cannot run anything.

markdown-it renders CommonMark (with tables and strikethrough; raw HTML is
escaped, never passed through), then nh3 (the Rust ammonia sanitiser) keeps
only an allow-list of tags and attributes. Links may point to http(s) and
mailto only; images only to this site (the CSP would block others anyway).
"""

from __future__ import annotations

import html
import re
from functools import cache, lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "code",
    "pre", "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th",
    "td", "sup", "sub",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
    "code": {"class"},
}
_LOCAL_PATH = re.compile(r"^/(?!/)[^\s\\]*$")


@cache
def _renderer() -> MarkdownIt:
    # html=False: raw HTML in the source is shown as text, not interpreted.
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}) \
        .enable(["table", "strikethrough"])


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if _LOCAL_PATH.match(value) else None
    if tag == "code" and attribute == "class":
        return value if re.fullmatch(r"language-[\w-]{1,30}", value) else None
    return value


def sanitize_html(html: str) -> str:
    """Keep only the allow-listed tags, attributes and URL schemes."""
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"},
                     attribute_filter=_filter_attribute, link_rel="noopener noreferrer nofollow",
                     strip_comments=True)


def render_markdown(text: str | None) -> Markup:
    """Markdown to safe HTML (recently rendered texts come from a small cache)."""
    if not text:
        return Markup("")
    return Markup(_render_cached(text))  # noqa: S704 (sanitised)


@lru_cache(maxsize=256)
def _render_cached(text: str) -> str:
    return sanitize_html(_renderer().render(text))


def markdown_to_text(text: str | None) -> str:
    """The plain words of a Markdown text (for search and summaries)."""
    if not text:
        return ""
    plain = html.unescape(nh3.clean(_renderer().render(text), tags=set(), attributes={}))
    return re.sub(r"\s+", " ", plain).strip()

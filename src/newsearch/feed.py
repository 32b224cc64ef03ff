"""Atom (RFC 4287) feeds of searches: the newest matching articles, for feed readers and press alerts."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from xml.etree import ElementTree as ET

from .dates import parse_iso
from .export import plain_snippet
from .parse import tag_key

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
FEED_SIZE = 50
# Ids are URNs derived from what they name, never from the host serving them: a feed moved behind a proxy
# or to another address keeps its ids, so readers do not show old articles again.
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://newsearch.invalid/atom")
# Characters XML 1.0 cannot carry, even escaped; article text may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text) -> str:
    """Return text without the characters an XML document may not contain."""
    return _NOT_XML.sub("", str(text or ""))


def urn(kind: str, key: str) -> str:
    """Return the stable id of a feed (kind "feed", key its filters) or an entry (kind "article", key its id)."""
    return f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, f'{kind}:{key}')}"


def rfc3339(value: str, default: datetime) -> str:
    """Return an article date as an RFC 3339 date-time (UTC when it has no offset), default when unreadable."""
    moment = parse_iso(value) or default
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat(timespec="seconds")


def atom_feed(
    hits: list[dict],
    *,
    key: str,
    title: str,
    self_url: str,
    html_url: str,
    article_url: Callable[[str], str],
    original_url: Callable[[str], str | None],
    fallback: datetime,
) -> bytes:
    """Return the Atom document of hits, newest first as given; fallback dates the feed and undated entries."""

    def add(parent, name, text=None, **attributes):
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{name}", {k: xml_text(v) for k, v in attributes.items()})
        if text is not None:
            element.text = xml_text(text)
        return element

    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed", {"xml:lang": "fr"})
    dates = [rfc3339(hit.get("date", ""), fallback) for hit in hits if parse_iso(hit.get("date", ""))]
    add(feed, "id", urn("feed", key))
    add(feed, "title", title)
    add(feed, "updated", max(dates, key=parse_iso) if dates else rfc3339("", fallback))
    add(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    add(feed, "link", rel="alternate", type="text/html", href=html_url)
    add(add(feed, "author"), "name", "newsearch")
    add(feed, "generator", "newsearch")
    for hit in hits:
        entry = add(feed, "entry")
        add(entry, "id", urn("article", hit["id"]))
        add(entry, "title", hit.get("title") or "(sans titre)")
        stamp = rfc3339(hit.get("date", ""), fallback)
        add(entry, "updated", stamp)
        add(entry, "published", stamp)
        add(entry, "link", rel="alternate", type="text/html", href=article_url(hit["id"]))
        original = original_url(hit.get("url", ""))
        if original:
            add(entry, "link", rel="related", href=original)
        for tag in hit.get("tags") or []:
            if tag_key(tag):
                add(entry, "category", term=tag_key(tag), label=tag)
        if hit.get("snippet"):
            add(entry, "summary", plain_snippet(hit["snippet"]), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)

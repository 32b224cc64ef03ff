"""A browser's search bar: the OpenSearch 1.1 description of newsearch and its suggestions format."""

from __future__ import annotations

from collections.abc import Callable
from xml.etree import ElementTree as ET

from .feed import xml_text
from .suggest import Suggestion

OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"
MOZ_NS = "http://www.mozilla.org/2006/browser/search/"
DESCRIPTION_TYPE = "application/opensearchdescription+xml"
# Firefox and Chromium ask for this type; its body is the JSON array [query, [texts], [descriptions], [urls]].
SUGGESTIONS_TYPE = "application/x-suggestions+json"


def opensearch_description(
    *, search: str, suggest: str, feed: str, self_url: str, home: str, icon: str, name: str = "newsearch"
) -> bytes:
    """Return the OpenSearch description; URL templates are absolute and end in a {searchTerms} argument."""
    ET.register_namespace("", OPENSEARCH_NS)
    ET.register_namespace("moz", MOZ_NS)
    root = ET.Element(f"{{{OPENSEARCH_NS}}}OpenSearchDescription")

    def add(name_, text=None, ns=OPENSEARCH_NS, **attributes):
        element = ET.SubElement(root, f"{{{ns}}}{name_}", attributes)
        element.text = xml_text(text) if text is not None else None
        return element

    add("ShortName", name[:16])  # the specification's limit
    add("Description", "Recherche dans les articles d’actualité indexés par newsearch")
    add("InputEncoding", "UTF-8")
    add("OutputEncoding", "UTF-8")
    add("Language", "fr")
    add("Image", icon, width="16", height="16", type="image/svg+xml")
    add("Url", type="text/html", method="get", template=f"{search}?q={{searchTerms}}")
    add("Url", type=SUGGESTIONS_TYPE, method="get", template=f"{suggest}?q={{searchTerms}}")
    add("Url", type="application/atom+xml", method="get", template=f"{feed}?q={{searchTerms}}")
    add("Url", type=DESCRIPTION_TYPE, rel="self", template=self_url)
    add("SearchForm", home, ns=MOZ_NS)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def suggestions_payload(
    typed: str, suggestions: list[Suggestion], article_url: Callable[[str], str], search_url: Callable[[str], str]
) -> list:
    """Return the OpenSearch suggestions array: the query, then completions, descriptions and URLs in parallel."""
    return [
        typed,
        [s.text for s in suggestions],
        [s.description for s in suggestions],
        [article_url(s.article_id) if s.article_id else search_url(s.text) for s in suggestions],
    ]

"""One vocabulary for what users choose among: the facet kinds, the kinds of named entities, the sort orders."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FacetKind:
    """A facet and the name it goes by in each place that speaks of it: results, JSON, URL, CLI, request."""

    key: str  # its facet in results, and its filter in the plan and the JSON ("personnes")
    label: str  # the French heading ("Personnes")
    item_label: str  # what one chosen value is called, on its chip ("Personne")
    param: str | None  # the web's URL argument ("personne"); None for the date histogram (since/until)
    option: str | None  # the CLI's option ("--person"); None for the date histogram (--since/--until)
    attribute: str | None  # SearchRequest's attribute ("persons"); None for the date histogram
    field: str  # the schema's field ("person")
    select: str  # how a reader picks: "many" values (all must match), "one" value, or a "range" of dates
    size: int | None = None  # how many values are counted and returned; None: all of them
    keyed: bool = False  # values compared by key (parse.tag_key: "SANTÉ" is "sante"), not as written
    entity: bool = False  # a named entity, read from the articles' text by entities.py


# Every facet, in the order the CLI prints them and the JSON lists them.
# fmt: off
FACET_KINDS = (
    FacetKind("tags", "Tags", "Tag", "tag", "--tag", "tags", "tag", "many", size=100, keyed=True),
    FacetKind("date", "Dates", "Période", None, None, None, "date", "range"),
    FacetKind("section", "Rubriques", "Rubrique", "section", "--section", "section", "section", "one", keyed=True),
    FacetKind("personnes", "Personnes", "Personne", "personne", "--person", "persons", "person", "many", 20,
              entity=True),
    FacetKind("lieux", "Lieux", "Lieu", "lieu", "--place", "places", "place", "many", 20, entity=True),
    FacetKind("organisations", "Organisations", "Organisation", "organisation", "--org", "orgs", "org", "many", 20,
              entity=True),
)
# fmt: on
FACETS = {kind.key: kind for kind in FACET_KINDS}
# The facets a reader picks values of by name (all but the date histogram), and the named entities among them.
VALUE_FACETS = tuple(kind for kind in FACET_KINDS if kind.select != "range")
ENTITY_KINDS = tuple(kind for kind in FACET_KINDS if kind.entity)

# Sort orders, the default first, with the French label the UI shows.
SORTS = {"relevance": "Pertinence", "recent": "Pertinence et fraîcheur", "date": "Date"}
DEFAULT_SORT = "relevance"

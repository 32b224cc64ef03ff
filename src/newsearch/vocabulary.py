"""One vocabulary for what users choose among: the sort orders and the kinds of named entities, by every name."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EntityKind:
    """A kind of named entity and the name it goes by in each place that speaks of it."""

    field: str  # the schema's field ("person")
    key: str  # its facet in results, and its filter in the plan and the JSON ("personnes")
    param: str  # the web's URL argument ("personne")
    option: str  # the CLI's option ("--person")
    attribute: str  # SearchRequest's attribute ("persons")
    label: str  # the French heading ("Personnes")


ENTITY_KINDS = (
    EntityKind("person", "personnes", "personne", "--person", "persons", "Personnes"),
    EntityKind("place", "lieux", "lieu", "--place", "places", "Lieux"),
    EntityKind("org", "organisations", "organisation", "--org", "orgs", "Organisations"),
)

# Sort orders, the default first, with the French label the UI shows.
SORTS = {"relevance": "Pertinence", "recent": "Pertinence et fraîcheur", "date": "Date"}
DEFAULT_SORT = "relevance"

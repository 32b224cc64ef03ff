"""Related articles: more like this one, by its key terms and the names it shares, one per story."""

from __future__ import annotations

from whoosh import query as wq

from .analysis import text_terms
from .schema import ENTITY_FIELDS

KEY_TERMS = 25  # the article's most telling body terms that make the more-like-this query


def related_docs(searcher, cache, docnum: int, limit: int, entity_boost: float) -> list[tuple[float, int]]:
    """Return (score, docnum) of up to limit articles like docnum, none a wire copy of it or of one another.

    Each named entity another article shares with this one multiplies its score by 1 + entity_boost.
    """
    # Terms are stems, and a name can share its stem with a common word ("Castex" and "castes"): the terms of
    # the article's named entities are left out of the more-like-this query, and each entity another article
    # names exactly (people, places, organisations) lifts it instead.
    fields = searcher.stored_fields(docnum)
    entities = fields.get("entities") or {}
    named = _named_entities(fields)
    name_terms = set(text_terms(" ".join(name for names in entities.values() for name in names)))
    key_terms = [
        (t, w)
        for t, w in searcher.key_terms([docnum], "body", numterms=KEY_TERMS + len(name_terms))
        if t not in name_terms
    ][:KEY_TERMS]
    top_weight = max((weight for _, weight in key_terms), default=1.0)
    clauses = [wq.Term("body", term, boost=weight) for term, weight in key_terms]
    clauses += [
        wq.Term(field, name.replace(",", " "), boost=top_weight)
        for field, key in ENTITY_FIELDS.items()
        for name in entities.get(key, [])
    ]
    candidates = []
    if clauses:
        hits = searcher.search(wq.Or(clauses), limit=limit * 3 + 10, filter=set(cache.articles), mask={docnum})
        candidates = [(hit.score, hit.docnum) for hit in hits]
    boosted = [
        (score * (1 + entity_boost * len(named & _named_entities(searcher.stored_fields(d)))), d)
        for score, d in candidates
    ]
    seen = {cache.cluster_of.get(docnum, docnum)}
    related = []
    for score, d in sorted(boosted, key=lambda pair: -pair[0]):
        key = cache.cluster_of.get(d, d)
        if key in seen:
            continue  # a wire copy of this article, or of one already listed
        seen.add(key)
        related.append((score, d))
        if len(related) == limit:
            break
    return related


def _named_entities(fields: dict) -> set[tuple[str, str]]:
    """Return an article's named entities as (kind, name) pairs, the name casefolded."""
    return {(kind, name.casefold()) for kind, names in (fields.get("entities") or {}).items() for name in names}

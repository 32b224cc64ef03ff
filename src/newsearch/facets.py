"""Per-searcher facet data: which articles carry each tag, section, entity and day."""

from __future__ import annotations

import bisect

from .parse import tag_key
from .schema import ARTICLE, ENTITY_FIELDS

MAX_ORDINAL = 3_652_059  # date(9999, 12, 31); a missing value reads as the column maximum


class FacetCache:
    """Per-document tag keys, sections and days, read once per searcher from postings and columns."""

    def __init__(self, searcher, clusters: dict[str, list[str]] | None = None):
        reader = searcher.reader()
        self.articles = frozenset(searcher.document_numbers(kind=ARTICLE))
        # Wire copies: docnum → its cluster's representative docnum, and the members of each cluster.
        self.cluster_of: dict[int, int] = {}
        self.cluster_members: dict[int, list[int]] = {}
        for members in (clusters or {}).values():
            docnums = [searcher.document_number(id=m) for m in members]
            docnums = [d for d in docnums if d is not None and d in self.articles]
            if len(docnums) > 1:
                self.cluster_members[docnums[0]] = docnums
                for d in docnums:
                    self.cluster_of[d] = docnums[0]
        self.doc_tags: dict[int, tuple[str, ...]] = {}
        self.tag_docs: dict[str, frozenset[int]] = {}
        grouped: dict[int, list[str]] = {}
        for raw in reader.lexicon("tag"):
            key = raw.decode("utf-8")
            docs = frozenset(d for d in reader.postings("tag", raw).all_ids() if d in self.articles)
            if docs:
                self.tag_docs[key] = docs
                for d in docs:
                    grouped.setdefault(d, []).append(key)
        self.doc_tags = {d: tuple(keys) for d, keys in grouped.items()}
        # Entities: canonical names already, so the value is its own key and label.
        self.entity_docs: dict[str, dict[str, frozenset[int]]] = {}
        self.doc_entities: dict[str, dict[int, tuple[str, ...]]] = {}
        for field_name in ENTITY_FIELDS:
            docs_of, of_doc = {}, {}
            if field_name in reader.schema:
                for raw in reader.lexicon(field_name):
                    name = raw.decode("utf-8")
                    docs = frozenset(d for d in reader.postings(field_name, raw).all_ids() if d in self.articles)
                    if docs:
                        docs_of[name] = docs
                        for d in docs:
                            of_doc.setdefault(d, []).append(name)
            self.entity_docs[field_name] = docs_of
            self.doc_entities[field_name] = {d: tuple(names) for d, names in of_doc.items()}
        # Sections are keyed like tags ("Santé" and "sante" are one), labelled by their most frequent spelling.
        self.doc_section: dict[int, str] = {}
        sections: dict[str, set[int]] = {}
        spellings: dict[str, tuple[int, str]] = {}
        for raw in reader.lexicon("section"):
            name = raw.decode("utf-8")
            docs = [d for d in reader.postings("section", raw).all_ids() if d in self.articles]
            key = tag_key(name)
            if docs and key:
                sections.setdefault(key, set()).update(docs)
                for d in docs:
                    self.doc_section[d] = key
                rank = (len(docs), sum(1 for ch in name if ord(ch) > 127 or ch.isupper()))
                if key not in spellings or rank > spellings[key][0]:
                    spellings[key] = (rank, name)
        self.sections = {key: frozenset(docs) for key, docs in sections.items()}
        self.section_labels = {key: name for key, (_, name) in spellings.items()}
        self.labels = self._labels(reader)
        days = reader.column_reader("day") if reader.has_column("day") else None
        self.doc_day: dict[int, int] = {}
        if days is not None:
            for d in self.articles:
                day = days[d]
                if 0 < day <= MAX_ORDINAL:
                    self.doc_day[d] = day
        stamps = reader.column_reader("ts") if reader.has_column("ts") else None
        self.doc_ts: dict[int, int] = {d: stamps[d] for d in self.doc_day} if stamps is not None else {}
        self.by_day = sorted((day, d) for d, day in self.doc_day.items())
        self._day_keys = [day for day, _ in self.by_day]

    @staticmethod
    def _labels(reader) -> dict[str, str]:
        best: dict[str, tuple[int, str]] = {}
        for raw in reader.lexicon("tagform"):
            form = raw.decode("utf-8")
            freq = reader.doc_frequency("tagform", raw)
            key = tag_key(form)
            # The most frequent spelling wins; ties go to the one with accents and capitals.
            rank = (freq, sum(1 for ch in form if ord(ch) > 127 or ch.isupper()))
            if key not in best or rank > best[key][0]:
                best[key] = (rank, form)
        return {key: form for key, (_, form) in best.items()}

    def in_days(self, first: int | None, last: int | None) -> set[int]:
        """Return the articles whose day lies in [first, last]."""
        lo = 0 if first is None else bisect.bisect_left(self._day_keys, first)
        hi = len(self.by_day) if last is None else bisect.bisect_right(self._day_keys, last)
        return {d for _, d in self.by_day[lo:hi]}

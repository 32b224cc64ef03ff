"""The Whoosh schema of a newsearch index and its version."""

from __future__ import annotations

from whoosh.columns import CompressedBytesColumn, VarBytesColumn
from whoosh.fields import COLUMN, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from .analysis import ANALYSIS_VERSION, FRENCH
from .vocabulary import ENTITY_KINDS

# Bump on any change of fields; together with ANALYSIS_VERSION it decides whether an index can be reused.
# 5: tag keys blind to plurals (parse.tag_key), urlkey; 6: url, ts and day without postings; 7: the passage column.
SCHEMA_VERSION = 7
INDEX_VERSION = f"{SCHEMA_VERSION}.{ANALYSIS_VERSION}"

ARTICLE = "article"
SOURCE = "source"

SEARCH_FIELDS = ("title", "summary", "body", "tags")
# Each article's title and body terms (rerank.pack_terms), for the second stage of a pasted passage.
PASSAGE_COLUMN = "passage"
# Entity field → the key its facet and filter use in results and requests.
ENTITY_FIELDS = {kind.field: kind.key for kind in ENTITY_KINDS}


class Analysed:
    """A text field's postings computed ahead of time (indexer.analysed), for FrenchText to index as they are."""

    __slots__ = ("postings",)

    def __init__(self, postings: list):
        self.postings = postings


class FrenchText(TEXT):
    """A French TEXT field that also takes its postings already analysed (an Analysed value)."""

    def index(self, value, **kwargs):
        """Return (term bytes, frequency, weight, positions) for each distinct term of value."""
        if isinstance(value, Analysed):
            return iter(value.postings)
        return super().index(value, **kwargs)


class ColumnNumber(NUMERIC):
    """A NUMERIC field kept as a column only: nothing searches its terms.

    Dates are filtered, counted and sorted from the columns (facets.FacetCache), never through NumericRange:
    ts and day indexed 6 terms an article (4 and 2 precision tiers), 1 in 10 of the terms a worker's segment
    had to write, for postings nobody read.
    """

    indexed = False


def build_schema() -> Schema:
    """Return a fresh schema: articles and, in the same index, one record per source file."""
    return Schema(
        # A column too, so that per-article passes (clusters) need not read every stored body.
        id=ID(stored=True, unique=True, sortable=True),
        kind=ID(stored=True),
        title=FrenchText(analyzer=FRENCH, stored=True, multitoken_query="phrase"),
        summary=FrenchText(analyzer=FRENCH, stored=True, multitoken_query="phrase"),
        body=FrenchText(analyzer=FRENCH, stored=True, multitoken_query="phrase"),
        tags=FrenchText(analyzer=FRENCH, multitoken_query="phrase"),
        # Folded tag keys ("sante") for filters and facet counts; tagform keeps each spelling for labels.
        tag=KEYWORD(commas=True, lowercase=False),
        tagform=KEYWORD(commas=True, lowercase=False),
        taglist=STORED(),
        # Stored, not indexed: articles are found by their canonical URL (urlkey), never by url.
        url=STORED(),
        # The canonical URL (parse.canonical_url), to find the article a page of the same URL belongs to.
        urlkey=ID(),
        path=ID(stored=True),
        section=ID(stored=True),
        author=STORED(),
        date=STORED(),
        # UTC epoch seconds for sorting; the local calendar day (ordinal) for filters and the histogram.
        ts=ColumnNumber(numtype=int, bits=64, sortable=True),
        day=ColumnNumber(numtype=int, bits=32, sortable=True),
        # Named entities (entities.extract_entities), canonical names: filters and facets.
        person=KEYWORD(commas=True, lowercase=False),
        place=KEYWORD(commas=True, lowercase=False),
        org=KEYWORD(commas=True, lowercase=False),
        entities=STORED(),
        # MinHash of the text (dedup.pack), for grouping wire copies after each indexing run.
        minhash=COLUMN(VarBytesColumn()),
        # The terms a passage's second stage reads (rerank.pack_terms), analysed once here: reading and analysing
        # the text of the 20 to 100 articles it re-ranks was half of a passage search. ~700 bytes an article.
        passage=COLUMN(CompressedBytesColumn()),
        # Source-file record (kind=source): size, mtime, sha256 and the article ids it produced.
        source=STORED(),
    )

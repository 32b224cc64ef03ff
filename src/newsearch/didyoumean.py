"""Did you mean: a query's unknown or misspelt words replaced by close, frequent words of the index."""

from __future__ import annotations

import math
from collections import Counter
from functools import partial
from itertools import islice

from whoosh import query as wq

from .analysis import fold, iter_words, light_stem, strip_elision, word_term, word_terms
from .budget import Budget
from .query import QueryPlan
from .snippets import SNIPPET_SCAN_CHARS
from .tuning import DEFAULT_TUNING, Tuning
from .typos import DOUBLED, closest_cost, first_letter_slips, spellings, typo_cost


def suggest(
    searcher, leaves, plan: QueryPlan, found: int = 0, budget: Budget | None = None, tuning: Tuning = DEFAULT_TUNING
) -> str | None:
    """Return the query with unknown words replaced by close, frequent index words, or None.

    When the query found a few articles (found > 0), only words that are rare and have a far more
    frequent close word are replaced; past tuning.suggest_few_hits, only words that are a doubled or undoubled letter
    away from the usual spelling of their stem ("retraittes" finds retraites: say so). At most
    tuning.suggest_max_words words are looked up, and the budget bounds the lexicon scans: past its reserve, no
    suggestion.
    """
    budget = budget or Budget(None)
    reader = searcher.reader()
    within = leaves.terms_within
    replacements, examined, respelled = {}, [], 0
    for i, token in enumerate(plan.tokens):
        if token.kind != "word" or token.field or token.sign == "-" or token.fuzzy:
            continue
        core = token.text.strip(".,;:!?[]{}'")
        term = word_term(core)
        df = max(reader.doc_frequency("body", term), reader.doc_frequency("title", term)) if term else 0
        if not term or term.isdigit():
            continue
        if df > tuning.suggest_rare_df and respelled < tuning.suggest_respell_words and _may_be_respelt(core, term):
            # Each costs a search and a read of a few articles: as many as lexicon scans, in the same budget.
            if not budget.allows("suggestion", optional=True):
                return None
            respelled += 1
            respelt = leaves.remember(
                ("respelt", core, term, tuning.surface_articles),
                partial(_respelt, searcher, leaves, core, term, tuning),
            )
            if respelt:
                replacements[i] = token.text.replace(core, respelt)
                continue
        if (df and not found) or df > tuning.suggest_rare_df or found > tuning.suggest_few_hits:
            continue
        if len(examined) == tuning.suggest_max_words:
            break
        examined.append(i)
        typed = fold(strip_elision(core))
        best = None
        # Words with the typed first letter, scanned; a slip on the first letter is looked for only when no
        # single slip explains the word, and then as that one edit: a few words looked up, no other scan.
        for candidate in within("body", term, 2 if len(term) > 5 else 1, prefix=1):
            if not budget.allows("suggestion", optional=True):
                return None
            best = _better(reader, typed, candidate, term, df, best, tuning)
        if best is None or best[0] > tuning.suggest_one_slip:
            for candidate in sorted(first_letter_slips(term)):
                best = _better(reader, typed, candidate, term, df, best, tuning)
        if best is not None:
            word = core[word_terms(core).skip :]  # the elided article stays as typed: l'inflaton → l'inflation
            replacements[i] = token.text.replace(word, _surface(searcher, leaves, best[3], word, tuning=tuning))
    return plan.suggestion(replacements) if replacements else None


def _better(reader, typed: str, candidate: str, term: str, df: int, best: tuple | None, tuning: Tuning) -> tuple | None:
    """Return (cost, score, cost, candidate) of candidate when it ranks before best, else best."""
    freq = reader.doc_frequency("body", candidate)
    if candidate == term or not freq or freq < tuning.suggest_ratio * df:
        return best
    cost = closest_cost(typed, candidate, light_stem)
    key = (cost - tuning.suggest_freq_weight * math.log10(freq), cost, candidate)
    return (cost, *key) if best is None or key < best[1:] else best


def _may_be_respelt(typed: str, term: str) -> bool:
    """Tell whether a spelling of term is one doubled or undoubled letter away from the typed word (no I/O)."""
    folded = fold(strip_elision(typed))
    return any(0 < typo_cost(folded, w) <= DOUBLED for w in spellings(term, light_stem))


def _respelt(searcher, leaves, typed: str, term: str, tuning: Tuning) -> str | None:
    """Return how articles write a frequent word typed with a letter doubled or undoubled by mistake, or None.

    The stemmer makes "retraittes" the term of retraites, so it finds the right articles, but the query shows a
    typo. A word that _may_be_respelt is looked up in the first articles holding its term, and replaced when they
    never write it so but write a spelling a doubled letter away.
    """
    folded = fold(strip_elision(typed))
    word = _surface(searcher, leaves, term, typed, goal=0.0, tuning=tuning)
    return word if 0 < typo_cost(folded, fold(word)) <= DOUBLED else None


def _surface(
    searcher, leaves, term: str, typed: str, goal: float | None = None, tuning: Tuning = DEFAULT_TUNING
) -> str:
    """Return the word written in articles whose analyzed form is term (index terms are stems) that is the
    closest to what was typed ("ministtre": ministre, not ministres), the commonest of those.

    Articles holding term are read in index order, up to tuning.surface_articles, until a word as close as goal (by
    default, the closest spelling of term) is met: the singular may come only in the fifth article.
    """
    folded = fold(strip_elision(typed))
    if goal is None:
        goal = min(typo_cost(folded, w) for w in spellings(term, light_stem))
    seen: Counter = Counter()
    best = None
    # The body's words first; a word only some titles hold is read from them (postings of a missing term raise).
    reader = searcher.reader()
    field = next((f for f in ("body", "title") if (f, term) in reader), None)
    if field is None:
        return term.capitalize() if typed[:1].isupper() else term
    for docnum in islice(_posting_order(searcher, leaves, field, term), tuning.surface_articles):
        text = (searcher.stored_fields(docnum).get(field) or "")[:SNIPPET_SCAN_CHARS]
        seen.update(text[start:end].lower() for start, end, forms in iter_words(text) if term in forms)
        best = min(seen, key=lambda w: (typo_cost(folded, fold(w)), -seen[w], w), default=None)
        if best is not None and typo_cost(folded, fold(best)) <= goal:
            break
    word = best or term
    return word.capitalize() if typed[:1].isupper() else word


def _posting_order(searcher, leaves, field: str, term: str):
    """Yield the articles holding a term in posting order, not by score: scoring every posting would cost more
    than the search for a frequent word. The query's own words were just matched: their cached postings serve."""
    cached = leaves.cached(wq.Term(field, term))
    if cached is not None:
        yield from cached
        return
    matcher = searcher.postings(field, term)
    while matcher.is_active():
        yield matcher.id()
        matcher.next()

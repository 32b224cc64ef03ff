"""Second-stage (rerank.py) formulas tried offline on the known-item task, on saved first-stage hits.

Usage: python bench/known_item_offline.py dump [--subset]      # the first 150 first-stage hits of each dev id
       python bench/known_item_offline.py variants [--subset]  # MRR@10 / R@10 of each formula tried

`dump` runs the engine once per dev passage (bench/known_item.py's index) and saves, for each, the ids and
first-stage scores of its first 150 hits and the document frequencies the first stage looked up, in
bench/data/known-item-offline[-subset].pkl. `variants` re-orders them with today's formula (it reproduces the
engine's MRR@10) and with each variant, reading titles and bodies from the shared corpus, and prints one row each.
"""

from __future__ import annotations

import argparse
import math
import pickle
import statistics
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

import known_item  # noqa: E402
from newsearch import rerank  # noqa: E402
from newsearch.analysis import text_terms  # noqa: E402
from newsearch.dates import day_ordinal, parse_iso  # noqa: E402
from newsearch.errors import QueryError  # noqa: E402
from newsearch.querydates import passage_anchors  # noqa: E402
from newsearch.search import Engine, SearchRequest  # noqa: E402
from newsearch.tuning import DEFAULT_TUNING, Tuning  # noqa: E402

_T = DEFAULT_TUNING
BASE = dict(TW=3.0, K1=0.9, B=0.75, LEAD=60, LB=0.5, TC=_T.passage_title_coverage, WINDOW=_T.passage_window,
            SHARE=_T.passage_window_share, MIN=_T.passage_window_min,
            CAP=None, WEEKDAY=_T.passage_weekday_bonus, DATE=_T.passage_date_bonus, DW=_T.passage_distinct_weight,
            DH=_T.passage_distinct_hits, LP=_T.passage_length_prior)  # fmt: skip


def dump(subset: bool) -> None:
    """Save the first-stage hits of every dev passage."""
    corpus = known_item.load_corpus()
    ids = (known_item.SHARED / "eval" / "known-item-dev.txt").read_text().split()
    name = "known-item-summary"
    if subset:
        corpus = known_item.subset_of(corpus, ids)
        name += "-subset"
    engine = Engine(known_item.build_index(corpus, "summary", False, name))
    captured: dict = {}
    original = rerank.rerank_passage

    def spy(searcher, docs, scores, text, df=None, *rest):
        reader = searcher.reader()
        n = searcher.doc_count()
        captured.update(docs=[(searcher.stored_fields(d)["id"], scores.get(d)) for d in docs[:150]], df=dict(df or {}),
                        n=n, avg=(reader.field_length("title") / n, reader.field_length("body") / n))  # fmt: skip
        return original(searcher, docs, scores, text, df, *rest)

    rerank.rerank_passage = spy
    out = []
    for i in ids:
        captured.clear()
        try:
            engine.search(SearchRequest(q=corpus[i]["summary"], limit=100, collapse=False))
        except QueryError:
            pass
        out.append((i, captured.get("docs", []), captured.get("df", {}), captured.get("n"), captured.get("avg")))
    with open(_dump_path(subset), "wb") as fh:
        pickle.dump(out, fh)


def _dump_path(subset: bool) -> Path:
    return known_item.DATA / f"known-item-offline{'-subset' if subset else ''}.pkl"


def field_bm25f(words, idf, title, body, length, avg, p) -> float:
    """Return the second stage's BM25F (rerank.PassageScorer.score) of one article; length: its uncut body's."""
    title_tf, body_tf = Counter(title), Counter(body)
    lead = set(title) | set(body[: p["LEAD"]])
    title_norm = 1 - p["B"] + p["B"] * len(title) / max(1.0, avg[0])
    body_norm = 1 - p["B"] + p["B"] * length / max(1.0, avg[1])
    total = 0.0
    for w in words:
        tf = p["TW"] * title_tf.get(w, 0) / title_norm + body_tf.get(w, 0) / body_norm
        if w in lead:
            tf += p["LB"]
        if tf:
            total += idf[w] * tf / (p["K1"] + tf)
    return total


class Offline:
    """Today's second stage over saved hits, with its constants as parameters and optional extra features."""

    def __init__(self, subset: bool):
        with open(_dump_path(subset), "rb") as fh:
            self.data = pickle.load(fh)
        self.corpus = known_item.load_corpus()
        self._terms: dict = {}

    def terms(self, doc_id: str):
        found = self._terms.get(doc_id)
        if found is None:
            rec = self.corpus[doc_id]
            found = self._terms[doc_id] = rerank.article_terms(rec.get("title") or "", rec.get("body") or "")
        return found

    def day(self, doc_id: str) -> int:
        moment = parse_iso(self.corpus[doc_id].get("date") or "")
        return day_ordinal(moment) if moment else 0

    def rank(self, q, docs, df, n, avg, p, extra=None):
        words = text_terms(self.corpus[q]["summary"])
        distinct = set(words)
        idf = {w: math.log(1 + (n - df.get(w, 0) + 0.5) / (df.get(w, 0) + 0.5)) for w in distinct}
        size = p["WINDOW"]
        if p["SHARE"] and docs:
            best = docs[0][1] or 0.0
            size = max(p["MIN"], sum(1 for _, s in docs[:size] if (s or 0.0) >= p["SHARE"] * best))
        window = [d for d, _ in docs[:size]]
        bm25f, coverage, present, prior = {}, {}, {}, {}
        for d in window:
            title, body = self.terms(d)
            length = len(body)
            present[d] = distinct.intersection(title).union(distinct.intersection(body))
            prior[d] = p["LP"] * math.log((1 + rerank.MAX_BODY_CHARS) / (1 + length))
            if p["CAP"]:
                body = body[: p["CAP"]]
            bm25f[d] = field_bm25f(words, idf, title, body, length, avg, p)
            coverage[d] = len(set(title) & distinct) / len(set(title)) if title else 0.0
        top = max(bm25f.values(), default=0.0) or 1.0
        hits = window[: p["DH"]]
        holders = Counter(w for d in hits for w in present[d])
        weight = {w: idf[w] * max(0.0, math.log((len(hits) + 1) / (holders[w] + 0.5))) for w in distinct}
        raw = {d: sum(weight[w] for w in present[d]) for d in window}
        most = max(raw.values(), default=0.0) or 1.0
        scores = {d: bm25f[d] / top + p["TC"] * coverage[d] + p["DW"] * raw[d] / most + prior[d] for d in window}
        anchors = passage_anchors(self.corpus[q]["summary"])
        if anchors:
            tuning = Tuning(passage_weekday_bonus=p["WEEKDAY"], passage_date_bonus=p["DATE"])
            for d in window:
                scores[d] += rerank.anchor_bonus(anchors, self.day(d), tuning)
        if extra:
            for d in window:
                scores[d] += extra(self, d, words, distinct, idf)
        return sorted(window, key=lambda d: -scores[d]) + [d for d, _ in docs[size:]], size

    def evaluate(self, extra=None, **changes):
        p = {**BASE, **changes}
        reciprocal, r10, sizes = [], 0, []
        for q, docs, df, n, avg in self.data:
            if not docs:
                reciprocal.append(0.0)
                continue
            ranked, size = self.rank(q, docs, df, n, avg, p, extra)
            sizes.append(size)
            rank = ranked[:100].index(q) + 1 if q in ranked[:100] else None
            reciprocal.append(1 / rank if rank and rank <= 10 else 0.0)
            r10 += bool(rank and rank <= 10)
        return sum(reciprocal) / len(reciprocal), r10 / len(reciprocal), statistics.fmean(sizes)


def lead_share(words_in_lead: int, weight: float):
    """+ weight × the share of the body's first words found in the passage (as the title share, for the lead)."""

    def feature(off, d, words, distinct, idf):
        lead = set(off.terms(d)[1][:words_in_lead])
        return weight * (len(lead & distinct) / len(lead) if lead else 0.0)

    return feature


def coordination(weight: float):
    """+ weight × the idf-weighted share of the passage's words the article has anywhere."""

    def feature(off, d, words, distinct, idf):
        title, body = off.terms(d)
        have = set(title) | set(body)
        return weight * sum(idf[t] for t in distinct if t in have) / (sum(idf.values()) or 1.0)

    return feature


def title_pairs(weight: float):
    """+ weight × the share of the title's consecutive word pairs found consecutive in the passage."""

    def feature(off, d, words, distinct, idf):
        title = off.terms(d)[0]
        pairs = set(zip(title, title[1:], strict=False))
        return weight * (len(pairs & set(zip(words, words[1:], strict=False))) / len(pairs) if pairs else 0.0)

    return feature


def variants(subset: bool) -> None:
    off = Offline(subset)
    rows = [("today's formula (BM25F title ×3, k1 0.9, b 0.75, lead 60 +0.5, title share 0.55, distinctiveness 0.2, "
             "length prior 0.1, days named, top 100 scoring ≥ 0.5 × the best, at least 20)", {}, None)]  # fmt: skip
    rows += [("without distinctiveness and length prior, title share 0.4 (2026-12-05 morning)",
              {"DW": 0.0, "LP": 0.0, "TC": 0.4}, None)]  # fmt: skip
    rows += [("no bonus for the days a passage names", {"WEEKDAY": (), "DATE": ()}, None)]
    rows += [(f"weekday bonus {w}, calendar-day bonus {c}", {"WEEKDAY": w, "DATE": c}, None)
             for w, c in [((0.1, 0.05), (0.2, 0.1, 0.05, 0.05)), ((0.3, 0.1), (0.6, 0.3, 0.15, 0.15))]]  # fmt: skip
    rows += [(f"{k} {v}", {k: v}, None) for k, vals in [("K1", (0.6, 1.2, 1.5)), ("TW", (2.0, 4.0, 5.0)),
             ("TC", (0.3, 0.5, 0.6)), ("LB", (0.3, 0.8, 1.0)), ("B", (0.6, 0.9)), ("LEAD", (40, 80))]
             for v in vals]  # fmt: skip
    rows += [(f"top {w} re-ranked", {"WINDOW": w}, None) for w in (40, 50, 60, 75)]
    rows += [(f"top 100 scoring ≥ {s} × the best (at least 20)", {"SHARE": s}, None) for s in (0.3, 0.4, 0.6)]
    rows += [("all of the top 100 re-ranked", {"SHARE": 0.0}, None)]
    rows += [(f"distinctiveness {w} over the first {h} hits", {"DW": w, "DH": h}, None)
             for w, h in ((0.0, 10), (0.1, 10), (0.3, 10), (0.2, 5), (0.2, 20))]  # fmt: skip
    rows += [(f"length prior {w}", {"LP": w}, None) for w in (0.0, 0.05, 0.15)]
    rows += [(f"body tf from its first {c} words only (true length)", {"CAP": c}, None) for c in (250, 400, 600)]
    rows += [(f"+ share of the first {n} body words in the passage × {w}", {}, lead_share(n, w))
             for n in (20, 40) for w in (0.1, 0.2, 0.4)]  # fmt: skip
    rows += [
        (f"+ idf-weighted share of the passage's words in the article × {w}", {}, coordination(w)) for w in (0.2, 0.5)
    ]
    rows += [(f"+ share of the title's word pairs in the passage × {w}", {}, title_pairs(w)) for w in (0.1, 0.2, 0.4)]
    print("| second-stage variant (offline) | MRR@10 | R@10 | articles re-ranked |")
    print("|---|---|---|---|")
    for name, changes, extra in rows:
        mrr, r10, size = off.evaluate(extra, **changes)
        print(f"| {name} | {mrr:.4f} | {r10:.4f} | {size:.0f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["dump", "variants"])
    parser.add_argument("--subset", action="store_true")
    args = parser.parse_args()
    (dump if args.command == "dump" else variants)(args.subset)


if __name__ == "__main__":
    main()

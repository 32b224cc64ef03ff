"""Issue 18's fifth ranking round: second-stage features tried offline on the saved first-stage hits.

Usage: python bench/known_item_round5.py [--subset] [--only variants|grid|learn]
       (after `python bench/known_item_offline.py dump [--subset]`)

Prints one row per variant added to the round-4 formula (MRR@10, R@10); then the grid the round's weights were
picked from, scored on each half of the dev ids; then a linear combination of every feature learnt by coordinate
ascent on one half of the dev ids and scored on the other (two-fold), against the round-4 formula on the same
halves: the honest estimate of what a learnt formula would buy.
"""

from __future__ import annotations

import argparse
import calendar
import math
import sys
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

from whoosh.lang.snowball.french import FrenchStemmer  # noqa: E402

import known_item  # noqa: E402
import known_item_offline as offline  # noqa: E402
from newsearch import querydates, rerank  # noqa: E402
from newsearch.dates import ordinal_to_date  # noqa: E402
from newsearch.tuning import DEFAULT_TUNING  # noqa: E402


class Round5(offline.Offline):
    """The offline second stage, with window-wide features and the stems of a stronger stemmer."""

    def __init__(self, subset: bool):
        super().__init__(subset)
        self.subset = subset
        self._snow, self._stems, self._stem_df = FrenchStemmer(), {}, None

    def stem(self, term: str) -> str:
        found = self._stems.get(term)
        if found is None:
            found = self._stems[term] = self._snow.stem(term) if term.isalpha() and len(term) > 3 else term
        return found

    def stem_df(self) -> tuple[Counter, int]:
        """Count the articles of the indexed corpus holding each Snowball stem (title or body)."""
        if self._stem_df is None:
            ids = list(self.corpus)
            if self.subset:
                dev = (known_item.SHARED / "eval" / "known-item-dev.txt").read_text().split()
                ids = list(known_item.subset_of(self.corpus, dev))
            df = Counter()
            for i in ids:
                title, body = self.terms(i)
                df.update({self.stem(t) for t in set(title) | set(body)})
            self._terms.clear()
            self._stem_df = (df, len(ids))
        return self._stem_df

    def rank(self, q, docs, df, n, avg, p, extra=None):
        prepare = getattr(extra, "prepare", None)
        if prepare:
            words = offline.text_terms(self.corpus[q]["summary"])
            distinct = set(words)
            idf = {w: math.log(1 + (n - df.get(w, 0) + 0.5) / (df.get(w, 0) + 0.5)) for w in distinct}
            prepare(self, q, [d for d, _ in docs[: p["WINDOW"]]], words, distinct, idf, avg)
        return super().rank(q, docs, df, n, avg, p, extra)


class WindowFeature:
    """An extra score per article computed over the whole window at once (prepare), then read per article."""

    def __init__(self, weight: float):
        self.weight, self.values = weight, {}

    def __call__(self, off, d, words, distinct, idf) -> float:
        return self.weight * self.values.get(d, 0.0)

    def prepare(self, off, q, window, words, distinct, idf, avg) -> None:
        raw = self.compute(off, q, window, words, distinct, idf, avg)
        top = max(raw.values(), default=0.0) or 1.0
        self.values = {d: v / top for d, v in raw.items()}


class LocalIdf(WindowFeature):
    """Σ idf × window idf of the passage words an article has: words its first rivals lack tell it apart."""

    def __init__(self, weight: float, reference: int = 10):
        super().__init__(weight)
        self.reference = reference

    def compute(self, off, q, window, words, distinct, idf, avg):
        have = {d: distinct & (set(off.terms(d)[0]) | set(off.terms(d)[1])) for d in window}
        count = Counter(w for d in window[: self.reference] for w in have[d])
        local = {w: max(0.0, math.log((self.reference + 1) / (count.get(w, 0) + 0.5))) for w in distinct}
        return {d: sum(local[w] * idf[w] for w in have[d]) for d in window}


class Snowball(WindowFeature):
    """The BM25F of the Snowball stems (évoque, évoquer, évoquant → évoqu), df of stems over the corpus."""

    def __init__(self, weight: float, coverage: float = 0.0):
        super().__init__(weight)
        self.coverage, self.shares = coverage, {}

    def __call__(self, off, d, words, distinct, idf) -> float:
        return super().__call__(off, d, words, distinct, idf) + self.coverage * self.shares.get(d, 0.0)

    def compute(self, off, q, window, words, distinct, idf, avg):
        df, n = off.stem_df()
        stems = [off.stem(w) for w in words]
        sidf = {s: math.log(1 + (n - df.get(s, 0) + 0.5) / (df.get(s, 0) + 0.5)) for s in stems}
        p, out, self.shares = offline.BASE, {}, {}
        for d in window:
            title, body = off.terms(d)
            title_s = [off.stem(t) for t in title]
            out[d] = offline.field_bm25f(stems, sidf, title_s, [off.stem(t) for t in body], len(body), avg, p)
            self.shares[d] = len(set(title_s) & set(stems)) / len(set(title_s)) if title_s else 0.0
        return out


class BestWindow(WindowFeature):
    """The idf share of the passage's words found together in the article's best stretch of `size` body terms."""

    def __init__(self, weight: float, size: int):
        super().__init__(weight)
        self.size = size

    def compute(self, off, q, window, words, distinct, idf, avg):
        total, out = sum(idf.values()) or 1.0, {}
        for d in window:
            body, step, best = off.terms(d)[1], max(1, self.size // 2), 0.0
            for start in range(0, max(1, len(body) - self.size + step), step):
                best = max(best, sum(idf[w] for w in distinct.intersection(body[start : start + self.size])))
            out[d] = best / total
        return out


def signed_date_lag(anchors, day: date) -> int | None:
    """DayAnchors.date_lag with its sign: positive when the article came out after the day named."""
    best = None
    for number, month, year in anchors.days:
        for y in (year,) if year else (day.year - 1, day.year, day.year + 1):
            if number <= calendar.monthrange(y, month)[1]:
                lag = (day - date(y, month, number)).days
                if best is None or abs(lag) < abs(best):
                    best = lag
    return best


def asymmetric_bonus(before: tuple, after: tuple):
    """rerank.anchor_bonus with one calendar-day table for articles out before the day named, one after."""

    def bonus(anchors, day, tuning=DEFAULT_TUNING):
        if not anchors or day <= 0:
            return 0.0
        published, total = ordinal_to_date(day), 0.0
        weekday = anchors.weekday_lag(published)
        if weekday is not None and weekday < len(tuning.passage_weekday_bonus):
            total += tuning.passage_weekday_bonus[weekday]
        lag = signed_date_lag(anchors, published)
        if lag is not None:
            table = after if lag >= 0 else before
            total += table[abs(lag)] if abs(lag) < len(table) else 0.0
        return total

    return bonus


def attached_weekdays(text: str) -> querydates.DayAnchors:
    """passage_anchors, but a weekday written before a calendar day ("samedi 15 avril") is that day's, not free."""
    tokens = [t.folded.lower() for t in querydates._tokens(text)]
    found, attached = querydates.passage_anchors(text), set()
    for i, token in enumerate(tokens):
        if token in querydates._FOLDED_MONTHS and i >= 2 and querydates._DAY_RE.match(tokens[i - 1]):
            attached.add(tokens[i - 2])
    free = {querydates._FOLDED_WEEKDAYS[t] for t in tokens if t in querydates._FOLDED_WEEKDAYS and t not in attached}
    return querydates.DayAnchors(frozenset(free), found.days)


# The second stage this round started from (e448666): offline.BASE without what the round added.
ROUND4 = {"DW": 0.0, "LP": 0.0, "TC": 0.4, "SHARE": 0.0}


def variants(off: Round5) -> None:
    rows = [("round-4 formula (e448666)", {}, None, None, None)]
    rows += [
        (f"+ window idf (first {r} hits) × {w}", {}, LocalIdf(w, r), None, None) for r in (10, 100) for w in (0.1, 0.2)
    ]
    rows += [(f"+ BM25F of Snowball stems × {w}, their title share × {c}", {}, Snowball(w, c), None, None)
             for w, c in ((0.15, 0.0), (0.45, 0.3), (0.6, 0.0))]  # fmt: skip
    rows += [(f"+ best stretch of {s} body terms × {w}", {}, BestWindow(w, s), None, None) for s in (30, 60, 120)
             for w in (0.1, 0.2)]  # fmt: skip
    rows += [(f"calendar-day bonus before {b}, after {a}", {}, None, asymmetric_bonus(b, a), None)
             for b, a in (((0.4, 0.1), (0.4, 0.2, 0.1, 0.1)), ((0.4, 0.2), (0.4, 0.3, 0.15, 0.1)))]  # fmt: skip
    rows += [("a weekday before a calendar day is that day's, not a free weekday", {}, None, None, attached_weekdays)]
    print("| variant (offline) | MRR@10 | R@10 |")
    print("|---|---:|---:|")
    for name, changes, extra, bonus, anchors in rows:
        saved = rerank.anchor_bonus, offline.passage_anchors
        rerank.anchor_bonus, offline.passage_anchors = bonus or saved[0], anchors or saved[1]
        try:
            mrr, r10, _ = off.evaluate(extra, **{**ROUND4, **changes})
        finally:
            rerank.anchor_bonus, offline.passage_anchors = saved
        print(f"| {name} | {mrr:.4f} | {r10:.4f} |", flush=True)


FEATURES = ["bm25f", "title share", "snowball bm25f", "snowball title share", "window idf", "first stage",
            "log body length", "lead idf share", "weekday 0", "weekday 1", "date 0", "date ±1", "date 2–3",
            "first-stage rank"]  # fmt: skip
# The weights of the formula this round started from (e448666), the point the ascent starts from.
TODAY = {"bm25f": 1.0, "title share": 0.4, "weekday 0": 0.2, "weekday 1": 0.1, "date 0": 0.4, "date ±1": 0.2,
         "date 2–3": 0.1}  # fmt: skip


def feature_rows(off: Round5) -> list[tuple[int | None, list[list[float]]]]:
    """For each dev passage: the answer's place in the window (None: not in it) and each article's features."""
    p, out = offline.BASE, []
    snow, local = Snowball(1.0), LocalIdf(1.0)
    for q, docs, df, n, avg in off.data:
        window = [d for d, _ in docs[: p["WINDOW"]]]
        if q not in window:
            out.append((None, []))
            continue
        text = off.corpus[q]["summary"]
        words = offline.text_terms(text)
        distinct = set(words)
        idf = {w: math.log(1 + (n - df.get(w, 0) + 0.5) / (df.get(w, 0) + 0.5)) for w in distinct}
        snow.prepare(off, q, window, words, distinct, idf, avg)
        local.prepare(off, q, window, words, distinct, idf, avg)
        anchors, best = querydates.passage_anchors(text), docs[0][1] or 1.0
        bm = {d: offline.field_bm25f(words, idf, *off.terms(d), len(off.terms(d)[1]), avg, p) for d in window}
        top = max(bm.values()) or 1.0
        rows = []
        for place, (d, first) in enumerate(docs[: len(window)]):
            title, body = off.terms(d)
            day, weekday, lag = off.day(d), None, None
            if anchors and day:
                weekday, lag = anchors.weekday_lag(ordinal_to_date(day)), anchors.date_lag(ordinal_to_date(day))
            rows.append([
                bm[d] / top,
                len(set(title) & distinct) / len(set(title)) if title else 0.0,
                snow.values[d], snow.shares[d], local.values[d], (first or 0.0) / best,
                math.log(1 + len(body)),
                sum(idf[w] for w in distinct & (set(title) | set(body[: p["LEAD"]]))) / (sum(idf.values()) or 1.0),
                float(weekday == 0), float(weekday == 1), float(lag == 0), float(lag == 1), float(lag in (2, 3)),
                1 / (1 + place),
            ])  # fmt: skip
        out.append((window.index(q), rows))
    return out


def reciprocal_sum(data, weights, which) -> float:
    total = 0.0
    for i in which:
        answer, rows = data[i]
        if answer is None:
            continue
        scores = [sum(w * f for w, f in zip(weights, row, strict=True)) for row in rows]
        mine = scores[answer]
        rank = 1 + sum(1 for s in scores if s > mine) + sum(1 for s in scores[:answer] if s == mine)
        total += 1 / rank if rank <= 10 else 0.0
    return total


def ascend(data, weights, which, rounds: int = 2) -> list[float]:
    """Coordinate ascent on MRR@10 over some passages, each weight tried on a grid, bm25f's fixed at 1."""
    weights, best = list(weights), reciprocal_sum(data, weights, which)
    grid = [round(-0.5 + 0.1 * k, 2) for k in range(16)]
    for _ in range(rounds):
        for j in range(1, len(weights)):
            for value in grid:
                trial = weights[:j] + [value] + weights[j + 1 :]
                score = reciprocal_sum(data, trial, which)
                if score > best + 1e-12:
                    best, weights = score, trial
    return weights


def grid(off: Round5) -> None:
    """The round-4 formula's title share, window idf and length weights on a grid, MRR@10 on each half of the ids."""
    data, names = feature_rows(off), ("title share", "window idf", "log body length")
    halves = [range(0, len(data), 2), range(1, len(data), 2)]
    print("| title share | window idf | log body length | even ids | odd ids | all |")
    print("|---:|---:|---:|---:|---:|---:|")
    for values in [(tc, li, ll) for tc in (0.4, 0.5, 0.55, 0.6) for li in (0, 0.2) for ll in (0, -0.1, -0.15)]:
        weights = [dict(zip(names, values, strict=True)).get(n, TODAY.get(n, 0.0)) for n in FEATURES]
        even, odd = (reciprocal_sum(data, weights, h) / len(h) for h in halves)
        print("| " + " | ".join(f"{v:g}" for v in values) + f" | {even:.4f} | {odd:.4f} | {(even + odd) / 2:.4f} |")


def learn(off: Round5) -> None:
    data = feature_rows(off)
    today = [TODAY.get(name, 0.0) for name in FEATURES]
    halves = [range(0, len(data), 2), range(1, len(data), 2)]
    print("| learnt on | scored on | round-4 formula MRR@10 | learnt MRR@10 | learnt weights |")
    print("|---|---|---:|---:|---|")
    for k, (train, test) in enumerate((halves, halves[::-1])):
        weights = ascend(data, today, train)
        shown = ", ".join(f"{n} {w:g}" for n, w in zip(FEATURES, weights, strict=True) if w)
        print(f"| {('even', 'odd')[k]} ids | {('odd', 'even')[k]} ids | "
              f"{reciprocal_sum(data, today, test) / len(test):.4f} | "
              f"{reciprocal_sum(data, weights, test) / len(test):.4f} | {shown} |", flush=True)  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", action="store_true")
    parser.add_argument("--only", choices=["variants", "grid", "learn"])
    args = parser.parse_args()
    off = Round5(args.subset)
    for name, step in (("variants", variants), ("grid", grid), ("learn", learn)):
        if args.only in (None, name):
            step(off)


if __name__ == "__main__":
    main()

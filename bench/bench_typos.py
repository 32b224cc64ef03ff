""" "Did you mean" on typos of frequent corpus words: how many are corrected to the intended word.

Usage: python bench/bench_typos.py [--index DIR]

The index is one of the full shared corpus (default bench/data/index-full, which bench/bench_api.py builds).
Each typo below was written by hand from a word frequent in French news, one of five kinds: a doubled or
dropped letter, two letters swapped, a neighbour key on an AZERTY keyboard, or a wrong vowel. The query is the
typo alone; it is corrected when the suggestion, folded (case and accents), is the intended word.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from unidecode import unidecode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from newsearch.search import Engine, SearchRequest  # noqa: E402

# (typo, intended word, kind)
TYPOS = [
    ("retraittes", "retraites", "double"),
    ("gouvernemment", "gouvernement", "double"),
    ("présidennt", "président", "double"),
    ("manifesttation", "manifestation", "double"),
    ("éllection", "élection", "double"),
    ("ministtre", "ministre", "double"),
    ("policce", "police", "double"),
    ("hôpittal", "hôpital", "double"),
    ("enquêtte", "enquête", "double"),
    ("syndicatt", "syndicat", "double"),
    ("députté", "député", "double"),
    ("tribunnal", "tribunal", "double"),
    ("assembléee", "assemblée", "double"),
    ("pandémmie", "pandémie", "double"),
    ("vaccinn", "vaccin", "double"),
    ("économmie", "économie", "double"),
    ("entreprisse", "entreprise", "double"),
    ("violencce", "violence", "double"),
    ("justicce", "justice", "double"),
    ("gouvernment", "gouvernement", "dropped"),
    ("présient", "président", "dropped"),
    ("manifestaion", "manifestation", "dropped"),
    ("électon", "élection", "dropped"),
    ("minstre", "ministre", "dropped"),
    ("polce", "police", "dropped"),
    ("enqute", "enquête", "dropped"),
    ("syndcat", "syndicat", "dropped"),
    ("tribual", "tribunal", "dropped"),
    ("pandémi", "pandémie", "dropped"),
    ("économe", "économie", "dropped"),
    ("entrprise", "entreprise", "dropped"),
    ("violece", "violence", "dropped"),
    ("justce", "justice", "dropped"),
    ("candiat", "candidat", "dropped"),
    ("réfome", "réforme", "dropped"),
    ("gendarmrie", "gendarmerie", "dropped"),
    ("incendi", "incendie", "dropped"),
    ("accidnt", "accident", "dropped"),
    ("footbal", "football", "dropped"),
    ("gouvernemnet", "gouvernement", "swap"),
    ("présdient", "président", "swap"),
    ("manifestaiton", "manifestation", "swap"),
    ("éelction", "élection", "swap"),
    ("minsitre", "ministre", "swap"),
    ("ploice", "police", "swap"),
    ("enqêute", "enquête", "swap"),
    ("sydnicat", "syndicat", "swap"),
    ("tribuanl", "tribunal", "swap"),
    ("pandméie", "pandémie", "swap"),
    ("éocnomie", "économie", "swap"),
    ("entrepirse", "entreprise", "swap"),
    ("viloence", "violence", "swap"),
    ("jsutice", "justice", "swap"),
    ("cnadidat", "candidat", "swap"),
    ("rféorme", "réforme", "swap"),
    ("gendarmeire", "gendarmerie", "swap"),
    ("incedine", "incendie", "swap"),
    ("accdient", "accident", "swap"),
    ("fotoball", "football", "swap"),
    ("gouvetnement", "gouvernement", "neighbour"),
    ("présidrnt", "président", "neighbour"),
    ("manifestqtion", "manifestation", "neighbour"),
    ("élextion", "élection", "neighbour"),
    ("ninistre", "ministre", "neighbour"),
    ("polixe", "police", "neighbour"),
    ("enquêye", "enquête", "neighbour"),
    ("syndicar", "syndicat", "neighbour"),
    ("teibunal", "tribunal", "neighbour"),
    ("pandélie", "pandémie", "neighbour"),
    ("éclnomie", "économie", "neighbour"),
    ("entreprisz", "entreprise", "neighbour"),
    ("violemce", "violence", "neighbour"),
    ("hustice", "justice", "neighbour"),
    ("candidqt", "candidat", "neighbour"),
    ("réforle", "réforme", "neighbour"),
    ("gendarmetie", "gendarmerie", "neighbour"),
    ("incendue", "incendie", "neighbour"),
    ("accidznt", "accident", "neighbour"),
    ("footbzll", "football", "neighbour"),
    ("gouvernemant", "gouvernement", "vowel"),
    ("prisident", "président", "vowel"),
    ("manifestetion", "manifestation", "vowel"),
    ("ilection", "élection", "vowel"),
    ("menistre", "ministre", "vowel"),
    ("polece", "police", "vowel"),
    ("enquote", "enquête", "vowel"),
    ("syndecat", "syndicat", "vowel"),
    ("tribonal", "tribunal", "vowel"),
    ("pondémie", "pandémie", "vowel"),
    ("éconemie", "économie", "vowel"),
    ("entroprise", "entreprise", "vowel"),
    ("violance", "violence", "vowel"),
    ("justéce", "justice", "vowel"),
    ("condidat", "candidat", "vowel"),
    ("réfirme", "réforme", "vowel"),
    ("gendarmarie", "gendarmerie", "vowel"),
    ("incondie", "incendie", "vowel"),
    ("accidant", "accident", "vowel"),
    ("footboll", "football", "vowel"),
    ("municipalles", "municipales", "double"),
    ("attentatt", "attentat", "double"),
    ("chômmage", "chômage", "double"),
]


def folded(word: str) -> str:
    return unidecode(word).lower()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default=str(ROOT / "bench" / "data" / "index-full"))
    args = parser.parse_args()
    engine = Engine(args.index)
    cases = [(typo, word, kind) for typo, word, kind in TYPOS]
    outcome: Counter = Counter()
    by_kind: dict[str, Counter] = {}
    wrong, times = [], []
    for typo, word, kind in cases:
        start = time.perf_counter()
        suggestion = engine.search(SearchRequest(q=typo)).suggestion
        times.append(time.perf_counter() - start)
        result = "none" if not suggestion else "corrected" if folded(suggestion) == folded(word) else "wrong"
        outcome[result] += 1
        by_kind.setdefault(kind, Counter())[result] += 1
        if result != "corrected":
            wrong.append(f"{typo} → {suggestion or '—'} (meant {word})")
    print(f"{len(cases)} typos on {args.index}")
    print("| kind | typos | corrected | wrong | no suggestion |\n|---|---:|---:|---:|---:|")
    for kind, c in sorted(by_kind.items()):
        print(f"| {kind} | {sum(c.values())} | {c['corrected']} | {c['wrong']} | {c['none']} |")
    total = sum(outcome.values())
    print(
        f"| **all** | {total} | **{outcome['corrected']} ({outcome['corrected'] / total:.0%})** | "
        f"{outcome['wrong']} | {outcome['none']} |"
    )
    print(f"search with suggestion, median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms")
    for line in wrong:
        print("  " + line)


if __name__ == "__main__":
    main()

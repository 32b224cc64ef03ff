"""A made-up newsroom: articles written by the tests themselves, for exports, feeds, suggestions and cluster files."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

from newsearch.indexer import Indexer
from newsearch.store import IndexStore

TOPICS = [
    ("Grève des cheminots", ["Transports", "Grève"], "transports"),
    ("Réforme des retraites", ["Politique", "Retraites"], "politique"),
    ("Hôpital public", ["Santé publique"], "santé"),
    ("Sécheresse dans le Gard", ["Climat", "Agriculture"], "environnement"),
]
VOCABULARY = """préfecture syndicat ministre député maire conseil budget hausse baisse accord négociation manifestation
cortège usagers trains rames gares hôpitaux urgences médecins infirmières patients pluie nappes rivières récoltes
blé maïs vignes éleveurs pompiers arrêté restrictions pension âge cotisations trimestres carrière sénat vote
amendement motion censure région département commune habitants témoins enquête rapport chiffres sondage
économie emploi salaires inflation prix énergie carburant transport réseau ligne retard annulation""".split()
# Titles a spreadsheet would run as a formula, and text no XML document may hold.
FORMULA_TITLE = '=HYPERLINK("http://exemple.example";"cliquez") et la grève'
CONTROL_TITLE = "Grève\x0b des contrôleurs\x1f aériens"


def newsroom_articles(count: int = 230) -> list[dict]:
    """Return count articles on four topics, one a day from 1 January 2025, the last two with hostile titles."""
    articles = []
    start = date(2025, 1, 1)
    for n in range(count):
        topic, tags, section = TOPICS[n % len(TOPICS)]
        day = start + timedelta(days=n)
        articles.append(
            {
                "id": f"eco-{n:04d}",
                "url": f"https://journal.example/{section}/{day.isoformat()}/article-{n}",
                "title": f"{topic} : épisode {n}",
                "summary": f"Le point du {day.day} sur {topic.lower()}.",
                # Words drawn at random per article: no two articles read as copies of one wire story.
                "body": f"{topic}, épisode {n}. " + " ".join(random.Random(n).choices(VOCABULARY, k=60)) + ".",
                "date": f"{day.isoformat()}T08:00:00+01:00",
                "tags": tags,
                "section": section,
                "author": "Rédaction",
            }
        )
    articles[-2]["title"] = FORMULA_TITLE
    articles[-1]["title"] = CONTROL_TITLE
    return articles


def build_newsroom_index(folder: Path, index_dir: Path, count: int = 230) -> list[dict]:
    """Write the newsroom as one JSONL file under folder, index it into index_dir, return the articles."""
    folder.mkdir(parents=True, exist_ok=True)
    articles = newsroom_articles(count)
    lines = "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles)
    (folder / "newsroom.jsonl").write_text(lines, encoding="utf-8")
    report = Indexer(IndexStore(index_dir)).run([folder])
    assert not report.skipped, report.skipped
    return articles

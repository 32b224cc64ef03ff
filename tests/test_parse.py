"""Parsing article files: scraped text, HTML pages, JSON and JSONL, in any common encoding."""

from __future__ import annotations

import hashlib
import json

import pytest

from newsearch.errors import ParseError
from newsearch.parse import (
    Notes,
    article_from_record,
    canonical_url,
    clean_tags,
    clean_text,
    html_to_text,
    parse_bytes,
    parse_file,
    stable_id,
    tag_key,
    url_id,
)

SCRAPED = """Accéder au contenu principal

Les éleveurs de l’Orne misent sur les chevaux de trait

Les éleveurs de l’Orne misent sur les chevaux de trait

Publié le 1er mars 2024
Mots-clés : Agriculture, Économie

Dans l’Orne, une dizaine d’éleveurs relancent la race percheronne.

photo-percheron.jpg

\u00a0

Un cheval coûte désormais plus de 4 000 euros.

Pin It

VOUS POUVEZ AUSSI AIMER

Un autre article qui ne doit pas être indexé
11 janvier 2026
Un extrait…
"""


def test_scraped_text_keeps_the_article_and_drops_furniture():
    article = parse_bytes(SCRAPED.encode("utf-8"), "/corpus/percherons.txt").articles[0]
    assert article.title == "Les éleveurs de l’Orne misent sur les chevaux de trait"
    assert article.date == "2024-03-01T00:00:00"
    assert article.tags == ["Agriculture", "Économie"]
    assert article.body == (
        "Dans l’Orne, une dizaine d’éleveurs relancent la race percheronne.\n\n"
        "Un cheval coûte désormais plus de 4 000 euros."
    )
    assert article.id == stable_id("path", "/corpus/percherons.txt")


def test_scraped_text_without_date_is_still_an_article():
    text = SCRAPED.replace("Publié le 1er mars 2024\n", "")
    article = parse_bytes(text.encode("utf-8"), "a.txt").articles[0]
    assert article.date == ""  # the dates of the related-articles block are not this article's
    assert "janvier" not in article.body


def test_updated_date_line_with_time():
    text = SCRAPED.replace("Publié le 1er mars 2024", "Mis à jour le 4 février 2025 à 10h30")
    assert parse_bytes(text.encode("utf-8"), "a.txt").articles[0].date == "2025-02-04T10:30:00"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"])
def test_encodings_are_read_without_mojibake(encoding):
    text = SCRAPED.replace("’", "'").replace("…", "...") if encoding == "latin-1" else SCRAPED
    text = text.replace("\u00a0", " ")
    article = parse_bytes(text.encode(encoding), "a.txt").articles[0]
    assert article.title.startswith("Les éleveurs de l")
    assert "coûte désormais" in article.body
    assert "Ã" not in article.body + article.title


def test_seed_article_in_the_sample_corpus_format(examples_dir):
    article = parse_file(examples_dir / "txt" / "2022-03-08-universites-factures-energie.txt").articles[0]
    assert article.title == "Les universités face à l’envolée des factures d’énergie"  # a cp1252 file
    assert article.date.startswith("2022-03-08")


HTML_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<title>Crue du Gardon | Le Courrier</title>
<meta property="og:title" content="Crue du Gardon : des villages sous la boue">
<meta property="article:published_time" content="2021-09-15T16:45:00+02:00">
<meta property="article:tag" content="Climat"><meta property="article:tag" content="Environnement">
<meta property="article:section" content="France">
<meta name="author" content="Lucie Martin">
<link rel="canonical" href="https://courrier.example/france/crue-gardon.html">
<script>var tracker = "analytics";</script><style>body{color:red}</style>
</head><body>
<header><nav><a href="/">Accueil</a> <a href="/politique">Politique</a> <a href="/login">Se connecter</a></nav></header>
<div class="cookies">Nous utilisons des cookies pour mesurer l'audience.</div>
<main><article><h1>Crue du Gardon : des villages sous la boue</h1>
<p class="byline">Par Lucie Martin, publié le 15 septembre 2021 à 16h45</p>
<p>Au lendemain des pluies diluviennes, les habitants de plusieurs villages du Gard découvrent l'ampleur des dégâts.
Les pompiers ont procédé à plus de deux cents interventions dans la nuit, selon la préfecture.</p>
<p>Dans la vallée du Gardon, la boue a envahi les rez-de-chaussée et emporté des voitures. Les maires réclament
la reconnaissance de l'état de catastrophe naturelle, qui permettrait d'accélérer les indemnisations.</p>
<p>Un septuagénaire est toujours porté disparu. Les recherches ont repris à l'aube avec un hélicoptère.</p>
</article></main>
<aside>À lire aussi : <a href="/x">Un autre sujet</a></aside>
<footer>Mentions légales — © 2024 Le Courrier</footer></body></html>"""


def test_html_page_gives_metadata_and_main_text_only():
    article = parse_bytes(HTML_PAGE.encode("utf-8"), "/pages/crue.html").articles[0]
    assert article.title == "Crue du Gardon : des villages sous la boue"
    assert article.date == "2021-09-15T16:45:00+02:00"
    assert article.tags == ["Climat", "Environnement"]
    assert article.section == "France"
    assert article.author == "Lucie Martin"
    assert article.url == "https://courrier.example/france/crue-gardon.html"
    assert article.id == url_id(article.url)
    assert article.body.startswith("Au lendemain des pluies diluviennes")
    assert article.body.endswith("avec un hélicoptère.")
    for furniture in (
        "Accueil",
        "Se connecter",
        "cookies",
        "analytics",
        "Mentions légales",
        "À lire aussi",
        "publié le",
    ):
        assert furniture not in article.body


LEAD = "Des pluies diluviennes ont noyé la vallée du Gardon : trois villages restent coupés du monde ce matin."
H1 = "<h1>Crue du Gardon : des villages sous la boue</h1>"


@pytest.mark.parametrize(
    "lead_markup",
    [
        f'<p class="chapo">{LEAD}</p>',
        f"<h2>{LEAD}</h2>",
        f'<div class="article-lead">{LEAD}</div>',
        f"<p><strong>{LEAD}</strong><br/><br/>\nLes secours ont travaillé toute la nuit dans la vallée.</p>",
    ],
    ids=["p.chapo", "h2 under the headline", "div.article-lead", "bold opening"],
)
def test_an_html_chapeau_is_the_summary_and_leaves_the_body(lead_markup):
    page = HTML_PAGE.replace(H1, H1 + lead_markup)
    article = parse_bytes(page.encode("utf-8"), "/pages/crue.html").articles[0]
    assert article.summary == LEAD
    assert "noyé la vallée" not in article.body
    assert article.body.endswith("avec un hélicoptère.")


def test_an_html_description_is_the_summary_only_when_it_does_not_repeat_the_text():
    def summary(description: str) -> str:
        meta = f'<meta property="og:description" content="{description}">'
        return parse_bytes(HTML_PAGE.replace("</head>", meta + "</head>").encode(), "/p.html").articles[0].summary

    assert summary(LEAD) == LEAD
    # The first sentence cut short, or the whole text: a copy of the body, not a summary.
    assert summary("Au lendemain des pluies diluviennes, les habitants de plusieurs villages du Gard...") == ""
    assert summary(parse_bytes(HTML_PAGE.encode(), "/p.html").articles[0].body.replace("\n\n", " ")) == ""


def test_json_single_object_list_and_unknown_fields():
    record = {"id": "a1", "title": "Titre", "body": "<p>Un <strong>texte</strong></p><p>Deux</p>", "wordcount": 3}
    single = parse_bytes(json.dumps(record).encode(), "one.json").articles
    many = parse_bytes(json.dumps([record, dict(record, id="a2")]).encode(), "many.json").articles
    assert [a.id for a in single] == ["a1"]
    assert [a.id for a in many] == ["a1", "a2"]
    assert single[0].body == "Un texte\n\nDeux"


def test_json_body_html_is_reduced_to_text_without_scripts():
    body = "<p>Avant<script>alert('x')</script></p><img src=x onerror=alert(1)><p>Après &amp; fin</p>"
    article = parse_bytes(json.dumps({"id": "x", "title": "T", "body": body}).encode(), "x.json").articles[0]
    assert article.body == "Avant\n\nAprès & fin"


def test_id_falls_back_to_url_then_path():
    with_url = {"title": "T", "body": "B", "url": "https://a.example/1"}
    articles = parse_bytes((json.dumps(with_url) + "\n" + json.dumps({"title": "T", "body": "B"})).encode(), "f.jsonl")
    assert articles.articles[0].id == url_id("https://a.example/1")
    assert articles.articles[1].id == stable_id("path", "f.jsonl:2")


def test_jsonl_bad_lines_are_reported_and_others_kept():
    lines = [json.dumps({"id": "ok1", "title": "Un", "body": "x"}), "{not json", "[]", json.dumps({"id": "e"}), ""]
    lines.append(json.dumps({"id": "ok2", "title": "Deux", "body": "y"}))
    parsed = parse_bytes("\n".join(lines).encode(), "f.jsonl")
    assert [a.id for a in parsed.articles] == ["ok1", "ok2"]
    assert [where for where, _ in parsed.errors] == ["f.jsonl:2", "f.jsonl:3", "f.jsonl:4"]
    assert parsed.errors[2][1] == "no title and no body"


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("empty.txt", b"", "empty file"),
        ("blank.json", b"  \n", "empty file"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary file"),
        ("broken.json", b'{"title": "x",', "malformed JSON"),
        ("furniture.txt", "Accéder au contenu principal\n\nPin It\n".encode(), "no text"),
        ("headline-only.txt", b"Un titre seul\n", "no article text"),
        ("nothing.html", b"<html><body><nav>Menu</nav></body></html>", "no article text"),
        ("table.csv", b"a,b\n1,2\n", "unsupported file type"),
        ("all-bad.jsonl", b"{oops\n{oops\n", "no readable article"),
    ],
)
def test_bad_files_raise_a_clear_parse_error(name, data, reason):
    with pytest.raises(ParseError) as excinfo:
        parse_bytes(data, name)
    assert str(excinfo.value).startswith(f"{name}: ")
    assert reason in str(excinfo.value)


def test_tags_are_trimmed_deduplicated_by_folded_key():
    assert clean_tags(["Santé", " santé ", "SANTE", "Hôpital", "", 3]) == ["Santé", "Hôpital"]
    assert clean_tags("Politique, économie") == ["Politique", "économie"]
    assert tag_key("Sécurité  Routière") == "securite routiere"
    assert tag_key("Grèves") == tag_key("grève") == "greve" and tag_key("Médias") == tag_key("Media") == "media"
    assert tag_key("Économie") == "economie"  # plurals only: keys stay words


def test_glued_sentences_are_separated():
    article = parse_bytes(
        json.dumps({"id": "g", "title": "T", "body": "Il a 7 milliards d'euros.Le gouvernement"}).encode(), "g.json"
    )
    assert article.articles[0].body == "Il a 7 milliards d'euros. Le gouvernement"


# A full stop (maybe with a closing quote) glued to a capitalised word ends a sentence, unless it belongs to an
# abbreviation, a number, an initial, an acronym or a host name.
GLUED_SENTENCES = [
    ("7 milliards d'euros.Le gouvernement", "7 milliards d'euros. Le gouvernement"),
    ('il dit "ce n\'est pas."Selon lui', 'il dit "ce n\'est pas." Selon lui'),
    ("il a dit non.»Selon elle", "il a dit non.» Selon elle"),
    ('ils continuent."Gilets jaunes" : la suite', 'ils continuent. "Gilets jaunes" : la suite'),  # it opens a quote
    ("la recette du vol.Les autorités", "la recette du vol. Les autorités"),
    ("sur Twitter.Génération.s, le parti", "sur Twitter. Génération.s, le parti"),
    ("(www.site.com).Les postulants", "(www.site.com). Les postulants"),
    ("c'est fini!Le match", "c'est fini! Le match"),
    ("le 1er.Le lendemain", "le 1er. Le lendemain"),
    ("en 2023.Depuis", "en 2023. Depuis"),
    ("selon M.Dupont", "selon M.Dupont"),  # an initial or "M." before a name: no sentence ends there
    ("reçue par Mme.Durand", "reçue par Mme.Durand"),
    ("un taux de 3.5 %", "un taux de 3.5 %"),
    ("voir www.Example.com ce soir", "voir www.Example.com ce soir"),
    ("sur https://site.fr/Page.Suite", "sur https://site.fr/Page.Suite"),
    ("la S.N.C.F. Le train", "la S.N.C.F. Le train"),
    ("aux U.S.A", "aux U.S.A"),
    ("écrit en Node.JS", "écrit en Node.JS"),
    ("le framework .NET", "le framework .NET"),
    ("J.K.Rowling", "J.K.Rowling"),
]


@pytest.mark.parametrize(("raw", "shown"), GLUED_SENTENCES)
def test_glued_sentence_ends_get_a_space_and_nothing_else_does(raw, shown):
    assert clean_text(raw) == shown


def test_html_to_text_leaves_plain_text_alone():
    assert html_to_text("Le prix a augmenté de 3 < 5 %") == "Le prix a augmenté de 3 < 5 %"


def test_big_jsonl_files_are_streamed_with_the_same_articles_and_errors(tmp_path, monkeypatch):
    import gzip

    from newsearch import parse

    lines = [json.dumps({"id": "ok1", "title": "Un", "body": "x"}), "{not json", "[]", json.dumps({"id": "e"}), ""]
    lines += [json.dumps({"id": "ok2", "title": "Deux", "body": "Déjà vu"}), "caf\xe9 sans guillemets"]
    data = "\ufeff".encode() + "\n".join(lines[:-1]).encode() + b"\n" + lines[-1].encode("cp1252")
    plain, packed = tmp_path / "f.jsonl", tmp_path / "g.jsonl.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    for path in (plain, packed):
        assert parse.streamable(path, min_bytes=0)
        errors = []
        streamed = list(parse.iter_jsonl(path, errors))
        whole = parse_file(path)
        assert streamed == whole.articles and [a.id for a in streamed] == ["ok1", "ok2"]
        assert errors == whole.errors and [where for where, _ in errors] == [f"{path}:{n}" for n in (2, 3, 4, 7)]
        assert parse.file_digest(path) == hashlib.sha256(parse.read_bytes(path)).hexdigest()


@pytest.mark.parametrize(
    "data, reason", [(b"\n \n", "empty file"), (b"{oops\n[]\n", "no readable article"), (b"\xff\xfe{\x00", None)]
)
def test_streamed_jsonl_refuses_what_the_whole_file_reader_refuses(tmp_path, monkeypatch, data, reason):
    from newsearch import parse

    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    if reason is None:  # UTF-16 cannot be cut at newlines: such a file is read whole
        assert not parse.streamable(path, min_bytes=0)
        return
    with pytest.raises(ParseError, match=reason):
        list(parse.iter_jsonl(path, []))
    with pytest.raises(ParseError, match=reason):
        parse_file(path)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("HTTPS://Courrier.Example/France/Crue.html", "https://courrier.example/France/Crue.html"),  # path case kept
        ("https://courrier.example/france/crue/", "https://courrier.example/france/crue"),
        ("https://courrier.example:443/a?utm_source=x&id=3&fbclid=y#haut", "https://courrier.example/a?id=3"),
        ("https://courrier.example/a?xtor=RSS-1", "https://courrier.example/a"),
        ("http://courrier.example:8080/", "http://courrier.example:8080/"),
        ("pas une adresse", "pas une adresse"),
    ],
)
def test_the_canonical_url_drops_what_does_not_name_the_page(given, canonical):
    assert canonical_url(given) == canonical


def test_an_html_page_and_a_json_record_of_one_url_have_one_id():
    page = HTML_PAGE.replace("crue-gardon.html", "crue-gardon.html/?utm_medium=social")
    html_article = parse_bytes(page.encode(), "/p.html").articles[0]
    record = {"title": "Crue", "body": "Texte.", "url": "https://COURRIER.example/france/crue-gardon.html"}
    assert html_article.id == parse_bytes(json.dumps(record).encode(), "r.json").articles[0].id
    assert parse_bytes(json.dumps(dict(record, id="given-7")).encode(), "r.json").articles[0].id == "given-7"


def test_a_record_with_a_bad_id_is_an_error_about_its_id_and_leaves_no_date_warning():
    warnings = Notes()
    with pytest.raises(ParseError, match="field 'id' must be a string"):
        article_from_record({"id": ["x"], "title": "T", "body": "B", "date": "1er janvier 9999"}, "f.json", "f.json",
                            warnings=warnings)  # fmt: skip
    assert list(warnings) == []

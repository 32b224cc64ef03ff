"""Date phrases in French queries: golden tables of query → remaining query, since, until, French phrase."""

from __future__ import annotations

from datetime import date

import pytest

from newsearch.dates import parse_bound
from newsearch.query import parse_query
from newsearch.querydates import DateFilter, DayAnchors, extract_date_filters, passage_anchors
from newsearch.schema import build_schema

TODAY = date(2026, 3, 11)  # a Wednesday: this week is 9–15 March, last week 2–8 March

# query → (what is left to search, since, until, phrase shown to the user)
GOLDEN = [
    ("grève SNCF depuis janvier 2026", "grève SNCF", "2026-01-01", None, "depuis janvier 2026"),
    ("depuis 2019", "", "2019-01-01", None, "depuis 2019"),
    ("depuis le 1er mars 2019 retraites", "retraites", "2019-03-01", None, "depuis le 1er mars 2019"),
    ("avant 2020", "", None, "2019-12-31", "avant 2020"),
    ("avant le 11 janvier 2026", "", None, "2026-01-10", "avant le 11 janvier 2026"),
    ("après mars 2019", "", "2019-04-01", None, "après mars 2019"),
    ("apres fevrier 2020", "", "2020-03-01", None, "après février 2020"),  # 2020 is a leap year
    ("en mars 2019", "", "2019-03-01", "2019-03-31", "en mars 2019"),
    ("retraites mars 2019", "retraites", "2019-03-01", "2019-03-31", "en mars 2019"),
    ("en 2019", "", "2019-01-01", "2019-12-31", "en 2019"),
    ("en decembre 2020", "", "2020-12-01", "2020-12-31", "en décembre 2020"),
    ("incendie en aout 2021", "incendie", "2021-08-01", "2021-08-31", "en août 2021"),
    ("entre 2018 et 2019", "", "2018-01-01", "2019-12-31", "entre 2018 et 2019"),
    ("entre 2020 et 2018", "", "2018-01-01", "2020-12-31", "entre 2018 et 2020"),
    ("entre janvier et mars 2020", "", "2020-01-01", "2020-03-31", "entre janvier et mars 2020"),
    ("entre janvier 2019 et mars 2020", "", "2019-01-01", "2020-03-31", "entre janvier 2019 et mars 2020"),
    ("entre le 1er et le 15 mars 2020", "", "2020-03-01", "2020-03-15", "entre le 1er et le 15 mars 2020"),
    ("du 1er au 15 mars 2020", "", "2020-03-01", "2020-03-15", "du 1er au 15 mars 2020"),
    ("d'avril à juin 2020", "", "2020-04-01", "2020-06-30", "d’avril à juin 2020"),
    ("de 2018 à 2020", "", "2018-01-01", "2020-12-31", "de 2018 à 2020"),
    # backwards is no range: only the complete date is read
    ("du 30 au 2 mars 2020", "du 30 au", "2020-03-02", "2020-03-02", "le 2 mars 2020"),
    ("grève les 24 et 25 octobre 2023", "grève", "2023-10-24", "2023-10-25", "les 24 et 25 octobre 2023"),
    ("jusqu'en 2019", "", None, "2019-12-31", "jusqu’en 2019"),
    ("jusqu’au 11 mars 2020", "", None, "2020-03-11", "jusqu’au 11 mars 2020"),
    ("le 11 janvier 2026", "", "2026-01-11", "2026-01-11", "le 11 janvier 2026"),
    ("11 janvier 2026 Macron", "Macron", "2026-01-11", "2026-01-11", "le 11 janvier 2026"),
    ("DEPUIS JANVIER 2026", "", "2026-01-01", None, "depuis janvier 2026"),
    ("Depuis Février 2019", "", "2019-02-01", None, "depuis février 2019"),
    # relative to TODAY
    ("cette année", "", "2026-01-01", "2026-12-31", "cette année (2026)"),
    ("inondations l'an dernier", "inondations", "2025-01-01", "2025-12-31", "l’an dernier (2025)"),
    ("l’année dernière", "", "2025-01-01", "2025-12-31", "l’an dernier (2025)"),
    ("l'an passé", "", "2025-01-01", "2025-12-31", "l’an dernier (2025)"),
    ("ce mois-ci", "", "2026-03-01", "2026-03-31", "ce mois-ci (mars 2026)"),
    ("le mois dernier", "", "2026-02-01", "2026-02-28", "le mois dernier (février 2026)"),
    ("cette semaine", "", "2026-03-09", "2026-03-15", "cette semaine"),
    ("la semaine dernière", "", "2026-03-02", "2026-03-08", "la semaine dernière"),
    ("aujourd'hui", "", "2026-03-11", "2026-03-11", "aujourd’hui (11 mars 2026)"),
    ("hier", "", "2026-03-10", "2026-03-10", "hier (10 mars 2026)"),
    ("depuis l'an dernier", "", "2025-01-01", None, "depuis l’an dernier (2025)"),
    # several phrases narrow each other
    ("depuis 2019 avant 2021", "", "2019-01-01", "2020-12-31", "depuis 2019, avant 2021"),
    # what removing a phrase leaves is still a query: no dangling operator, comma or parentheses
    ("grève AND depuis 2019", "grève", "2019-01-01", None, "depuis 2019"),
    ("(depuis 2019) OR grève", "grève", "2019-01-01", None, "depuis 2019"),
    ("grève, depuis 2019, cheminots", "grève, cheminots", "2019-01-01", None, "depuis 2019"),
    ("grève NOT en 2019", "grève", "2019-01-01", "2019-12-31", "en 2019"),
    # a year that is part of a name stays, the same year after "en" is a filter
    ("élection 2017 en 2017", "élection 2017", "2017-01-01", "2017-12-31", "en 2017"),
    ('"Euro 2016" depuis 2016', '"Euro 2016"', "2016-01-01", None, "depuis 2016"),
    ("title:2019 en 2019", "title:2019", "2019-01-01", "2019-12-31", "en 2019"),
]


@pytest.mark.parametrize("query, rest, since, until, phrase", GOLDEN)
def test_date_phrases_become_filters(query, rest, since, until, phrase):
    assert extract_date_filters(query, today=TODAY) == DateFilter(rest, since, until, phrase)


# Left exactly as typed, with no filter.
UNTOUCHED = [
    "Euro 2016",
    "COP 2015 climat",
    "loi de programmation 2019-2025",
    '"depuis 2019" grève',  # a quoted phrase is searched as typed
    "« en mars 2019 » retraites",
    "“avant 2020” bilan",
    "-2019 macron",  # an excluded word
    "mars",  # a month without a year may be the planet
    "en mars",
    "depuis janvier",
    "mai 68",
    "en 2000 euros",  # a quantity, not a year
    "en 1500 mètres",
    "budget en 2000 €",
    "le 31 février 2020",  # no such day: not half-read as "février 2020"
    "entre janvier et 2020",
    "depuis",
    "",
]


@pytest.mark.parametrize("query", UNTOUCHED)
def test_not_a_date_phrase(query):
    assert extract_date_filters(query, today=TODAY) == DateFilter(query, None, None, None)


@pytest.mark.parametrize("query, rest, since, until, phrase", GOLDEN)
def test_filters_are_valid_bounds_and_the_rest_parses(query, rest, since, until, phrase):
    found = extract_date_filters(query, today=TODAY)
    # What SearchRequest.since/until accept, read back to the same day (None stays an open bound).
    assert [parse_bound(b).isoformat() if b else None for b in (found.since, found.until)] == [since, until]
    assert (found.since or "0000") <= (found.until or "9999")
    # What is left is a query (a Whoosh query object), or nothing: then the period is browsed.
    parsed = parse_query(found.query, build_schema())
    assert (parsed is None) == (rest == "") and (parsed is None or hasattr(parsed, "matcher"))


def test_today_defaults_to_the_current_day():
    assert extract_date_filters("cette année").since == f"{date.today().year}-01-01"


# A pasted passage → the weekdays (Monday 0) and calendar days (day, month, year or None) it names.
ANCHORS = [
    ("Vendredi 23 mars, quatre hommes ont perdu la vie dans l'Aude.", {4}, {(23, 3, None)}),
    ("Le 1er mai 2019, les syndicats ont défilé ; dimanche soir, le calme.", {6}, {(1, 5, 2019)}),
    ("Il a déclaré jeudi 31 mai, puis lundi, que le 2 février 2016 était loin.", {0, 3}, {(31, 5, None), (2, 2, 2016)}),
    ("Les élèves de CM2 rentrent en septembre, et mars reste la planète rouge.", set(), set()),
    ("Un bilan de 54 décès en 24 heures, portant à 29.209 le nombre de morts.", set(), set()),
    ("Le 32 janvier n'existe pas, le 10 aout si (sans accent).", set(), {(10, 8, None)}),
]


@pytest.mark.parametrize("passage, weekdays, days", ANCHORS)
def test_a_passage_names_weekdays_and_calendar_days(passage, weekdays, days):
    assert passage_anchors(passage) == DayAnchors(frozenset(weekdays), frozenset(days))


def test_anchor_lags_count_days_after_a_weekday_and_around_a_calendar_day():
    anchors = passage_anchors("Vendredi 23 mars, à Trèbes")
    # Friday 23 March 2018 itself, the Saturday after, and the Thursday before (six days after a Friday).
    assert [anchors.weekday_lag(date(2018, 3, d)) for d in (23, 24, 22)] == [0, 1, 6]
    assert [anchors.date_lag(date(2018, 3, d)) for d in (23, 24, 20)] == [0, 1, 3]
    # No year named: the nearest 23 March, before or after (2 January 2019: 80 days before 23 March 2019).
    assert anchors.date_lag(date(2019, 1, 2)) == 80 and anchors.date_lag(date(2018, 7, 1)) == 100
    dated = passage_anchors("le 29 février 2016")
    assert dated.date_lag(date(2016, 3, 1)) == 1 and dated.weekday_lag(date(2016, 3, 1)) is None
    assert not passage_anchors("rien de daté") and passage_anchors("samedi")

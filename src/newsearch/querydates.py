"""French date phrases in a query ("depuis janvier 2026", "l'an dernier") turned into since/until filters.

The phrases are removed from the query text, so "grève SNCF depuis 2019" searches "grève SNCF" from
2019-01-01 on. Only phrases that clearly mean a date are read: a month needs a year ("mars" alone may be
the planet), and a bare year needs a preposition before it ("Euro 2016", "COP 2015" are names, not
filters). Quoted phrases, field values (title:2019) and excluded words (-2019) are never touched.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from .analysis import fold
from .dates import MONTH_NAMES, MONTHS, WEEKDAYS

_FOLDED_MONTHS = {fold(name): number for name, number in MONTHS.items()}
# A year is a filter only in this range: "en 1500 mètres" or "avant 800" are not dates.
MIN_YEAR, MAX_YEAR = 1000, 2199
# A number followed by one of these is a quantity, not a year ("en 2000 euros").
_UNITS = frozenset(
    "euro euros dollar dollars km kilometres metres m habitants personnes morts victimes voix emplois postes "
    "exemplaires tonnes litres pourcent points jours ans mois heures minutes fois".split()
)
_OPERATORS = frozenset({"AND", "OR", "NOT", "ET", "OU", "SAUF"})
_UNARY_OPERATORS = frozenset({"NOT", "SAUF"})

# Elided l', d', jusqu' are tokens of their own so that "l'an", "d'avril", "jusqu'en" read as two words.
_TOKEN_RE = re.compile(r"\b(?:jusqu|[dl])['’]|\w+(?:-\w+)*")
_QUOTED_RE = re.compile(r'"[^"]*(?:"|$)|«[^»]*(?:»|$)|“[^”]*(?:”|$)|„[^“”]*(?:[“”]|$)')
_DAY_RE = re.compile(r"^(\d{1,2})(?:er)?$")
_YEAR_RE = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class DateFilter:
    """A query with its date phrases taken out, the period they mean (ISO days) and how to say it in French."""

    query: str
    since: str | None = None
    until: str | None = None
    phrase: str | None = None


@dataclass(frozen=True)
class _Period:
    first: date
    last: date
    label: str  # "janvier 2026", "2019", "11 janvier 2026", "l’an dernier (2025)"
    kind: str  # "day", "month", "year" or "relative": which preposition reads naturally before it


@dataclass(frozen=True)
class _Token:
    text: str
    folded: str
    start: int
    end: int
    protected: bool


def _month_label(month: int, year: int) -> str:
    return f"{MONTH_NAMES[month]} {year}"


def _day_label(day: date) -> str:
    return f"{'1er' if day.day == 1 else day.day} {MONTH_NAMES[day.month]} {day.year}"


def _month_period(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _relative_periods(today: date) -> list[tuple[tuple[str, ...], _Period]]:
    """Return (folded words, period) for the relative expressions, longest first."""
    this_month = _month_period(today.year, today.month)
    previous = today.replace(day=1) - timedelta(days=1)
    last_month = _month_period(previous.year, previous.month)
    monday = today - timedelta(days=today.weekday())
    yesterday = today - timedelta(days=1)
    this_year = (date(today.year, 1, 1), date(today.year, 12, 31))
    last_year = (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    this_week = (monday, monday + timedelta(days=6))
    last_week = (monday - timedelta(days=7), monday - timedelta(days=1))
    # The label names the resolved period too: "l'an dernier" alone does not say which year was meant.
    table = [
        ("cette annee", this_year, f"cette année ({today.year})"),
        ("l an dernier", last_year, f"l’an dernier ({today.year - 1})"),
        ("l annee derniere", last_year, f"l’an dernier ({today.year - 1})"),
        ("l an passe", last_year, f"l’an dernier ({today.year - 1})"),
        ("l annee passee", last_year, f"l’an dernier ({today.year - 1})"),
        ("ce mois ci", this_month, f"ce mois-ci ({_month_label(today.month, today.year)})"),
        ("ce mois", this_month, f"ce mois-ci ({_month_label(today.month, today.year)})"),
        ("ce moisci", this_month, f"ce mois-ci ({_month_label(today.month, today.year)})"),
        ("le mois dernier", last_month, f"le mois dernier ({_month_label(previous.month, previous.year)})"),
        ("le mois passe", last_month, f"le mois dernier ({_month_label(previous.month, previous.year)})"),
        ("cette semaine", this_week, "cette semaine"),
        ("la semaine derniere", last_week, "la semaine dernière"),
        ("la semaine passee", last_week, "la semaine dernière"),
        ("aujourd hui", (today, today), f"aujourd’hui ({_day_label(today)})"),
        ("hier", (yesterday, yesterday), f"hier ({_day_label(yesterday)})"),
    ]
    out = [(tuple(words.split()), _Period(first, last, label, "relative")) for words, (first, last), label in table]
    return sorted(out, key=lambda item: -len(item[0]))


def _tokens(query: str) -> list[_Token]:
    quoted = [m.span() for m in _QUOTED_RE.finditer(query)]
    tokens = []
    for m in _TOKEN_RE.finditer(query):
        start, end = m.span()
        before = query[start - 1] if start else " "
        after = query[end] if end < len(query) else " "
        protected = (
            any(a <= start < b for a, b in quoted)
            or before in ":-+"  # title:2019, -2019, +2019
            or after == ":"  # a field name
        )
        # "l'" folds to "l", "d'" to "d": the apostrophe has done its job by splitting the token.
        tokens.append(_Token(m.group(), fold(m.group()), start, end, protected))
    return tokens


class _Reader:
    """Reads date expressions in a token list; each method returns (period, next index) or None."""

    def __init__(self, query: str, tokens: list[_Token], today: date):
        self.query = query
        self.tokens = tokens
        self.relatives = _relative_periods(today)

    def word(self, i: int) -> str:
        if 0 <= i < len(self.tokens) and not self.tokens[i].protected:
            return self.tokens[i].folded
        return ""

    def year(self, i: int) -> int | None:
        w = self.word(i)
        if _YEAR_RE.match(w) and MIN_YEAR <= int(w) <= MAX_YEAR and not self.quantity(i):
            return int(w)
        return None

    def quantity(self, i: int) -> bool:
        """Tell whether the number at i counts something: followed by a unit word, € or %."""
        if self.word(i + 1) in _UNITS:
            return True
        token = self.tokens[i]
        return re.match(r"\s*[€%$]", self.query[token.end : token.end + 3]) is not None

    def month(self, i: int) -> int | None:
        return _FOLDED_MONTHS.get(self.word(i))

    def day(self, i: int) -> int | None:
        m = _DAY_RE.match(self.word(i))
        return int(m.group(1)) if m and 1 <= int(m.group(1)) <= 31 else None

    def relative(self, i: int):
        for words, period in self.relatives:
            if all(self.word(i + k) == w for k, w in enumerate(words)):
                return period, i + len(words)
        return None

    def full(self, i: int, relative: bool = True):
        """A complete date: 11 janvier 2026, le 1er mars 2019, mars 2019, 2019, or a relative expression."""
        if relative and (found := self.relative(i)):
            return found
        if self.word(i) == "le" and self.day(i + 1):
            i += 1
        day, month = self.day(i), self.month(i + 1)
        if day and month and (year := self.year(i + 2)):
            try:
                moment = date(year, month, day)
            except ValueError:  # 31 février
                return None
            return _Period(moment, moment, _day_label(moment), "day"), i + 3
        if self.day(i - 1):
            return None  # what is left of "31 février 2020": not a date, and not to be half-read as one
        if (month := self.month(i)) and (year := self.year(i + 1)):
            return _Period(*_month_period(year, month), _month_label(month, year), "month"), i + 2
        if year := self.year(i):
            return _Period(date(year, 1, 1), date(year, 12, 31), str(year), "year"), i + 1
        return None

    def partial(self, i: int):
        """The first end of a range, which may leave out what the second end says: "1er" or "janvier"."""
        if self.word(i) == "le" and self.day(i + 1):
            i += 1
        day = self.day(i)
        month = self.month(i + 1 if day else i)
        if not day and not month:
            return None
        return (day, month), i + (1 if day else 0) + (1 if month else 0)

    def range(self, i: int, joiners: tuple[str, ...]):
        """A range whose first end may borrow its month and year from the second: "janvier et mars 2020"."""
        found = self.full(i, relative=False)
        if found and self.word(found[1]) in joiners:
            second = self.full(found[1] + 1, relative=False)
            if second:
                first, last = sorted((found[0], second[0]), key=lambda p: p.first)
                return first, last, second[1]
        part = self.partial(i)
        if not part or self.word(part[1]) not in joiners:
            return None
        second = self.full(part[1] + 1, relative=False)
        if not second or second[0].kind == "year":
            return None
        (day, own_month), end = part[0], second[0]
        month = own_month or end.first.month
        if day is None and end.kind == "day":
            return None  # "entre janvier et le 11 mars 2020": not worth guessing
        if day is not None and end.kind != "day":
            return None
        try:
            if day is None:
                first = _Period(*_month_period(end.first.year, month), MONTH_NAMES[month], "month")
            else:
                moment = date(end.first.year, month, day)
                label = ("1er" if day == 1 else str(day)) + (f" {MONTH_NAMES[month]}" if own_month else "")
                first = _Period(moment, moment, label, "day")
        except ValueError:
            return None
        if first.first > end.last:
            return None  # "du 30 au 2 mars" read backwards is no range
        return first, end, second[1]


def _in_label(period: _Period) -> str:
    if period.kind == "relative":
        return period.label
    return ("le " if period.kind == "day" else "en ") + period.label


def _the(period: _Period) -> str:
    """Return the period as French says it after depuis, avant, après: "depuis le 11 janvier 2026"."""
    return ("le " if period.kind == "day" else "") + period.label


def _de(label: str) -> str:
    return ("d’" if label[0] in "aeiouyAEIOUY" else "de ") + label


def _match(reader: _Reader, i: int):
    """Return (first day or None, last day or None, French phrase, next index) for a date phrase at i."""
    w = reader.word(i)
    if w == "depuis" and (found := reader.full(i + 1)):
        return found[0].first, None, f"depuis {_the(found[0])}", found[1]
    if w == "avant" and (found := reader.full(i + 1)):
        return None, found[0].first - timedelta(days=1), f"avant {_the(found[0])}", found[1]
    if w == "apres" and (found := reader.full(i + 1)):
        return found[0].last + timedelta(days=1), None, f"après {_the(found[0])}", found[1]
    if w == "jusqu" and reader.word(i + 1) in ("a", "au", "en") and (found := reader.full(i + 2)):
        period = found[0]
        prefix = {"day": "jusqu’au ", "relative": "jusqu’à "}.get(period.kind, "jusqu’en ")
        return None, period.last, prefix + period.label, found[1]
    if w == "entre" and (found := reader.range(i + 1, ("et",))):
        first, last, end = found
        if first.kind == "day":
            return first.first, last.last, f"entre le {first.label} et le {last.label}", end
        return first.first, last.last, f"entre {first.label} et {last.label}", end
    if w == "les" and (found := reader.range(i + 1, ("et",))) and found[0].kind == "day":
        first, last, end = found
        return first.first, last.last, f"les {first.label} et {last.label}", end
    if w in ("de", "du", "d") and (found := reader.range(i + 1, ("a", "au"))):
        first, last, end = found
        if first.kind == "day":
            return first.first, last.last, f"du {first.label} au {last.label}", end
        return first.first, last.last, f"{_de(first.label)} à {last.label}", end
    if w == "en" and (found := reader.full(i + 1, relative=False)) and found[0].kind != "day":
        return found[0].first, found[0].last, _in_label(found[0]), found[1]
    found = reader.full(i)
    if found and found[0].kind != "year":  # a bare year is a name's part: "Euro 2016"
        return found[0].first, found[0].last, _in_label(found[0]), found[1]
    return None


def _tidy(text: str) -> str:
    """Collapse what removing phrases leaves: double spaces, dangling operators, empty parentheses."""
    while True:
        before = text
        text = re.sub(r"\(\s*\)", " ", text)
        text = re.sub(r"\s+([,;.!?)])", r"\1", text)
        text = re.sub(r"([(])\s+", r"\1", text)
        text = re.sub(r"([,;])\s*(?=[,;]|$)", "", text)
        words = text.split()
        kept: list[str] = []
        for k, word in enumerate(words):
            nxt = words[k + 1] if k + 1 < len(words) else ")"
            if word in _OPERATORS:
                dangling_right = nxt in _OPERATORS - _UNARY_OPERATORS or nxt.startswith(")")
                dangling_left = word not in _UNARY_OPERATORS and (
                    not kept or kept[-1] in _OPERATORS or kept[-1].endswith("(")
                )
                if dangling_right or dangling_left:
                    continue
            kept.append(word)
        text = " ".join(kept).strip(" ,;")
        if text == before:
            return text


def extract_date_filters(query: str, today: date | None = None) -> DateFilter:
    """Take French date phrases out of query and return the rest with the period they mean."""
    today = today or date.today()
    tokens = _tokens(query)
    reader = _Reader(query, tokens, today)
    since: date | None = None
    until: date | None = None
    phrases: list[str] = []
    cuts: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        found = _match(reader, i)
        if not found:
            i += 1
            continue
        first, last, phrase, end = found
        # Several phrases narrow each other: "depuis 2019 avant 2021" is 2019-01-01..2020-12-31.
        if first is not None:
            since = first if since is None else max(since, first)
        if last is not None:
            until = last if until is None else min(until, last)
        phrases.append(phrase)
        cuts.append((tokens[i].start, tokens[end - 1].end))
        i = end
    if not phrases:
        return DateFilter(query=query)
    rest, position = [], 0
    for start, end in cuts:
        rest.append(query[position:start])
        position = end
    rest.append(query[position:])
    return DateFilter(
        query=_tidy(" ".join("".join(rest).split())),
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
        phrase=", ".join(phrases),
    )


# --- days a pasted passage is anchored to --------------------------------------------------------

_FOLDED_WEEKDAYS = {fold(name): number for number, name in enumerate(WEEKDAYS)}


@dataclass(frozen=True)
class DayAnchors:
    """The weekdays and calendar days a pasted passage names: news says "lundi" or "le 23 mars" of its own day."""

    weekdays: frozenset[int] = frozenset()
    days: frozenset[tuple[int, int, int | None]] = frozenset()  # (day, month, year or None)

    def __bool__(self) -> bool:
        return bool(self.weekdays or self.days)

    def weekday_lag(self, day: date) -> int | None:
        """Return how many days after the nearest weekday named day falls (0 to 6), None if none is named."""
        return min(((day.weekday() - w) % 7 for w in self.weekdays), default=None)

    def date_lag(self, day: date) -> int | None:
        """Return how many days day lies from the nearest calendar day named, in the nearest year if none is said."""
        lags = []
        for number, month, year in self.days:
            for candidate_year in (year,) if year else (day.year - 1, day.year, day.year + 1):
                if number <= calendar.monthrange(candidate_year, month)[1]:
                    lags.append(abs((day - date(candidate_year, month, number)).days))
        return min(lags, default=None)


def passage_anchors(text: str) -> DayAnchors:
    """Return the weekdays ("lundi") and calendar days ("23 mars", "1er mai 2019") a passage names."""
    tokens = [t.folded.lower() for t in _tokens(text)]
    weekdays, days = set(), set()
    for i, token in enumerate(tokens):
        if token in _FOLDED_WEEKDAYS:
            weekdays.add(_FOLDED_WEEKDAYS[token])
        elif token in _FOLDED_MONTHS and i:
            number = _DAY_RE.match(tokens[i - 1])
            if number and 1 <= int(number.group(1)) <= 31:
                after = tokens[i + 1] if i + 1 < len(tokens) else ""
                year = int(after) if _YEAR_RE.match(after) and MIN_YEAR <= int(after) <= MAX_YEAR else None
                days.add((int(number.group(1)), _FOLDED_MONTHS[token], year))
    return DayAnchors(frozenset(weekdays), frozenset(days))

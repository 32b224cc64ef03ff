"""Dates: French date phrases in articles, ISO strings in records, and YYYY[-MM[-DD]] filter bounds."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta, timezone

from .errors import QueryError, echo

MONTHS = {
    "janvier": 1,
    "fevrier": 2,
    "février": 2,
    "mars": 3,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "aout": 8,
    "août": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "decembre": 12,
    "décembre": 12,
}
MONTH_NAMES = [
    "",
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
# date.weekday() order: Monday is 0.
WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
MONTH_ABBR = ["", "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."]

_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
# "11 janvier 2026", "1er mars 2019", "mardi 4 juin 2019 à 18h16"
FRENCH_DATE_RE = re.compile(
    rf"\b(\d{{1,2}})(?:er)?\s+({_MONTH_RE})\s+(\d{{4}})(?:\s+(?:à|a)\s+(\d{{1,2}})\s*[h:]\s*(\d{{2}})?)?",
    re.IGNORECASE,
)
_BOUND_RE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?\s*$")


def parse_french_date(text: str) -> datetime | None:
    """Return the first French date in text ("11 janvier 2026", "1er mars 2019 à 10h30"), or None."""
    for match in FRENCH_DATE_RE.finditer(text):
        day, month_name, year, hour, minute = match.groups()
        try:
            moment = datetime(int(year), MONTHS[month_name.lower()], int(day), int(hour or 0), int(minute or 0))
        except ValueError:
            continue
        if placeable(moment):
            return moment
    return None


# Years an article can be placed in. Outside them a date is a typo or a placeholder ("9999-12-31"), and
# arithmetic on it (UTC conversion, epoch seconds, day distances) can overflow Python's datetime range.
MIN_YEAR = 1800
MAX_YEAR = 2200
# Real UTC offsets lie within ±14 h; fromisoformat accepts up to ±24 h.
MAX_OFFSET = timedelta(hours=14)


def placeable(moment: datetime) -> bool:
    """Tell whether a datetime lies within the years and offsets an article date can have."""
    offset = moment.utcoffset()
    if offset is not None and abs(offset) > MAX_OFFSET:
        return False
    return MIN_YEAR <= moment.year <= MAX_YEAR


def parse_iso(value: str) -> datetime | None:
    """Return a datetime for an ISO 8601 date or date-time string (with or without offset), or None."""
    # None too for a date that cannot be placed (see placeable), so that no later arithmetic can fail on it.
    value = (value or "").strip()
    if not value:
        return None
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(value[:10]), datetime.min.time())
        except ValueError:
            return None
    return moment if placeable(moment) else None


def utc_iso(stamp: int) -> str:
    """Return the ISO string of epoch seconds, '' when they lie outside the placeable years."""
    try:
        moment = datetime.fromtimestamp(stamp, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return ""
    return moment.isoformat() if placeable(moment) else ""


def to_utc_timestamp(moment: datetime) -> int:
    """Return epoch seconds; a naive datetime is taken as Paris-ish local time written as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def parse_bound(value: str, end: bool = False) -> date:
    """Return the first (or, with end, the last) day of YYYY, YYYY-MM or YYYY-MM-DD."""
    match = _BOUND_RE.match(value or "")
    if not match:
        raise QueryError("bad_date", value=echo(value or ""))
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        if month is None:
            return date(year, 12, 31) if end else date(year, 1, 1)
        if day is None:
            last = calendar.monthrange(year, month)[1]
            return date(year, month, last) if end else date(year, month, 1)
        return date(year, month, day)
    except ValueError:
        raise QueryError("bad_date", value=echo(value)) from None


def french_date(value: str) -> str:
    """Format an ISO date string as "11 janvier 2026" ("" when empty or unreadable)."""
    moment = parse_iso(value)
    if moment is None:
        return ""
    day = "1er" if moment.day == 1 else str(moment.day)
    return f"{day} {MONTH_NAMES[moment.month]} {moment.year}"


def bucket_label(value: str) -> str:
    """Label a histogram bucket: "2020" stays, "2020-07" becomes "juil. 2020"."""
    if len(value) == 7:
        return f"{MONTH_ABBR[int(value[5:])]} {value[:4]}"
    return value


def day_ordinal(moment: datetime) -> int:
    """Return the proleptic ordinal of the article's local calendar day."""
    return moment.date().toordinal()


def ordinal_to_date(ordinal: int) -> date:
    """Return the date of an ordinal."""
    return date.fromordinal(ordinal)

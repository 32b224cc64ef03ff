"""Query synonyms from an editable list (OTAN = NATO, PS = Parti socialiste): a query rewritten with OR groups.

`expand("NATO Ukraine")` gives `(NATO OR OTAN OR "Organisation du traité de l'Atlantique nord" OR
"Alliance atlantique") Ukraine`, in the query language the search parser reads. Words are compared folded
and lightly stemmed, like the index compares them ("Nations unies" = "nation unie"); a member of several
words matches only the same words in a row and is searched as a phrase. Short acronyms (up to 3 capitals:
PS, UE, JO) match only in capitals, because "ps" or "jo" typed in lower case are rarely the party or the
Games. Quoted phrases, operators, field values (title:x), excluded words (-x) and fuzzy words (x~) are
left as typed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .analysis import strip_elision, word_key
from .errors import NewsearchError

DEFAULT_PATH = Path(__file__).with_name("data") / "synonyms.txt"
ENV_VAR = "NEWSEARCH_SYNONYMS"
# An all-capitals member this short is an acronym that must be typed in capitals to match.
SHORT_ACRONYM = 3

_OPERATORS = frozenset({"AND", "OR", "NOT", "ET", "OU", "SAUF"})
_CLOSING = {'"': '"', "«": "»", "“": "”", "„": "“"}
_PUNCTUATION = ".,;:!?…"
_FIELD_RE = re.compile(r"^[+-]?\w+:")


def _is_short_acronym(member: str) -> bool:
    letters = [ch for ch in member if ch.isalpha()]
    return " " not in member and member.isupper() and len(letters) <= SHORT_ACRONYM


def _as_query(text: str) -> str:
    return f'"{text}"' if " " in text else text


@dataclass
class _Token:
    start: int  # the token's span in the query
    end: int
    core_end: int  # without trailing punctuation: "OTAN," matches as "OTAN"
    plain: bool  # an ordinary word, which may be expanded


def _tokens(query: str) -> list[_Token]:
    """Split a query into tokens, marking which are plain words; quotes, operators and syntax are not."""
    tokens: list[_Token] = []
    i, guard = 0, False  # guard: the next parenthesised group belongs to a field or an exclusion
    while i < len(query):
        ch = query[i]
        if ch.isspace():
            i += 1
            continue
        if ch in _CLOSING:
            close = query.find(_CLOSING[ch], i + 1)
            end = len(query) if close < 0 else close + 1
            tokens.append(_Token(i, end, end, False))
            i, guard = end, False
            continue
        if ch in "()":
            end = i + 1
            if ch == "(" and guard:  # title:(a b), -(a b): skip to the matching parenthesis
                depth = 0
                for end in range(i, len(query) + 1):
                    if end == len(query):
                        break
                    depth += {"(": 1, ")": -1}.get(query[end], 0)
                    if depth == 0:
                        end += 1
                        break
            tokens.append(_Token(i, end, end, False))
            i, guard = end, False
            continue
        end = i
        while end < len(query) and not query[end].isspace() and query[end] not in '()"«»“”„':
            end += 1
        if end == i:  # a closing quote with no opening one (» alone): punctuation, not a token
            i += 1
            continue
        text = query[i:end]
        core_end = end
        while core_end > i and query[core_end - 1] in _PUNCTUATION:
            core_end -= 1
        syntax = text in _OPERATORS or text[0] in "+-" or _FIELD_RE.match(text) or "~" in text
        tokens.append(_Token(i, end, core_end, not syntax and core_end > i))
        guard = text in ("+", "-") or text.endswith(":")
        i = end
    return tokens


@dataclass
class Synonyms:
    """Groups of interchangeable query words and expressions, and the rewriting of queries with them."""

    groups: list[tuple[str, ...]]
    _exact: dict[str, int] = field(init=False, repr=False)  # short acronym as typed → group
    _loose: dict[tuple[str, ...], int] = field(init=False, repr=False)  # word keys → group
    _longest: int = field(init=False, repr=False)

    def __post_init__(self):
        self._exact, self._loose = {}, {}
        for number, group in enumerate(self.groups):
            for member in group:
                if _is_short_acronym(member):
                    self._exact.setdefault(member, number)
                else:
                    # The first group that claims a member keeps it: one word must not expand two ways.
                    self._loose.setdefault(self.key(member), number)
        self._longest = max((len(k) for k in self._loose), default=1)

    @staticmethod
    def key(text: str) -> tuple[str, ...]:
        """Return how a member or typed expression is compared: its words folded and lightly stemmed."""
        return tuple(k for k in (word_key(w) for w in text.split()) if k)

    def _matches(self, query: str):
        """Yield (start, end, group number, typed text) for each expression of query found in a group."""
        tokens = _tokens(query)
        i = 0
        while i < len(tokens):
            found = None
            if tokens[i].plain:
                for length in range(min(self._longest, len(tokens) - i), 0, -1):
                    run = tokens[i : i + length]
                    # Every word plain, and no punctuation inside: "Parti, socialiste" is not the party.
                    if not all(t.plain for t in run) or any(t.core_end != t.end for t in run[:-1]):
                        continue
                    typed = " ".join(query[t.start : t.core_end] for t in run)
                    number = self._exact.get(strip_elision(typed)) if length == 1 else None
                    if number is None:
                        number = self._loose.get(self.key(typed))
                    if number is not None:
                        found = (run[0].start, run[-1].core_end, number, typed)
                        i += length
                        break
            if found:
                yield found
            else:
                i += 1

    def expand(self, query: str) -> str:
        """Return query with each expression found in a group replaced by (typed OR other members)."""
        out, position = [], 0
        for start, end, number, typed in self._matches(query):
            typed_key = self.key(typed)
            others = [m for m in self.groups[number] if self.key(m) != typed_key and m != typed]
            out.append(query[position:start])
            out.append("(" + " OR ".join([_as_query(typed)] + [_as_query(m) for m in others]) + ")")
            position = end
        out.append(query[position:])
        return "".join(out)

    def groups_for(self, query: str) -> list[tuple[str, ...]]:
        """Return the groups expand() applies to query, in query order, each once (to show the user)."""
        numbers = dict.fromkeys(number for _, _, number, _ in self._matches(query))
        return [self.groups[n] for n in numbers]


def parse_synonyms(text: str) -> list[tuple[str, ...]]:
    """Read groups from the file format: one group a line, members separated by commas, # comments."""
    groups = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        members = [" ".join(m.split()) for m in line.split(",")]
        members = list(dict.fromkeys(m for m in members if m))
        if len(members) > 1:
            groups.append(tuple(members))
    return groups


def load_synonyms(path: str | os.PathLike | None = None) -> Synonyms:
    """Load synonyms from path, else from $NEWSEARCH_SYNONYMS, else from the list newsearch ships."""
    path = Path(path or os.environ.get(ENV_VAR) or DEFAULT_PATH)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NewsearchError(f"cannot read the synonyms file {path}: {exc}") from None
    return Synonyms(parse_synonyms(text))

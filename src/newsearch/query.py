"""The query plan: a user's query string read once into words, phrases, fields, operators and date phrases.

`plan_query(text)` bounds the query's size, reads it token by token, repairs what a person did not mean as
syntax (an unclosed quote is the phrase up to the end, `title:` with nothing or a trailing `AND` is dropped,
`foo:bar` is two words) and says so in French notes; date phrases and synonyms are then read from the
repaired text. Everything downstream (matching, rescoring, snippets, suggestions, the page's "read as" line)
reads the plan, never the raw string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date

from whoosh import qparser
from whoosh import query as wq

from .analysis import STOP_WORDS, fold, iter_words
from .errors import QueryError, echo
from .querydates import DateFilter, DayAnchors, extract_date_filters, passage_anchors
from .schema import SEARCH_FIELDS

MAX_QUERY_CHARS = 2000
MAX_WORD_CHARS = 80
MAX_DEPTH = 8
# Size bounds of a keyword query, checked before any matching: each word or phrase is a posting walk,
# each fuzzy word a scan of the lexicon.
MAX_TERMS = 64
MAX_FUZZY = 4
# Up to this many words every word must match; beyond, it is a pasted passage: any word may match.
LONG_QUERY_WORDS = 6

QUERY_FIELDS = {"title": "title", "titre": "title", "tag": "tags", "tags": "tags", "body": "body",
                "texte": "body", "summary": "summary", "chapo": "summary"}  # fmt: skip
FIELD_BOOSTS = {"title": 2.0, "summary": 1.2, "body": 1.0, "tags": 1.5}
# A pasted passage is matched against content: a strong title boost lets title words drown it
# (known-item dev ids: title 2.0 gave MRR@10 0.674; on the first 200 ids 1.0 gave 0.700, 1.2 gave 0.692).
PASSAGE_BOOSTS = {"title": 1.0, "summary": 1.0, "body": 1.0, "tags": 1.0}

# French and English spellings of each operator; plans carry the English one.
OPERATORS = {"AND": "AND", "ET": "AND", "OR": "OR", "OU": "OR", "NOT": "NOT", "SAUF": "NOT"}
_QUOTES = str.maketrans({"«": '"', "»": '"', "“": '"', "”": '"', "„": '"', "‟": '"', "’": "'", "‘": "'"})
# Syntax a user typed on purpose; quotes and parentheses in a pasted passage are not. A dash before a word is an
# exclusion in a few keywords ("retraites -grève") but punctuation in prose ("Orphelin -proche de Hulot-").
_EXPLICIT = re.compile(r"\b(?:AND|OR|NOT|ET|OU|SAUF)\b|\b\w+:(?=\S)")
_EXCLUSION = re.compile(r"(?:^|\s)-\w")
# Words beyond which a dash before a word reads as punctuation: no one types twelve keywords and an exclusion.
MAX_EXCLUDING_WORDS = 2 * LONG_QUERY_WORDS
_FIELD_RE = re.compile(r"(\w+):")
_FUZZY_RE = re.compile(r"([^:~+\-](?:[^:~]*\w)?)~(\d*)")
_WORD_CHAR = re.compile(r"\w")
# Colons and tildes of Whoosh's syntax that is not newsearch's separate words; a piece starts past any sign.
_PIECE_RE = re.compile(r"[^:~+\-][^:~]*")
_SYNTAX_NOISE = re.compile(r"[~*?\[\]{}^:+\-]")
_BREAKS = '"()'
_OPERAND_START = ("word", "phrase", "open")
_OPERAND_END = ("word", "phrase", "close")


@dataclass(frozen=True)
class Token:
    """One piece of a query as read: a word, a phrase, a parenthesis or an operator, with its span as typed."""

    kind: str  # "word", "phrase", "open", "close" or "op"
    text: str  # the word, the phrase's inside, or AND / OR / NOT
    start: int
    end: int
    field: str | None = None  # a schema field name (title, tags, body, summary)
    sign: str = ""  # "-": excluded, "+": required
    fuzzy: int = 0  # edits allowed (word~), 0 for an exact word

    def render(self) -> str:
        """Write the token back in the query language."""
        head = self.sign + (f"{self.field}:" if self.field else "")
        if self.kind == "phrase":
            return f'{head}"{self.text}"'
        if self.kind == "open":
            return head + "("
        if self.kind == "word" and self.fuzzy:
            return f"{head}{self.text}~{self.fuzzy}"
        # A word spelt like an operator ("foo:AND") stays a word: the analyser lowercases it anyway.
        return head + (self.text.lower() if self.kind == "word" and self.text in OPERATORS else self.text)


@dataclass
class QueryPlan:
    """A query read once: its tokens, how it was read, its date phrase, synonyms and what the matcher parses."""

    typed: str
    tokens: list[Token] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    long: bool = False
    dates: DateFilter | None = None
    synonyms: list[tuple[str, ...]] = field(default_factory=list)
    match: str = ""  # what the Whoosh parser reads: date phrases out, synonyms in; a passage's words only
    words: list[str] = field(default_factory=list)  # positive words as typed (capitals, accents), for rescoring
    anchors: DayAnchors = DayAnchors()  # a passage's weekdays and calendar days, for its second stage

    @property
    def read_as(self) -> str:
        """The query as newsearch read it, in the query language."""
        return render(self.tokens)

    def suggestion(self, replacements: dict[int, str]) -> str:
        """Return the typed query with the words at these token indexes replaced."""
        out, position = [], 0
        for i, token in enumerate(self.tokens):
            if i in replacements:
                out.append(self.typed[position : token.start])
                out.append(replacements[i])
                position = token.end
        out.append(self.typed[position:])
        return " ".join("".join(out).split())

    def to_dict(self) -> dict:
        """Return how the query was read, as plain data (the JSON "plan" object); at most MAX_TERMS tokens."""
        return {
            "read_as": self.read_as,
            "passage": self.long,
            "notes": list(self.notes),
            "tokens": [
                {"kind": t.kind, "text": t.text, "start": t.start, "end": t.end, "field": t.field, "sign": t.sign,
                 "fuzzy": t.fuzzy}
                for t in self.tokens[:MAX_TERMS]
            ],
        }  # fmt: skip


def normalize_query(text: str) -> str:
    """Make French typography parseable: « » and curly quotes become ", ’ becomes ', spaces collapse."""
    return " ".join(text.translate(_QUOTES).split())


def is_long_query(text: str) -> bool:
    """Tell whether a query is a pasted passage (many words, no operator or field) rather than keywords."""
    if _EXPLICIT.search(text):
        return False
    if _EXCLUSION.search(text) and len(text.split()) <= MAX_EXCLUDING_WORDS:
        return False
    # Words as typed: an elided "jusqu'à" or "qu'il" is one word the user wrote, though it has no term.
    words = [w for w in text.split() if fold(w) not in STOP_WORDS and fold(w) or "-" in w]
    return len(words) > LONG_QUERY_WORDS


def render(tokens: list[Token]) -> str:
    """Write tokens back as a query string."""
    return " ".join(t.render() for t in tokens)


# --- reading ---------------------------------------------------------------------------------------


def _chunk_tokens(text: str, start: int, end: int, sign: str, notes: list[str]) -> list[Token]:
    """Read one run of non-space characters (no quote or parenthesis) into word and operator tokens."""
    chunk = text[start:end]
    if chunk in OPERATORS and not sign:
        return [Token("op", OPERATORS[chunk], start, end)]
    fieldname = None
    match = _FIELD_RE.match(chunk)
    if match and match.group(1).lower() in QUERY_FIELDS:
        fieldname = QUERY_FIELDS[match.group(1).lower()]
        chunk, start = chunk[match.end() :], start + match.end()
    elif match and not match.group(1).isdigit():
        notes.append(
            f"« {echo(match.group(0))} » n’est pas un champ connu (titre:, tag:, texte:, chapo:) : lu comme un mot."
        )
    fuzzy = _FUZZY_RE.fullmatch(chunk)
    if fuzzy and _WORD_CHAR.search(fuzzy.group(1)):
        asked = int(fuzzy.group(2)) if fuzzy.group(2) else 1
        word = fuzzy.group(1)
        edits = max(1, min(asked, 1 if len(word) < 5 else 2))
        if edits < asked:
            notes.append(f"« {echo(word)}~ » : au plus {edits} lettre(s) d’écart.")
        return [Token("word", word, start, start + len(word), fieldname, sign, edits)]
    tokens = []
    # Signs count only at the start of a token: the "-x" of "foo:-x" is the word x.
    for piece in _PIECE_RE.finditer(chunk):
        if _WORD_CHAR.search(piece.group()):
            s = start + piece.start()
            tokens.append(Token("word", piece.group(), s, s + len(piece.group()), fieldname, sign))
    if not tokens and fieldname:
        tokens.append(Token("field", "", start, end, fieldname, sign))  # resolved against what follows
    elif not tokens and _SYNTAX_NOISE.search(chunk):
        notes.append(f"« {echo(text[start:end])} » ne contient aucun mot : ignoré.")
    return tokens


def _scan(text: str, notes: list[str]) -> list[Token]:
    """Split a query (typography already normalised, same length as typed) into raw tokens."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == '"':
            close = text.find('"', i + 1)
            end = n if close < 0 else close + 1
            inner = " ".join(text[i + 1 : end - (close >= 0)].split())
            if close < 0 and _WORD_CHAR.search(inner):
                notes.append(f"Guillemet non fermé : « {echo(inner)} » est lu comme une expression jusqu’à la fin.")
            if _WORD_CHAR.search(inner):
                tokens.append(Token("phrase", inner, i, end))
            i = end
            continue
        if ch in "()":
            tokens.append(Token("open" if ch == "(" else "close", ch, i, i + 1))
            i += 1
            continue
        end = i
        while end < n and not text[end].isspace() and text[end] not in _BREAKS:
            end += 1
        start, sign = i, ""
        while start < end and text[start] in "+-":
            sign = text[start]
            start += 1
        if start == end:
            # A bare sign excludes or requires what it touches: -"a b", -(a b); alone it is punctuation.
            if end < n and text[end] in '"(':
                tokens.append(Token("sign", "", i, end, sign=sign))
            i = end
            continue
        tokens.extend(_chunk_tokens(text, start, end, sign, notes))
        i = end
    return tokens


def _attach(tokens: list[Token], notes: list[str]) -> list[Token]:
    """Give a bare sign or field (`-"a b"`, `title: retraites`) to the operand after it, or drop it."""
    out: list[Token] = []
    sign, fieldname = "", None
    for token in tokens:
        if token.kind in ("sign", "field"):
            if token.kind == "field" and fieldname:
                notes.append(_nothing_after(fieldname))
            sign, fieldname = token.sign or sign, token.field or fieldname
            continue
        if token.kind in _OPERAND_START:
            token = replace(token, sign=token.sign or sign, field=token.field or fieldname)
        elif fieldname:
            notes.append(_nothing_after(fieldname))
        sign, fieldname = "", None
        out.append(token)
    if fieldname:
        notes.append(_nothing_after(fieldname))
    return out


def _nothing_after(fieldname: str) -> str:
    french = {"title": "titre", "tags": "tag", "body": "texte", "summary": "chapo"}[fieldname]
    return f"« {french}: » n’est suivi d’aucun mot : ignoré."


def _balance(tokens: list[Token], notes: list[str]) -> list[Token]:
    """Drop closing parentheses with no opening one and close the ones left open; bound the nesting."""
    out, depth = [], 0
    for token in tokens:
        if token.kind == "open":
            depth += 1
            if depth > MAX_DEPTH:
                raise QueryError("query_too_deep", max=MAX_DEPTH)
        elif token.kind == "close":
            if not depth:
                notes.append("Parenthèse fermante sans ouvrante : ignorée.")
                continue
            depth -= 1
        out.append(token)
    if depth:
        notes.append("Parenthèse non fermée : fermée en fin de requête.")
        end = tokens[-1].end if tokens else 0
        out += [Token("close", ")", end, end)] * depth
    return out


def _valid(tokens: list[Token], i: int) -> bool:
    """Tell whether the operator or group at i has what it needs around it."""
    token = tokens[i]
    before = tokens[i - 1] if i else None
    after = tokens[i + 1] if i + 1 < len(tokens) else None
    if token.kind == "open":
        return after is not None and after.kind != "close"
    if token.kind != "op":
        return True
    if after is None or after.kind not in _OPERAND_START and not (after.kind == "op" and after.text == "NOT"):
        return False
    if token.text == "NOT":
        return after.kind != "op"  # NOT NOT x: the second one is the meant one
    return before is not None and before.kind in _OPERAND_END


def _drop_dangling(tokens: list[Token], notes: list[str]) -> list[Token]:
    """Drop operators missing a word on one side, and empty parentheses, a few passes until none is left."""
    while True:
        drop = set()
        for i, token in enumerate(tokens):
            if not _valid(tokens, i):
                if token.kind == "op":
                    where = "après lui" if token.text == "NOT" else "de chaque côté"
                    notes.append(f"« {token.text} » n’a pas de mot {where} : ignoré.")
                    drop.add(i)
                else:  # an empty group: the opening and, balanced, its closing parenthesis right after
                    drop |= {i, i + 1}
        if not drop:
            return tokens
        tokens = [t for i, t in enumerate(tokens) if i not in drop]


def read_tokens(text: str) -> tuple[list[Token], list[str]]:
    """Read a query string into repaired tokens and French notes on what was repaired."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError("query_too_long", count=len(text), max=MAX_QUERY_CHARS)
    notes: list[str] = []
    tokens = _drop_dangling(_balance(_attach(_scan(text.translate(_QUOTES), notes), notes), notes), notes)
    for token in tokens:
        if token.kind == "word" and len(token.text) > MAX_WORD_CHARS:
            raise QueryError("word_too_long", count=len(token.text), max=MAX_WORD_CHARS)
    return tokens, list(dict.fromkeys(notes))


def typed_words(tokens: list[Token]) -> list[str]:
    """Return the words a person typed to be found, as typed: no exclusions, fields, fuzzy or stop words."""
    words, negated, depth, excluded_at = [], False, 0, None  # excluded_at: depth of an excluded group
    for token in tokens:
        if token.kind == "op":
            negated = token.text == "NOT"
            continue
        skip = negated or token.sign == "-" or bool(token.field) or excluded_at is not None
        if token.kind == "open":
            depth += 1
            if skip and excluded_at is None:
                excluded_at = depth
        elif token.kind == "close":
            if excluded_at == depth:
                excluded_at = None
            depth -= 1
        elif not skip and not token.fuzzy:
            # Each word without its elided article ("l'État" is typed as "État"); "aujourd'hui" stays one word.
            words += [token.text[start:end] for start, end, forms in iter_words(token.text) if forms]
        negated = False
    return words


def plan_query(text: str, synonyms=None, read_dates: bool = True, today: date | None = None) -> QueryPlan:
    """Read a query string once into a plan; QueryError for a query too big to run (before any work)."""
    tokens, notes = read_tokens(text)
    plan = QueryPlan(typed=text, tokens=tokens, notes=notes)
    if not tokens:
        if text.strip():
            raise QueryError("no_searchable_word", value=echo(text))
        return plan
    plan.long = is_long_query(plan.read_as)
    if plan.long:
        # A pasted passage is words: its quotes, parentheses and signs are not syntax, nor its dates filters.
        plan.match = " ".join(t.text for t in tokens if t.kind in ("word", "phrase"))
        plan.words = typed_words([replace(t, sign="", field=None) for t in tokens])
        plan.anchors = passage_anchors(plan.match)
        return plan
    terms = [t for t in tokens if t.kind in ("word", "phrase")]
    if len(terms) > MAX_TERMS:
        raise QueryError("too_many_terms", count=len(terms), max=MAX_TERMS)
    if sum(1 for t in terms if t.fuzzy) > MAX_FUZZY:
        raise QueryError("too_many_fuzzy", max=MAX_FUZZY)
    rest = tokens
    if read_dates:
        plan.dates = extract_date_filters(plan.read_as, today)
        if plan.dates.phrase:
            rest, _ = read_tokens(plan.dates.query)
    plan.words = typed_words(rest)
    plan.match = render(rest)
    if synonyms is not None and plan.match:
        plan.synonyms = synonyms.groups_for(plan.match)
        if plan.synonyms:
            plan.match = synonyms.expand(plan.match)
    return plan


# --- from a plan to a Whoosh query -----------------------------------------------------------------


def build_parser(schema, long_query: bool):
    """Return a parser over the article fields with only the syntax newsearch documents."""
    # Plain OR: the coordination bonus of OrGroup.factory() disables Whoosh's fast matcher (3x slower).
    group = qparser.OrGroup if long_query else qparser.AndGroup
    boosts = PASSAGE_BOOSTS if long_query else FIELD_BOOSTS
    parser = qparser.MultifieldParser(list(SEARCH_FIELDS), schema, fieldboosts=boosts, group=group)
    # Wildcards, ranges and single quotes (French apostrophes!) are not part of the language.
    for plugin_class in (
        qparser.WildcardPlugin,
        qparser.RangePlugin,
        qparser.SingleQuotePlugin,
        qparser.BoostPlugin,
        qparser.EveryPlugin,
        qparser.FieldsPlugin,
    ):
        parser.remove_plugin_class(plugin_class)
    names = "|".join(sorted(set(QUERY_FIELDS.values()), key=len, reverse=True))
    parser.add_plugin(qparser.FieldsPlugin(expr=rf"(?P<text>{names}):"))
    # Only a leading - excludes: the hyphen inside "Nord-Coréens" is part of the word.
    parser.add_plugin(
        qparser.PlusMinusPlugin(plusexpr=r"(?:^|(?<=[\s(]))\+(?=\w)", minusexpr=r"(?:^|(?<=[\s(]))-(?=[\w\"(])")
    )
    parser.add_plugin(qparser.FuzzyTermPlugin())
    parser.replace_plugin(
        qparser.OperatorsPlugin(
            And=r"(?<=\s)(?:AND|ET)(?=\s)",
            Or=r"(?<=\s)(?:OR|OU)(?=\s)",
            Not=r"(^|(?<=(\s|[()])))(?:NOT|SAUF)(?=\s)",
            AndNot=None,
            AndMaybe=None,
            Require=None,
        )
    )
    return parser


def whoosh_query(plan: QueryPlan, schema):
    """Return the Whoosh query of a plan, or None when it has no words (browse everything)."""
    if not plan.match:
        return None
    try:
        q = build_parser(schema, plan.long).parse(plan.match)
    except RecursionError:
        raise QueryError("query_too_deep", max=MAX_DEPTH) from None
    except Exception:  # a plan is well formed, but Whoosh's parser has odd corners: read the words alone
        words = " ".join(w for t in plan.tokens if t.kind in ("word", "phrase") for w in re.findall(r"\w+", t.text))
        q = build_parser(schema, plan.long).parse(words) if words else None
    q = _bound_fuzzy(q)
    if q is None or q is wq.NullQuery or isinstance(q, wq.NullQuery.__class__):
        raise QueryError("no_searchable_word", value=echo(plan.typed))
    if _only_negative(q):
        raise QueryError("only_excluded")
    return q


def parse_query(text: str, schema):
    """Parse a user query string into a Whoosh query, or None for an empty query (browse everything)."""
    return whoosh_query(plan_query(text, read_dates=False), schema)


def _only_negative(q) -> bool:
    if isinstance(q, wq.Not):
        return True
    if isinstance(q, wq.And):
        return all(_only_negative(sub) for sub in q.subqueries)
    return False


def _bound_fuzzy(q):
    """Keep fuzzy terms cheap: at most 2 edits and a 2-letter prefix that must match."""
    if isinstance(q, wq.FuzzyTerm):
        q.maxdist = min(q.maxdist, 1 if len(q.text) < 5 else 2)
        q.prefixlength = min(max(q.prefixlength, 2), len(q.text))
        return q
    if isinstance(q, wq.compound.CompoundQuery):
        q.subqueries = [s for s in (_bound_fuzzy(s) for s in q.subqueries) if s is not None]
    elif isinstance(q, wq.Not):
        q.query = _bound_fuzzy(q.query)
    return q

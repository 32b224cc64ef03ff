"""Search-as-you-type suggestions from the index's lexicon: titles and frequent words completing what is typed."""

from __future__ import annotations

import heapq
import re
import threading
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass

from .analysis import WORD_PATTERN, fold, strip_elision, word_term
from .export import stored_articles
from .parse import tag_key

MAX_SUGGESTIONS = 8
MAX_TITLES = 3
MAX_TYPED = 200
_WORD_RE = re.compile(WORD_PATTERN)


def typed_key(text: str) -> str:
    """Return text as suggestions compare it: each word without elision, folded as the analyzer folds it."""
    return " ".join(filter(None, (fold(strip_elision(word)) for word in text.split())))


@dataclass
class Suggestion:
    """One completion: the text to search, a short description, and the address it leads to."""

    text: str
    description: str
    article_id: str | None = None


class Lexicon:
    """Every article title and title word of one searcher, sorted by their typed keys for prefix lookups."""

    def __init__(self, searcher):
        self.searcher = searcher
        titles = []
        forms: dict[str, Counter] = defaultdict(Counter)
        for fields in stored_articles(searcher):
            if not fields.get("title"):
                continue
            title = fields["title"]
            titles.append((typed_key(title), fields.get("date", ""), title, fields["id"]))
            for n, match in enumerate(_WORD_RE.finditer(title)):
                word = strip_elision(match.group())
                if n == 0 and word[1:] == word[1:].lower():
                    word = word.lower()  # a headline's capital says nothing of the word ("SNCF" keeps its own)
                if word_term(word.replace("-", "")):  # stop words complete nothing worth searching
                    forms[typed_key(word)][word] += 1
        titles.sort()
        self.titles = titles
        self.title_keys = [t[0] for t in titles]
        reader = searcher.reader()
        words = []
        for key, spellings in forms.items():
            if not key:
                continue
            # Ranked by the lexicon: in how many articles the word is, in any text field.
            term = word_term(key)
            frequency = max(reader.doc_frequency(f, term) for f in ("title", "body")) if term else 0
            words.append((key, spellings.most_common(1)[0][0], frequency))
        words.sort()
        self.words = words
        self.word_keys = [w[0] for w in words]

    @staticmethod
    def _range(keys: list[str], prefix: str) -> range:
        start = bisect_left(keys, prefix)
        return range(start, bisect_left(keys, prefix + "\x7f", lo=start))

    def suggest(self, typed: str, size: int = MAX_SUGGESTIONS) -> list[Suggestion]:
        """Return titles starting with what is typed (newest first), then its last word completed (most frequent)."""
        typed = typed[:MAX_TYPED]
        key = typed_key(typed)
        if not key:
            return []
        out: list[Suggestion] = []
        found = self._range(self.title_keys, key)
        newest = heapq.nlargest(MAX_TITLES, found, key=lambda i: self.titles[i][1])
        for i in newest:
            _, date, title, article_id = self.titles[i]
            out.append(Suggestion(title, date[:10], article_id))
        # The last word is the one being typed, unless a space says it is finished; an elided article stays.
        last = "" if typed[-1:].isspace() else typed.rsplit(None, 1)[-1]
        core = strip_elision(last)
        before = typed[: len(typed) - len(core)]
        last_key = typed_key(core)
        if last_key:
            found = self._range(self.word_keys, last_key)
            for i in heapq.nlargest(size, found, key=lambda i: (self.words[i][2], -i)):
                _, word, frequency = self.words[i]
                text = before + word
                if all(s.text.lower() != text.lower() for s in out):
                    out.append(Suggestion(text, f"{frequency} article{'s' if frequency > 1 else ''}"))
        return out[:size]


class Suggester:
    """The lexicon of an Engine's current searcher, built once and again after each commit."""

    # In the background (the web app), the lexicon is first built when the app starts, and after a commit the
    # previous one answers until the new one is ready: building takes seconds on a large index, a suggestion
    # must take milliseconds.

    def __init__(self, engine, background: bool = False):
        self.engine = engine
        self.background = background
        self._build_lock = threading.Lock()
        self._lexicon: Lexicon | None = None
        self.builder: threading.Thread | None = None
        if background:
            self._build_later(engine.refresh()[0])

    def _build(self, searcher) -> None:
        with self._build_lock:
            if self._lexicon is None or self._lexicon.searcher is not searcher:
                self._lexicon = Lexicon(searcher)

    def _build_later(self, searcher) -> None:
        self.builder = threading.Thread(target=self._build, args=(searcher,), name="newsearch-lexicon", daemon=True)
        self.builder.start()

    def lexicon(self) -> Lexicon:
        """Return the lexicon to answer from: the current searcher's, or in the background the last one built."""
        searcher, _ = self.engine.refresh()
        current = self._lexicon
        if current is None or (current.searcher is not searcher and not self.background):
            self._build(searcher)  # waits for a build in progress, which may be this very one
            return self._lexicon
        if current.searcher is not searcher and not self._build_lock.locked():
            self._build_later(searcher)
        return current

    def suggest(self, typed: str, size: int = MAX_SUGGESTIONS) -> list[Suggestion]:
        """Return the suggestions for what is typed."""
        return self.lexicon().suggest(typed, size)


def index_values(reader, field: str, typed: str = "", limit: int = 100) -> list[tuple[str, int]]:
    """Return the values of a tag-like field (tagform, section) whose key starts with typed's, as the facets
    group them: (the most frequent spelling, articles), most frequent first."""
    prefix = tag_key(typed) or ""
    spellings: dict[str, Counter] = defaultdict(Counter)
    for raw in reader.lexicon(field):
        value = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        key = tag_key(value)
        if key and key.startswith(prefix):
            spellings[key][value] = reader.doc_frequency(field, value)
    ranked = sorted(spellings.values(), key=lambda c: (-sum(c.values()), c.most_common(1)[0][0]))
    return [(c.most_common(1)[0][0], sum(c.values())) for c in ranked[:limit]]

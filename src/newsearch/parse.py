"""Article files in, `Article` records out: scraped text, HTML pages, JSON and JSONL."""

from __future__ import annotations

import gzip
import hashlib
import html
import io
import itertools
import json
import os
import re
import stat
import threading
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path

from .dates import WEEKDAYS, parse_french_date, parse_iso
from .errors import DependencyError, ParseError
from .tuning import DEFAULT_INDEX_TUNING

TEXT_SUFFIXES = (".txt",)
HTML_SUFFIXES = (".html", ".htm")
JSON_SUFFIXES = (".json", ".json.gz")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + JSON_SUFFIXES + JSONL_SUFFIXES

MB = 1024**2
# One-line fields (title, author, section, url) longer than this are cut: no headline is this long.
MAX_LINE_CHARS = 2000
# Seconds a read may wait for data before its file is skipped (reads of local regular files never wait).
READ_DEADLINE = 30.0
# Skips and warnings kept per file: a file of a million bad lines must not fill the memory with its report.
MAX_NOTES = 1000
# Fewer words than this in an HTML page's extracted text is a menu or an error page, not an article.
MIN_HTML_WORDS = 5


@dataclass(frozen=True)
class Limits:
    """What one file, record, field or article may hold; what passes is skipped, or cut where that is useful."""

    # Decompressed bytes of a file read whole (all but big JSONL files): its text and records sit in memory.
    file_bytes: int = 100 * MB
    # Decompressed bytes of a JSONL file read line by line: memory stays flat, this bounds the time.
    stream_bytes: int = 20 * 1024 * MB
    # Bytes of one JSONL line or one record of a JSON list.
    record_bytes: int = 16 * MB
    # Characters of a body or summary: longer ones are indexed up to here, with a warning.
    field_chars: int = 2 * MB
    tags: int = 100
    tag_chars: int = 100
    # Bytes of an HTML page parsed: its tree takes about 20 times its size (95 MB took 1.9 GB); beyond, it is cut.
    html_bytes: int = 16 * MB


DEFAULT_LIMITS = Limits()


class Notes(list):
    """(where, reason) pairs of one file, at most MAX_NOTES of them; the rest are only counted."""

    def __init__(self, *args):
        super().__init__(*args)
        self.dropped = 0

    def add(self, where: str, reason: str) -> None:
        """Note what happened at where, or count it once MAX_NOTES are kept."""
        if len(self) < MAX_NOTES:
            self.append((where, reason))
        else:
            self.dropped += 1


@dataclass
class Article:
    """One news article, whatever file it came from."""

    id: str
    title: str
    body: str
    summary: str = ""
    url: str = ""
    date: str = ""
    tags: list[str] = field(default_factory=list)
    section: str = ""
    author: str = ""
    path: str = ""
    # Where in its file the article was read ("path:line"), for reports; not indexed.
    where: str = field(default="", compare=False, repr=False)

    def to_dict(self) -> dict:
        """Return the article as plain data (what is indexed: where it was read is left out)."""
        data = asdict(self)
        del data["where"]
        return data


@dataclass
class ParsedFile:
    """The articles of one file, the records of it that could not be read, and what was changed to read it."""

    articles: list[Article]
    errors: list[tuple[str, str]] = field(default_factory=Notes)
    warnings: list[tuple[str, str]] = field(default_factory=Notes)


def stable_id(kind: str, value: str) -> str:
    """Return a short stable id derived from a URL or a path."""
    return f"{kind}-" + hashlib.sha1(value.encode("utf-8")).hexdigest()[:16]


# Query parameters that track a click, not name a page: dropped from the URL an article is known by.
_TRACKING_PREFIXES = ("utm_", "at_", "mc_", "pk_", "xt")
_TRACKING = frozenset("fbclid gclid dclid msclkid igshid ocid cmpid ns_source ns_campaign ref_src".split())


def canonical_url(url: str) -> str:
    """Return the form of an article's URL that identifies it across formats (host case, trailing slash, tracking)."""
    from urllib.parse import urlsplit, urlunsplit

    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    if not parts.scheme or not parts.hostname:
        return url
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if port and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/") or "/"
    kept = [
        pair
        for pair in parts.query.split("&")
        if pair and not (name := pair.split("=", 1)[0].lower()).startswith(_TRACKING_PREFIXES) and name not in _TRACKING
    ]
    return urlunsplit((scheme, host, path, "&".join(kept), ""))


def url_id(url: str) -> str:
    """Return the id of an article known by its URL alone: the same for its HTML page and its JSON record."""
    return stable_id("url", canonical_url(url))


def article_id(given: str, url: str, where: str) -> str:
    """Return an article's id: the one its record gives, else its URL's, else that of the place it was read."""
    return given or (url_id(url) if url else stable_id("path", where))


def supported(path: Path) -> bool:
    """Tell whether newsearch knows how to read this file by its name."""
    name = path.name.lower()
    return name.endswith(SUPPORTED_SUFFIXES)


# --- decoding -------------------------------------------------------------------------------


_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


def decode(data: bytes, where: str, warnings: Notes | None = None) -> str:
    """Decode bytes on evidence: UTF-8 (BOM or not), UTF-16 with BOM, mostly UTF-8, else cp1252/Latin-1."""
    # A file that is UTF-8 but for a few bad bytes is decoded as UTF-8 with U+FFFD for them and noted in warnings:
    # decoding it as cp1252 would turn every accent into mojibake. Binary data is refused.
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ParseError(f"{where}: invalid UTF-16 text") from None
    if b"\x00" in data[:8192]:
        raise ParseError(f"{where}: binary file (NUL bytes), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - data.count("\ufffd".encode())
    good = len(_UTF8_SEQUENCE.findall(data))
    if good >= bad:
        if warnings is not None:
            warnings.add(where, f"{bad} invalid UTF-8 byte sequence(s) replaced by \ufffd (the rest is UTF-8)")
        return text
    # French files not in UTF-8 are nearly always Windows-1252; its five undefined bytes fall back to Latin-1.
    return data.decode("cp1252", errors="strict") if _is_cp1252(data) else data.decode("latin-1")


def _is_cp1252(data: bytes) -> bool:
    return not any(b in data for b in (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d"))


_READ_ERRORS = (OSError, EOFError, gzip.BadGzipFile, zlib.error)


def _read_error(path: Path, exc: BaseException) -> ParseError:
    """Return the ParseError saying why a file (or its gzip stream) could not be read."""
    return ParseError(f"{path}: cannot read: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}")


_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}


def file_kind(mode: int) -> str:
    """Name what kind of non-regular file a stat mode describes ("a FIFO", "a socket"…)."""
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def open_regular(path: Path):
    """Open a regular file for binary reading, never blocking: a FIFO or device is refused, not read."""
    # O_NONBLOCK makes opening a FIFO return at once; fstat on the open descriptor then checks what was opened, so a
    # file swapped for a FIFO or a device after the folder was walked is refused too.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ParseError(f"{path}: not a regular file ({file_kind(mode)}): skipped")
        os.set_blocking(fd, True)
        return io.BufferedReader(DeadlineReader(fd, str(path)), buffer_size=MB)
    except BaseException:
        os.close(fd)
        raise


class DeadlineReader(io.RawIOBase):
    """A file descriptor whose reads give up after READ_DEADLINE seconds without data, raising ParseError."""

    # A regular file on a stuck network or FUSE mount blocks read() for ever, and the job with it, holding the
    # index lock. Each read runs in a daemon thread the job waits for at most the deadline; a read that stays
    # stuck keeps its thread and descriptor, the run goes on without the file, and its end releases the lock.

    def __init__(self, fd: int, name: str, deadline: float | None = None):
        super().__init__()
        self.fd, self.name = fd, name
        self.deadline = READ_DEADLINE if deadline is None else deadline
        self.stuck = False
        self.consumed = 0  # bytes read from the file so far, for progress

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def readinto(self, buffer) -> int:
        if self.stuck:
            raise ParseError(f"{self.name}: an earlier read is still stuck")
        result: list = []
        done = threading.Event()

        def read():
            try:
                result.append(os.read(self.fd, len(buffer)))
            except BaseException as exc:  # handed to the waiting thread
                result.append(exc)
            done.set()

        threading.Thread(target=read, daemon=True, name="newsearch-read").start()
        if not done.wait(self.deadline):
            self.stuck = True
            raise ParseError(f"{self.name}: no data within {self.deadline:g} s (a stuck mount?): skipped")
        if isinstance(result[0], BaseException):
            raise result[0]
        data = result[0]
        buffer[: len(data)] = data
        self.consumed += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed and not self.stuck:  # a stuck read still uses the descriptor
            os.close(self.fd)
        super().close()


def _open_binary(path: Path):
    """Open a file for reading its content, gunzipping *.gz."""
    fh = open_regular(path)
    return gzip.GzipFile(fileobj=fh, mode="rb") if path.name.lower().endswith(".gz") else fh


def _mb(n: int) -> str:
    return f"{n / MB:.4g} MB" if n >= MB else f"{n:,} bytes"


def read_bytes(path: Path, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """Read a file whole, transparently gunzipping *.gz, refusing one of more than limits.file_bytes."""
    too_big = ParseError(f"{path}: larger than {_mb(limits.file_bytes)} (--max-file-mb): skipped")
    try:
        with _open_binary(path) as fh:
            if not path.name.lower().endswith(".gz") and os.fstat(fh.fileno()).st_size > limits.file_bytes:
                raise too_big
            # Read one byte past the limit: a gzip bomb stops there, whatever it would decompress to.
            data = fh.read(limits.file_bytes + 1)
    except _READ_ERRORS as exc:
        raise _read_error(path, exc) from None
    if len(data) > limits.file_bytes:
        raise too_big
    return data


# --- HTML fragments to text -----------------------------------------------------------------

_BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
    "section", "article", "header", "footer", "table", "tr", "figure", "figcaption", "pre", "hr",
}  # fmt: skip
_DROP_TAGS = {"script", "style", "noscript", "template", "iframe", "object", "svg", "head", "title"}


class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.dropping = 0

    def handle_starttag(self, tag, attrs):
        if tag in _DROP_TAGS:
            self.dropping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n" if tag != "br" else "\n")

    def handle_startendtag(self, tag, attrs):
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in _DROP_TAGS:
            self.dropping = max(0, self.dropping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if not self.dropping:
            self.parts.append(data)


_TAG_HINT = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]*)(?:\s[^<>]*)?/?>|</[a-zA-Z][a-zA-Z0-9]*\s*>|&[a-zA-Z#0-9]+;")


def html_to_text(fragment: str) -> str:
    """Reduce an HTML fragment to plain text with paragraph breaks; scripts and styles are dropped."""
    if not _TAG_HINT.search(fragment):
        return fragment
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.parts)


# --- text clean-up --------------------------------------------------------------------------

_SPACES = re.compile(r"[ \t\u00a0\u2007\u202f\u200b\ufeff]+")
# What _SPACES would change: without any of these a line is already clean (3 % of the cost of the regex).
_ODD_SPACES = ("  ", "\t", "\u00a0", "\u2007", "\u202f", "\u200b", "\ufeff")
# "…euros.Le gouvernement", "pas."Selon": a sentence glued to the next one by the scraper (a full stop, maybe
# a closing quote, then a capitalised word). The lookbehind comes after the full stop, so that the regex engine
# scans for the full stop first (3× faster than testing every position); _unglue then spares abbreviations and URLs.
_GLUED = re.compile(r"[.!?](?<=[a-zà-ÿ0-9\)»\"”]{2}[.!?])[\"»”]?(?=[A-ZÀ-ÖØ-Þ][a-zà-ÿ])")
# Abbreviations written before a name ("Mme.Dupont" is a missing space, not two sentences), folded.
_ABBREVIATIONS = frozenset("mme mmes mlle mlles mgr dr pr me st ste cf bd".split())
# A glued "www.Word" or a dot inside a URL or handle ("https://site.fr/Page.Suite") is no sentence end; one after a
# closing bracket or quote is ("(www.site.com).Les postulants").
_URLISH = re.compile(r"(?:^|\W)www$|(?:://|@)\S*\w$", re.IGNORECASE)


def _unglue(match: re.Match) -> str:
    text, start = match.string, match.start()
    before = text[max(0, start - 200) : start].rsplit(None, 1)[-1]
    if before.rsplit(".", 1)[-1].lower() in _ABBREVIATIONS or _URLISH.search(before):
        return match.group()
    glued = match.group()
    if glued.endswith('"'):
        # A straight quote after a full stop closes a quotation or opens the next one ('continuent."Gilets jaunes"
        # : les…'): an even number of them before it in the paragraph means it opens one.
        paragraph = text[max(text.rfind("\n", 0, start), start - 5000, 0) : start]
        if paragraph.count('"') % 2 == 0:
            return glued[:-1] + ' "'
    return glued + " "


def _squeeze(line: str) -> str:
    if any(odd in line for odd in _ODD_SPACES):
        return _SPACES.sub(" ", line)
    return line


def clean_text(text: str) -> str:
    """Normalise spaces, unglue sentences and keep paragraphs separated by one blank line."""
    text = html.unescape(text) if "&" in text else text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _GLUED.sub(_unglue, text)
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [_squeeze(line).strip() for line in block.split("\n")]
        block = " ".join(line for line in lines if line)
        if block:
            paragraphs.append(block)
    return "\n\n".join(paragraphs)


def clean_line(text: str) -> str:
    """Collapse a one-line value (title, author) to single spaces."""
    return _SPACES.sub(" ", html.unescape(text or "")).replace("\n", " ").strip()


def clean_tags(tags) -> list[str]:
    """Return tags as a list of trimmed strings, deduplicated by folded value, order kept."""
    if isinstance(tags, str):
        tags = re.split(r"[,;|]", tags)
    if not isinstance(tags, (list, tuple)):
        return []
    seen, out = set(), []
    for tag in tags:
        if not isinstance(tag, str):
            continue
        tag = clean_line(tag).replace(",", " ").strip()
        key = tag_key(tag)
        if tag and key and key not in seen:
            seen.add(key)
            out.append(tag)
    return out


def tag_key(tag: str) -> str:
    """Return the key of a tag, blind to case, accents and plurals ("Grèves" and "grève" give "greve")."""
    # Plurals only: the feminine rules of light_stem would make keys of stems ("economie" → "economi") that show in
    # URLs, and tags hardly ever differ by gender.
    from unidecode import unidecode

    from .analysis import singular

    return " ".join(singular(word) for word in re.findall(r"[a-z0-9]+", unidecode(tag).lower()))


def iso_date(value) -> str:
    """Return an ISO 8601 string for a date value, or '' when it cannot be read."""
    if not value or not isinstance(value, str):
        return ""
    moment = parse_iso(value)
    return moment.isoformat() if moment else ""


def note_unplaced(warnings: Notes | None, where: str, raw: str) -> None:
    """Warn that a date given in a file could not be placed, so its article is undated."""
    if warnings is not None:
        warnings.add(where, f"date {raw[:40]!r} cannot be placed (unreadable, or outside 1800–2200): undated")


# --- scraped plain text ---------------------------------------------------------------------

FURNITURE = {
    "acceder au contenu principal",
    "aller au contenu",
    "aller au contenu principal",
    "passer au contenu",
    "skip to content",
    "pin it",
    "partager",
    "partager sur facebook",
    "partager sur twitter",
    "tweeter",
    "imprimer",
    "menu",
    "rechercher",
    "publicite",
}
END_MARKERS = {
    "vous pouvez aussi aimer",
    "vous pourriez aussi aimer",
    "vous aimerez aussi",
    "articles similaires",
    "sur le meme sujet",
    "a lire aussi",
    "lire aussi",
    "articles recommandes",
}
_IMAGE_LINE = re.compile(r"^\S+\.(?:jpe?g|png|gif|webp|svg|avif|bmp)$", re.IGNORECASE)
_DATE_LINE = re.compile(
    r"^(?:(?:publi[ée]\s+le|mis\s+[àa]\s+jour\s+le|mise\s+[àa]\s+jour\s+le|date\s*:|le)\s*)?"
    rf"(?:(?:{'|'.join(WEEKDAYS)})\s+)?"
    r"\d{1,2}(?:er)?\s+\w+\s+\d{4}(?:\s+(?:[àa]\s+)?\d{1,2}\s*[h:]\s*\d{0,2})?\.?$",
    re.IGNORECASE,
)
_PUBLISHED = re.compile(r"\b(?:publi[ée]|mis\s+[àa]\s+jour|mise\s+[àa]\s+jour)\s+le\b", re.IGNORECASE)
_TAGS_LINE = re.compile(r"^(?:mots[- ]cl[ée]s|tags|th[èe]mes|sujets)\s*:\s*(.+)$", re.IGNORECASE)
_AUTHOR_LINE = re.compile(r"^par\s+([^,\d]{3,60})$", re.IGNORECASE)


def _plain(line: str) -> str:
    from .analysis import fold

    return " ".join(fold(w) for w in line.split())


def parse_text(text: str, path: str, warnings: Notes | None = None) -> Article:
    """Parse a scraped article: headline once, no page furniture, nothing after the related-articles block."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    title, date, tags, author = "", "", [], ""
    paragraphs: list[str] = []
    for line in lines:
        if not line:
            continue
        plain = _plain(line)
        if plain in END_MARKERS:
            break
        if plain in FURNITURE or _IMAGE_LINE.match(line):
            continue
        if not date and (_DATE_LINE.match(line) or (_PUBLISHED.search(line) and len(line) < 120)):
            moment = parse_french_date(line)
            if moment:
                date = moment.isoformat()
                continue
            if _DATE_LINE.match(line):  # a date line, but no date that can be placed ("1er janvier 9999")
                note_unplaced(warnings, path, line)
                continue
        tag_match = _TAGS_LINE.match(line)
        if tag_match:
            tags = clean_tags(tag_match.group(1))
            continue
        if not title:
            title = line
            continue
        if line == title and not paragraphs:
            continue  # the scraper copies the headline twice
        author_match = _AUTHOR_LINE.match(line)
        if author_match and not paragraphs and not author:
            author = author_match.group(1).strip()
            continue
        paragraphs.append(line)
    body = clean_text("\n\n".join(paragraphs))
    if not title and not body:
        raise ParseError(f"{path}: no text")
    if not body:
        raise ParseError(f"{path}: no article text after the headline")
    return Article(id=article_id("", "", path), title=title, body=body, date=date, tags=tags, author=author, path=path)


# --- HTML pages -----------------------------------------------------------------------------

_META_RE = re.compile(r"<meta\b[^>]*>", re.IGNORECASE)
_ATTR_RE = re.compile(r"""([a-zA-Z:_-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_CANONICAL_RE = re.compile(r"<link\b[^>]*rel=[\"']?canonical[^>]*>", re.IGNORECASE)
_CHARSET_RE = re.compile(rb"""<meta[^>]+charset=["']?([a-zA-Z0-9_-]+)""", re.IGNORECASE)
_BYLINE_RE = re.compile(r"^[^\n]{0,80}\b(?:publi[ée]|mis\s+[àa]\s+jour)\s+le\s+[^\n]{0,60}$", re.IGNORECASE)
_SITE_SUFFIX = re.compile(r"\s*(?:[|\-–—]\s*[^|\-–—]{2,40}|:\s*actualit[ée] automobile, infos, scoop)\s*$")


# A chapeau (lead paragraph) marked as such: by its class, as an <h2> right under the headline, or as the bold
# opening of the first paragraph (<p><strong>…</strong><br/>, as on actu.orange.fr).
_LEAD_CLASS_RE = re.compile(
    r"<(p|div|h2|h3|section)\b[^>]*\bclass\s*=\s*[\"'](?:[^\"']*[\s-])?(?:chapo|chapeau|lead|standfirst|intro)"
    r"(?:[\s-][^\"']*)?[\"'][^>]*>(.*?)</\1\s*>",
    re.IGNORECASE | re.DOTALL,
)
_H1_END_RE = re.compile(r"</h1\s*>", re.IGNORECASE)
_LEAD_H2_RE = re.compile(r"\s*<h2\b[^>]*>(.*?)</h2\s*>", re.IGNORECASE | re.DOTALL)
_FIRST_P_RE = re.compile(r"<p>(.*?)</p\s*>", re.IGNORECASE | re.DOTALL)
_BOLD_OPENING_RE = re.compile(r"\s*<(strong|b)>(.*?)</\1>\s*(?:<br\s*/?>|$)", re.IGNORECASE | re.DOTALL)
# Fewer words than this is an intertitle or a kicker, not a chapeau.
MIN_LEAD_WORDS = 8


def _chapeau(page: str) -> str:
    """Return the text of a page's chapeau when its markup marks one, else ''."""
    start = page.lower().find("<body")
    h1 = _H1_END_RE.search(page, max(start, 0))
    candidates = [m.group(2) for m in itertools.islice(_LEAD_CLASS_RE.finditer(page, max(start, 0)), 3)]
    if h1:
        under = _LEAD_H2_RE.match(page, h1.end())
        first = _FIRST_P_RE.search(page, h1.end())
        bold = _BOLD_OPENING_RE.match(first.group(1)) if first else None
        candidates += [m.group(2) if m is bold else m.group(1) for m in (under, bold) if m]
    for fragment in candidates:
        text = clean_text(html_to_text(fragment))
        if len(text.split()) >= MIN_LEAD_WORDS:
            return text
    return ""


def _without_lead(body: str, lead: str) -> str:
    """Return body without the lead it opens with (spaces and glued sentences aside), else body as it is."""
    pattern = r"\s*".join(re.escape(word) for word in lead.split())
    match = re.match(r"\s*" + pattern, body)
    rest = body[match.end() :].lstrip() if match else body
    return rest if len(rest.split()) >= MIN_HTML_WORDS else body


def _repeats_opening(description: str, text: str) -> bool:
    """Tell whether description is the opening of text, maybe cut short mid-word ("…villages du Ga...")."""
    said = description.rstrip(".… ").split()[:12]
    opening = text.split()[: len(said)]
    return bool(said) and said[:-1] == opening[:-1] and opening[-1].startswith(said[-1])


def _attrs(tag: str) -> dict:
    return {
        m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "") for m in _ATTR_RE.finditer(tag)
    }


def _meta(page: str) -> dict[str, list[str]]:
    metas: dict[str, list[str]] = {}
    for tag in _META_RE.findall(page):
        attrs = _attrs(tag)
        key = attrs.get("property") or attrs.get("name") or attrs.get("itemprop")
        if key and "content" in attrs:
            metas.setdefault(key.lower(), []).append(attrs["content"].strip())
    return metas


def decode_html(data: bytes, where: str, warnings: Notes | None = None) -> str:
    """Decode an HTML page by its declared charset, else by the text rules."""
    match = _CHARSET_RE.search(data[:4096])
    if match:
        charset = match.group(1).decode("ascii").lower()
        if charset not in ("utf-8", "utf8"):
            try:
                return data.decode("cp1252" if charset in ("iso-8859-1", "latin-1", "windows-1252") else charset)
            except (LookupError, UnicodeDecodeError):
                pass
    return decode(data, where, warnings)


def parse_html(page: str, path: str, warnings: Notes | None = None) -> Article:
    """Extract an article from an HTML page: metadata from its head, main text by trafilatura."""
    try:
        import trafilatura  # slow to import; only HTML needs it
    except ImportError as exc:
        raise environment_error(exc) from None

    meta = _meta(page)

    def first(*keys):
        for key in keys:
            for value in meta.get(key, []):
                if value:
                    return value
        return ""

    try:
        extracted = trafilatura.bare_extraction(
            page, with_metadata=True, include_comments=False, include_tables=False, favor_precision=True
        )
    except Exception as exc:  # trafilatura raises many kinds on broken markup, and ImportError on a broken install
        raise (
            environment_error(exc) or ParseError(f"{path}: HTML could not be parsed ({type(exc).__name__})")
        ) from None
    data = (extracted.as_dict() if hasattr(extracted, "as_dict") else extracted) or {}
    title = clean_line(first("og:title", "twitter:title") or data.get("title") or "")
    if not title:
        match = re.search(r"<title[^>]*>(.*?)</title>", page, re.IGNORECASE | re.DOTALL)
        title = clean_line(_SITE_SUFFIX.sub("", match.group(1))) if match else ""
    text = data.get("text") or ""
    lines = text.split("\n")
    # Drop a leading byline ("6Medias, publié le … à 21h10"), reading the date from it if the head had none.
    byline_date = None
    while lines and (not lines[0].strip() or _BYLINE_RE.match(lines[0].strip()) or lines[0].strip() == title):
        if lines[0].strip() and byline_date is None:
            byline_date = parse_french_date(lines[0])
        lines.pop(0)
    body = clean_text("\n\n".join(lines))
    declared = first("article:published_time", "datepublished", "date", "dc.date", "pubdate")
    date = iso_date(declared)
    if not date and byline_date:
        date = byline_date.isoformat()
    if not date:
        date = iso_date(data.get("date") or "")
    if declared and not date:
        note_unplaced(warnings, path, declared)
    tags = clean_tags(meta.get("article:tag", []) or re.split(r",", first("keywords", "news_keywords")))
    section = first("article:section")
    url = ""
    canonical = _CANONICAL_RE.search(page)
    if canonical:
        url = _attrs(canonical.group()).get("href", "")
    url = url or first("og:url") or data.get("url") or ""
    author = clean_line(first("author", "article:author") or data.get("author") or "")
    if len(body.split()) < MIN_HTML_WORDS:
        raise ParseError(f"{path}: no article text found in the HTML page")
    summary = _chapeau(page)
    if summary:
        body = _without_lead(body, summary)
    else:
        # The description as a fallback, unless it merely repeats the opening of the text (often the whole text, or
        # its first sentence cut short): its words would count twice.
        summary = clean_line(first("description", "og:description"))
        if _repeats_opening(summary, body):
            summary = ""
    return Article(
        id=article_id("", url, path),
        title=title,
        body=body,
        summary=summary,
        url=url,
        date=date,
        tags=tags,
        section=section,
        author=author,
        path=path,
    )


# --- environment errors ---------------------------------------------------------------------

# Modules whose pip package has another name (jusText, under trafilatura, imports lxml.html.clean).
_PACKAGES = {"lxml.html.clean": "lxml_html_clean", "justext": "jusText", "unidecode": "Unidecode"}
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def environment_error(exc: BaseException, data: bool = False) -> DependencyError | None:
    """Return the DependencyError that exc stands for when it comes from the install, not the file being read."""
    # An ImportError, or a missing file inside an installed package (newsearch's own data files included), says
    # nothing about the article: skipping the file for it would skip every file of its kind. With data, any OSError is
    # taken as such (exc came from reading a package's data files).
    if isinstance(exc, DependencyError):
        return exc
    if isinstance(exc, ImportError):
        module = exc.name or ""
        package = _PACKAGES.get(module) or _PACKAGES.get(module.split(".")[0]) or module.split(".")[0] or "?"
        return DependencyError(
            f"missing dependency: the Python package {package} is not installed or broken ({exc}); "
            f"install it (pip install {package}) and run again: the index was not changed"
        )
    filename = getattr(exc, "filename", None)
    if isinstance(exc, OSError) and isinstance(filename, str):
        where = os.path.abspath(filename)
        if data or where.startswith(_PACKAGE_DIR + os.sep) or f"{os.sep}site-packages{os.sep}" in where:
            return DependencyError(
                f"broken install: the data file {where} is missing or unreadable ({exc.strerror}); "
                "reinstall the package that holds it and run again: the index was not changed"
            )
    return None


_PROBE_PAGE = (
    "<html><head><title>Essai</title></head><body><article><h1>Essai</h1>"
    + "<p>Le conseil municipal a voté le budget de la commune pour l’année prochaine, après un long débat.</p>" * 3
    + "</article></body></html>"
)


def probe_html() -> None:
    """Parse a small built-in page, so that a broken HTML toolchain fails here rather than on every page."""
    parse_html(_PROBE_PAGE, "<probe>")


# --- JSON records ---------------------------------------------------------------------------


def _cut(name: str, value: str, most: int, notes: list[str], option: str) -> str:
    if len(value) <= most:
        return value
    notes.append(f"{name} cut to its first {most:,} characters (of {len(value):,}; {option})")
    return value[:most]


def bounded(article: Article, limits: Limits, warnings: Notes | None) -> Article:
    """Return the article within limits: long texts cut, over-long tags dropped, the first limits.tags kept."""
    notes: list[str] = []
    body = _cut("body", article.body, limits.field_chars, notes, "--max-field-mb")
    summary = _cut("summary", article.summary, limits.field_chars, notes, "--max-field-mb")
    lines = {
        name: _cut(name, getattr(article, name), MAX_LINE_CHARS, notes, "a one-line field")
        for name in ("title", "url", "section", "author")
    }
    tags = [t for t in article.tags if len(t) <= limits.tag_chars]
    if len(tags) < len(article.tags):
        notes.append(
            f"{len(article.tags) - len(tags)} tag(s) over {limits.tag_chars} characters dropped (--max-tag-chars)"
        )
    if len(tags) > limits.tags:
        notes.append(f"the first {limits.tags} of {len(tags)} tags kept (--max-tags)")
        tags = tags[: limits.tags]
    if not notes:
        return article
    if warnings is not None:
        warnings.add(article.where or article.path, "; ".join(notes))
    return replace(article, body=body, summary=summary, tags=tags, **lines)


def article_from_record(
    record, path: str, where: str, limits: Limits = DEFAULT_LIMITS, warnings: Notes | None = None
) -> Article:
    """Build an Article from a JSON object; unknown fields are ignored, HTML bodies reduced to text."""
    if not isinstance(record, dict):
        raise ParseError(f"{where}: expected a JSON object, got {type(record).__name__}")

    def text(name):
        value = record.get(name)
        if value is None:
            return ""
        if isinstance(value, (int, float)):
            return str(value)
        if not isinstance(value, str):
            raise ParseError(f"{where}: field {name!r} must be a string")
        return value

    title = clean_line(html_to_text(text("title")))
    body = clean_text(html_to_text(text("body") or text("text") or text("content")))
    summary = clean_text(html_to_text(text("summary")))
    if not title and not body:
        raise ParseError(f"{where}: no title and no body")
    url = text("url").strip()
    given = text("id").strip()  # read before the date: a bad id is the record's error, with no date warning
    raw_date = text("date") or text("published") or text("datePublished")
    date = iso_date(raw_date)
    if raw_date.strip() and not date:
        note_unplaced(warnings, where, raw_date)
    article = Article(
        id=article_id(given, url, where),
        title=title,
        body=body,
        summary=summary,
        url=url,
        date=date,
        tags=clean_tags(record.get("tags") or record.get("keywords") or []),
        section=clean_line(text("section")),
        author=clean_line(text("author")) if not isinstance(record.get("author"), list) else "",
        path=path,
        where=where,
    )
    return bounded(article, limits, warnings)


def parse_json(text: str, path: str, limits: Limits = DEFAULT_LIMITS, warnings: Notes | None = None) -> ParsedFile:
    """Parse a .json file holding one article or a list of them."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"{path}: malformed JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise ParseError(f"{path}: JSON nested too deeply") from None
    records = data if isinstance(data, list) else [data]
    if not records:
        raise ParseError(f"{path}: empty JSON list")
    articles, errors = [], Notes()
    for i, record in enumerate(records):
        where = f"{path}[{i}]" if isinstance(data, list) else path
        try:
            articles.append(article_from_record(record, path, where, limits, warnings))
        except ParseError as exc:
            errors.add(where, str(exc).removeprefix(where + ": "))
    return ParsedFile(articles, errors, warnings if warnings is not None else Notes())


def _lines(fh, most: int, total: int | None, path: str):
    """Yield (line number, line) of a binary stream, None for a line over most bytes (never read whole)."""
    # Raises ParseError once more than total bytes were read.
    seen = 0
    for lineno in itertools.count(1):
        raw = fh.readline(most + 1)
        if not raw:
            return
        seen += len(raw)
        if len(raw) > most and not raw.endswith(b"\n"):
            while True:  # the rest of the long line, in bounded pieces
                piece = fh.readline(MB)
                seen += len(piece)
                if not piece or piece.endswith(b"\n"):
                    break
                if total is not None and seen > total:
                    break
            raw = None
        if total is not None and seen > total:
            raise ParseError(f"{path}: more than {_mb(total)} once decompressed (--max-stream-mb): the rest skipped")
        yield lineno, raw


def jsonl_articles(fh, path: str, errors: Notes, warnings: Notes | None, limits: Limits, total: int | None = None):
    """Yield the articles of a JSONL stream; a bad line (invalid, too deep, too long) goes to errors alone."""
    # The one JSONL reader, for files read whole and streamed alike. Raises ParseError when the stream holds no
    # readable article, and DependencyError when the install (not the line) is broken.
    count = 0
    blank = True
    for lineno, raw in _lines(fh, limits.record_bytes, total, path):
        where = f"{path}:{lineno}"
        if raw is None:
            blank = False
            errors.add(where, f"line longer than {_mb(limits.record_bytes)} (--max-record-mb)")
            continue
        if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue
        blank = False
        try:
            article = article_from_record(json.loads(decode(raw, where, warnings)), path, where, limits, warnings)
        except json.JSONDecodeError as exc:
            errors.add(where, f"malformed JSON ({exc.msg}, column {exc.colno})")
            continue
        except RecursionError:
            errors.add(where, "JSON nested too deeply")
            continue
        except ParseError as exc:
            errors.add(where, str(exc).removeprefix(where + ": "))
            continue
        except Exception as exc:  # a parser bug costs its line, not the file; a broken install stops the run
            broken = environment_error(exc)
            if broken:
                raise broken from None
            errors.add(where, f"parser failure: {type(exc).__name__}: {exc}")
            continue
        count += 1
        yield article
    if blank:
        raise ParseError(f"{path}: empty file")
    if not count and errors:
        raise ParseError(f"{path}: no readable article ({errors[0][1]})")


def parse_jsonl(data: bytes, path: str, limits: Limits = DEFAULT_LIMITS, warnings: Notes | None = None) -> ParsedFile:
    """Parse a .jsonl file read whole: one article per line; a bad line is reported and the others kept."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 cannot be cut at b"\n"
        data = decode(data, path).encode("utf-8")
    errors = Notes()
    warnings = Notes() if warnings is None else warnings
    articles = list(jsonl_articles(io.BytesIO(data), path, errors, warnings, limits))
    return ParsedFile(articles, errors, warnings)


def parse_bytes(data: bytes, path: str, limits: Limits = DEFAULT_LIMITS) -> ParsedFile:
    """Parse the content of a file named path into articles."""
    name = path.lower()
    if not data.strip():
        raise ParseError(f"{path}: empty file")
    warnings = Notes()
    if name.endswith(JSONL_SUFFIXES):
        return parse_jsonl(data, path, limits, warnings)
    if name.endswith(HTML_SUFFIXES):
        if len(data) > limits.html_bytes:
            warnings.add(path, f"page cut to its first {_mb(limits.html_bytes)} before parsing (--max-html-mb)")
            data = data[: limits.html_bytes]
        article = parse_html(decode_html(data, path, warnings), path, warnings)
        return ParsedFile([bounded(article, limits, warnings)], warnings=warnings)
    text = decode(data, path, warnings)
    if not text.strip():
        raise ParseError(f"{path}: empty file")
    if name.endswith(JSON_SUFFIXES):
        result = parse_json(text, path, limits, warnings)
    elif name.endswith(TEXT_SUFFIXES):
        # The body is cut at field_chars anyway: what lies far beyond it need not be parsed at all.
        if len(text) > 2 * limits.field_chars:
            warnings.add(path, f"text cut to its first {2 * limits.field_chars:,} characters (--max-field-mb)")
            text = text[: 2 * limits.field_chars]
        result = ParsedFile([bounded(parse_text(text, path, warnings), limits, warnings)], warnings=warnings)
    else:
        raise ParseError(f"{path}: unsupported file type (expected .txt, .html, .htm, .json or .jsonl)")
    if not result.articles and result.errors:
        raise ParseError(f"{path}: no readable article ({result.errors[0][1]})")
    return result


def file_digest(path: Path, limits: Limits = DEFAULT_LIMITS) -> str:
    """Return the sha256 of a file's content (decompressed for *.gz), read in chunks: what read_bytes hashes."""
    digest = hashlib.sha256()
    seen = 0
    try:
        with _open_binary(path) as fh:
            while chunk := fh.read(MB):
                seen += len(chunk)
                if seen > limits.stream_bytes:
                    raise ParseError(
                        f"{path}: more than {_mb(limits.stream_bytes)} once decompressed (--max-stream-mb)"
                    )
                digest.update(chunk)
    except _READ_ERRORS as exc:
        raise _read_error(path, exc) from None
    return digest.hexdigest()


def streamable(path: Path, min_bytes: int = DEFAULT_INDEX_TUNING.stream_min_bytes) -> bool:
    """Tell whether a file is a big JSONL file (min_bytes or more, or gzipped), read line by line rather than whole."""
    name = path.name.lower()
    if not name.endswith(JSONL_SUFFIXES):
        return False
    try:
        if path.stat().st_size < min_bytes and not name.endswith(".gz"):
            return False
        with _open_binary(path) as fh:
            head = fh.read(4)
    except (*_READ_ERRORS, ParseError):
        return False  # read_bytes reports it
    # UTF-16 cannot be split at b"\n": such files are read whole.
    return not head.startswith((b"\xff\xfe", b"\xfe\xff"))


def iter_jsonl(
    path: Path,
    errors: list,
    warnings: Notes | None = None,
    limits: Limits = DEFAULT_LIMITS,
    on_read: Callable[[int], None] | None = None,
):
    """Yield the articles of a big JSONL file line by line (jsonl_articles), appending bad lines to errors."""
    # Lines are decoded one by one, so a big file never sits whole in memory. on_read is told how many bytes of the
    # file (compressed, for a .gz) were read whenever that grows. Raises ParseError when the file holds no readable
    # article or cannot be read.
    notes = errors if isinstance(errors, Notes) else Notes()
    try:
        with _open_binary(path) as fh:
            # A GzipFile reads from the BufferedReader below it, which reads from the DeadlineReader counting bytes.
            raw = getattr(fh, "fileobj", fh).raw
            told = 0
            for article in jsonl_articles(fh, str(path), notes, warnings, limits, limits.stream_bytes):
                if on_read is not None and raw.consumed != told:
                    told = raw.consumed
                    on_read(told)
                yield article
    except _READ_ERRORS as exc:
        raise _read_error(path, exc) from None
    finally:
        if notes is not errors:
            errors.extend(notes)


def parse_file(path, limits: Limits = DEFAULT_LIMITS) -> ParsedFile:
    """Read and parse one file; raises ParseError when nothing in it can be used."""
    path = Path(path)
    return parse_bytes(read_bytes(path, limits), str(path), limits)

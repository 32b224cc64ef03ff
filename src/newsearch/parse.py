"""Article files in, `Article` records out: scraped text, HTML pages, JSON and JSONL."""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import re
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from .dates import parse_french_date, parse_iso
from .errors import ParseError

TEXT_SUFFIXES = (".txt",)
HTML_SUFFIXES = (".html", ".htm")
JSON_SUFFIXES = (".json", ".json.gz")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + JSON_SUFFIXES + JSONL_SUFFIXES

MAX_FILE_BYTES = 2 * 1024**3
# JSONL files above this size (decompressed or not) are read line by line, so memory does not grow with them.
STREAM_MIN_BYTES = 4 * 1024**2
# Fewer words than this in an HTML page's extracted text is a menu or an error page, not an article.
MIN_HTML_WORDS = 5


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

    def to_dict(self) -> dict:
        """Return the article as plain data."""
        return asdict(self)


@dataclass
class ParsedFile:
    """The articles of one file and the records of it that could not be read."""

    articles: list[Article]
    errors: list[tuple[str, str]] = field(default_factory=list)


def stable_id(kind: str, value: str) -> str:
    """Return a short stable id derived from a URL or a path."""
    return f"{kind}-" + hashlib.sha1(value.encode("utf-8")).hexdigest()[:16]


def supported(path: Path) -> bool:
    """Tell whether newsearch knows how to read this file by its name."""
    name = path.name.lower()
    return name.endswith(SUPPORTED_SUFFIXES)


# --- decoding -------------------------------------------------------------------------------


def decode(data: bytes, where: str) -> str:
    """Decode bytes as UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252/Latin-1; refuse binary."""
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
    # French files not in UTF-8 are nearly always Windows-1252; its five undefined bytes fall back to Latin-1.
    return data.decode("cp1252", errors="strict") if _is_cp1252(data) else data.decode("latin-1")


def _is_cp1252(data: bytes) -> bool:
    return not any(b in data for b in (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d"))


_READ_ERRORS = (OSError, EOFError, gzip.BadGzipFile)


def _read_error(path: Path, exc: BaseException) -> ParseError:
    """Return the ParseError saying why a file (or its gzip stream) could not be read."""
    return ParseError(f"{path}: cannot read: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}")


def read_bytes(path: Path) -> bytes:
    """Read a file, transparently gunzipping *.gz."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ParseError(f"{path}: file too large")
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except _READ_ERRORS as exc:
        raise _read_error(path, exc) from None


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
# "…euros.Le gouvernement": a sentence glued to the next one by the scraper. The lookbehind comes after the
# full stop, so that the regex engine scans for the full stop first (3× faster than testing every position).
_GLUED = re.compile(r"([.!?])(?<=[a-zà-ÿ0-9\)»\"]{2}[.!?])(?=[A-ZÀ-ÖØ-Þ][a-zà-ÿ])")


def _squeeze(line: str) -> str:
    if any(odd in line for odd in _ODD_SPACES):
        return _SPACES.sub(" ", line)
    return line


def clean_text(text: str) -> str:
    """Normalise spaces, unglue sentences and keep paragraphs separated by one blank line."""
    text = html.unescape(text) if "&" in text else text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _GLUED.sub(r"\1 ", text)
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
    """Return the case- and accent-insensitive key of a tag ("Santé" and "SANTE" give "sante")."""
    from unidecode import unidecode

    return " ".join(re.findall(r"[a-z0-9]+", unidecode(tag).lower()))


def iso_date(value) -> str:
    """Return an ISO 8601 string for a date value, or '' when it cannot be read."""
    if not value or not isinstance(value, str):
        return ""
    moment = parse_iso(value)
    return moment.isoformat() if moment else ""


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
    r"(?:(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\s+)?"
    r"\d{1,2}(?:er)?\s+\w+\s+\d{4}(?:\s+(?:[àa]\s+)?\d{1,2}\s*[h:]\s*\d{0,2})?\.?$",
    re.IGNORECASE,
)
_PUBLISHED = re.compile(r"\b(?:publi[ée]|mis\s+[àa]\s+jour|mise\s+[àa]\s+jour)\s+le\b", re.IGNORECASE)
_TAGS_LINE = re.compile(r"^(?:mots[- ]cl[ée]s|tags|th[èe]mes|sujets)\s*:\s*(.+)$", re.IGNORECASE)
_AUTHOR_LINE = re.compile(r"^par\s+([^,\d]{3,60})$", re.IGNORECASE)


def _plain(line: str) -> str:
    from .analysis import fold

    return " ".join(fold(w) for w in line.split())


def parse_text(text: str, path: str) -> Article:
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
    return Article(id=stable_id("path", path), title=title, body=body, date=date, tags=tags, author=author, path=path)


# --- HTML pages -----------------------------------------------------------------------------

_META_RE = re.compile(r"<meta\b[^>]*>", re.IGNORECASE)
_ATTR_RE = re.compile(r"""([a-zA-Z:_-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_CANONICAL_RE = re.compile(r"<link\b[^>]*rel=[\"']?canonical[^>]*>", re.IGNORECASE)
_CHARSET_RE = re.compile(rb"""<meta[^>]+charset=["']?([a-zA-Z0-9_-]+)""", re.IGNORECASE)
_BYLINE_RE = re.compile(r"^[^\n]{0,80}\b(?:publi[ée]|mis\s+[àa]\s+jour)\s+le\s+[^\n]{0,60}$", re.IGNORECASE)
_SITE_SUFFIX = re.compile(r"\s*(?:[|\-–—]\s*[^|\-–—]{2,40}|:\s*actualit[ée] automobile, infos, scoop)\s*$")


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


def decode_html(data: bytes, where: str) -> str:
    """Decode an HTML page by its declared charset, else by the text rules."""
    match = _CHARSET_RE.search(data[:4096])
    if match:
        charset = match.group(1).decode("ascii").lower()
        if charset not in ("utf-8", "utf8"):
            try:
                return data.decode("cp1252" if charset in ("iso-8859-1", "latin-1", "windows-1252") else charset)
            except (LookupError, UnicodeDecodeError):
                pass
    return decode(data, where)


def parse_html(page: str, path: str) -> Article:
    """Extract an article from an HTML page: metadata from its head, main text by trafilatura."""
    import trafilatura  # slow to import; only HTML needs it

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
    except Exception as exc:  # trafilatura raises many kinds on broken markup
        raise ParseError(f"{path}: HTML could not be parsed ({type(exc).__name__})") from None
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
    date = iso_date(first("article:published_time", "datepublished", "date", "dc.date", "pubdate"))
    if not date and byline_date:
        date = byline_date.isoformat()
    if not date:
        date = iso_date(data.get("date") or "")
    tags = clean_tags(meta.get("article:tag", []) or re.split(r",", first("keywords", "news_keywords")))
    section = first("article:section")
    url = ""
    canonical = _CANONICAL_RE.search(page)
    if canonical:
        url = _attrs(canonical.group()).get("href", "")
    url = url or first("og:url") or data.get("url") or ""
    author = clean_line(first("author", "article:author") or data.get("author") or "")
    summary = clean_line(first("description", "og:description"))
    if len(body.split()) < MIN_HTML_WORDS:
        raise ParseError(f"{path}: no article text found in the HTML page")
    # A description that merely repeats the first lines of the body would count those words twice.
    if summary and body.startswith(summary[:60]):
        summary = ""
    return Article(
        id=stable_id("url", url) if url else stable_id("path", path),
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


# --- JSON records ---------------------------------------------------------------------------


def article_from_record(record, path: str, where: str) -> Article:
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
    given = text("id").strip()
    article_id = given or (stable_id("url", url) if url else stable_id("path", where))
    return Article(
        id=article_id,
        title=title,
        body=body,
        summary=summary,
        url=url,
        date=iso_date(text("date") or text("published") or text("datePublished")),
        tags=clean_tags(record.get("tags") or record.get("keywords") or []),
        section=clean_line(text("section")),
        author=clean_line(text("author")) if not isinstance(record.get("author"), list) else "",
        path=path,
    )


def parse_json(text: str, path: str) -> ParsedFile:
    """Parse a .json file holding one article or a list of them."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"{path}: malformed JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    records = data if isinstance(data, list) else [data]
    if not records:
        raise ParseError(f"{path}: empty JSON list")
    articles, errors = [], []
    for i, record in enumerate(records):
        where = f"{path}[{i}]" if isinstance(data, list) else path
        try:
            articles.append(article_from_record(record, path, where))
        except ParseError as exc:
            errors.append((where, str(exc).removeprefix(where + ": ")))
    return ParsedFile(articles, errors)


def parse_jsonl(text: str, path: str) -> ParsedFile:
    """Parse a .jsonl file: one article per line; a bad line is reported and the others kept."""
    articles, errors = [], []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append((where, f"malformed JSON ({exc.msg}, column {exc.colno})"))
            continue
        try:
            articles.append(article_from_record(record, path, where))
        except ParseError as exc:
            errors.append((where, str(exc).removeprefix(where + ": ")))
    return ParsedFile(articles, errors)


def parse_bytes(data: bytes, path: str) -> ParsedFile:
    """Parse the content of a file named path into articles."""
    name = path.lower()
    if not data.strip():
        raise ParseError(f"{path}: empty file")
    if name.endswith(HTML_SUFFIXES):
        return ParsedFile([parse_html(decode_html(data, path), path)])
    text = decode(data, path)
    if not text.strip():
        raise ParseError(f"{path}: empty file")
    if name.endswith(JSONL_SUFFIXES):
        result = parse_jsonl(text, path)
    elif name.endswith(JSON_SUFFIXES):
        result = parse_json(text, path)
    elif name.endswith(TEXT_SUFFIXES):
        result = ParsedFile([parse_text(text, path)])
    else:
        raise ParseError(f"{path}: unsupported file type (expected .txt, .html, .htm, .json or .jsonl)")
    if not result.articles and result.errors:
        raise ParseError(f"{path}: no readable article ({result.errors[0][1]})")
    return result


def _open_binary(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def file_digest(path: Path) -> str:
    """Return the sha256 of a file's content (decompressed for *.gz), read in chunks: what read_bytes hashes."""
    digest = hashlib.sha256()
    try:
        with _open_binary(path) as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except _READ_ERRORS as exc:
        raise _read_error(path, exc) from None
    return digest.hexdigest()


def streamable(path: Path) -> bool:
    """Tell whether a file is a big JSONL file, read line by line rather than whole."""
    name = path.name.lower()
    if not name.endswith(JSONL_SUFFIXES):
        return False
    try:
        if path.stat().st_size < STREAM_MIN_BYTES and not name.endswith(".gz"):
            return False
        with _open_binary(path) as fh:
            head = fh.read(4)
    except _READ_ERRORS:
        return False  # read_bytes reports it
    # UTF-16 cannot be split at b"\n": such files are read whole.
    return not head.startswith((b"\xff\xfe", b"\xfe\xff"))


def iter_jsonl(path: Path, errors: list[tuple[str, str]]):
    """Yield the articles of a JSONL file line by line, appending unreadable lines to errors.

    Lines are decoded one by one (UTF-8, else cp1252/Latin-1), so a big file never sits whole in memory.
    Raises ParseError when the file holds no readable article.
    """
    key = str(path)
    count = 0
    blank = True
    try:
        with _open_binary(path) as fh:
            for lineno, raw in enumerate(fh, 1):
                if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if not raw.strip():
                    continue
                blank = False
                where = f"{key}:{lineno}"
                try:
                    record = json.loads(decode(raw, where))
                except json.JSONDecodeError as exc:
                    errors.append((where, f"malformed JSON ({exc.msg}, column {exc.colno})"))
                    continue
                except ParseError as exc:
                    errors.append((where, str(exc).removeprefix(where + ": ")))
                    continue
                try:
                    article = article_from_record(record, key, where)
                except ParseError as exc:
                    errors.append((where, str(exc).removeprefix(where + ": ")))
                    continue
                except Exception as exc:  # a parser bug costs its line, not the file
                    errors.append((where, f"parser failure: {type(exc).__name__}: {exc}"))
                    continue
                count += 1
                yield article
    except _READ_ERRORS as exc:
        raise _read_error(path, exc) from None
    if blank:
        raise ParseError(f"{path}: empty file")
    if not count and errors:
        raise ParseError(f"{path}: no readable article ({errors[0][1]})")


def parse_file(path) -> ParsedFile:
    """Read and parse one file; raises ParseError when nothing in it can be used."""
    path = Path(path)
    return parse_bytes(read_bytes(path), str(path))

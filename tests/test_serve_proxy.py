"""`newsearch serve` behind a reverse proxy, over real HTTP: URL prefix, forwarded headers, access log, /healthz."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import lxml.etree
import lxml.html
import pytest

from newsearch.export import Export
from newsearch.indexer import Indexer
from newsearch.search import SearchRequest
from newsearch.store import IndexStore
from newsearch.web import create_app
from newsearch.wsgi import common_log_line, request_line

NEWSEARCH = Path(sys.executable).with_name("newsearch")
# host ident user [day/Mon/year:hh:mm:ss zone] "request" status bytes
CLF = re.compile(r'^(\S+) - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "([^"]*)" (\d{3}) (\d+|-)$')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `newsearch serve` process on a loopback port."""

    def __init__(self, index, tmp_path, *options):
        self.port = free_port()
        self.log = tmp_path / f"access-{self.port}.log"
        args = [NEWSEARCH, "serve", "--index", index, "--port", self.port, "--access-log", self.log, *options]
        self.process = subprocess.Popen([str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert self.process.poll() is None, self.process.stderr.read().decode()
                time.sleep(0.1)
        raise AssertionError("newsearch serve did not start")

    def get(self, path, headers=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def log_lines(self):
        time.sleep(0.2)  # the line is written once the body has gone out
        return self.log.read_text(encoding="utf-8").splitlines()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def prefixed(sample_index, tmp_path_factory):
    server = Server(sample_index, tmp_path_factory.mktemp("prefixed"), "--url-prefix", "/news")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxied(sample_index, tmp_path_factory):
    server = Server(sample_index, tmp_path_factory.mktemp("proxied"), "--proxies", "1")
    yield server
    server.stop()


FORWARDED = {
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "presse.example",
    "X-Forwarded-Prefix": "/recherche",
}


def test_a_url_prefix_serves_every_page_and_link_under_it(prefixed):
    status, _, body = prefixed.get("/news/?q=gr%C3%A8ve")
    assert status == 200
    page = lxml.html.fromstring(body)
    links = page.xpath("//a/@href | //link/@href | //script/@src | //form/@action")
    internal = [link for link in links if link.startswith("/")]
    assert internal and all(link.startswith("/news/") for link in internal), internal
    for link in {link.split("?")[0] for link in internal}:
        assert prefixed.get(link)[0] == 200, link
    assert prefixed.get("/?q=gr%C3%A8ve")[0] == 404  # outside the prefix


def test_healthz_says_the_index_opens_and_counts_its_articles(prefixed):
    status, headers, body = prefixed.get("/news/healthz")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"status": "ok", "index": True, "documents": 49, "generation": "gen-000001"}


def test_the_access_log_has_one_common_format_line_per_request(prefixed):
    before = len(prefixed.log_lines())
    status, headers, body = prefixed.get("/news/api/search?q=r%C3%A9forme&limit=2")
    missing = prefixed.get("/news/nulle-part")
    lines = prefixed.log_lines()[before:]
    assert len(lines) == 2
    host, line, code, size = CLF.match(lines[0]).groups()
    assert (host, line, code, int(size)) == ("127.0.0.1", "GET /news/api/search?q=r%C3%A9forme&limit=2 HTTP/1.1",
                                             "200", len(body))  # fmt: skip
    assert CLF.match(lines[1]).group(3) == str(missing[0]) == "404"


def test_a_streamed_export_is_logged_with_every_byte_sent(prefixed, engine):
    before = len(prefixed.log_lines())
    status, headers, body = prefixed.get("/news/api/search.csv?q=")
    assert status == 200 and headers.get("Transfer-Encoding") == "chunked"
    rows = len(list(Export(engine, SearchRequest()).hits()))
    assert body.decode("utf-8").count("\r\n") == 1 + rows
    (line,) = prefixed.log_lines()[before:]
    assert CLF.match(line).group(4) == str(len(body))


def test_forwarded_headers_are_honoured_when_proxies_are_trusted(proxied):
    status, _, body = proxied.get("/opensearch.xml", FORWARDED)
    root = lxml.etree.fromstring(body)
    templates = root.xpath("//*[local-name()='Url']/@template")
    assert templates and all(t.startswith("https://presse.example/recherche/") for t in templates), templates
    page = lxml.html.fromstring(proxied.get("/?q=gr%C3%A8ve", FORWARDED)[2])
    assert page.xpath('//link[@rel="search"]/@href') == ["/recherche/opensearch.xml"]
    assert CLF.match(proxied.log_lines()[-1]).group(1) == "203.0.113.9"


def test_forwarded_headers_are_ignored_by_default(prefixed):
    root = lxml.etree.fromstring(prefixed.get("/news/opensearch.xml", FORWARDED)[2])
    templates = root.xpath("//*[local-name()='Url']/@template")
    assert all(t.startswith(f"http://127.0.0.1:{prefixed.port}/news/") for t in templates), templates
    assert CLF.match(prefixed.log_lines()[-1]).group(1) == "127.0.0.1"


def test_healthz_is_a_503_once_the_index_is_gone(examples_dir, tmp_path):
    Indexer(IndexStore(tmp_path / "index")).run([examples_dir / "json"])
    client = create_app({"INDEX_DIR": str(tmp_path / "index")}).test_client()
    assert client.get("/healthz").status_code == 200
    shutil.rmtree(tmp_path / "index")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "index": False}


def test_a_request_line_cannot_forge_log_lines_or_fields():
    environ = {"REQUEST_METHOD": "GET", "REQUEST_URI": '/?q="x"\n127.0.0.1 - - [x] "GET / HTTP/1.1" 200 1',
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.1"}  # fmt: skip
    assert request_line(environ) == r"GET /?q=\"x\"\x0a127.0.0.1 - - [x] \"GET / HTTP/1.1\" 200 1 HTTP/1.1"
    from datetime import datetime, timedelta, timezone

    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=1)))
    line = common_log_line(environ, "200", 0, moment)
    assert line.startswith('10.0.0.1 - - [04/Mar/2026:05:06:07 +0100] "GET ') and line.endswith(" 200 -")
    assert "\n" not in line

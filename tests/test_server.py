"""`newsearch serve` under load and abuse, for real: admission control, Host validation, waitress's answers, options."""

# The Flask app runs over the sample index, waitress on a free loopback port; raw sockets send what a browser
# never would, and the `newsearch` command itself is started once.

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlencode

import lxml.html
import pytest
from click.testing import CliRunner

from newsearch.admission import COSTLY, Gate, estimate_cost
from newsearch.cli import cli
from newsearch.errors import OverloadedError, ServeError
from newsearch.search import SearchRequest
from newsearch.server import ServeOptions, implied_hosts, make_server
from newsearch.web import SECURITY_HEADERS, create_app, host_name

PASSAGE = "le gouvernement a annoncé mardi de nouvelles mesures pour soutenir les entreprises en difficulté"


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Waitress's own shutdown made to hang, as the exit was once seen held up on a loaded machine.
HANGING_SHUTDOWN = """
import time, waitress.task
waitress.task.ThreadedTaskDispatcher.shutdown = lambda self, *args, **kwargs: time.sleep(3600)
"""
# The signal arrives right after the "serving" line, the moment a user or a test reads it and presses Ctrl-C.
INTERRUPT_AFTER_SERVING_LINE = """
import os, signal, click
echo = click.echo
def echo_then_interrupt(*args, **kwargs):
    echo(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGINT)
click.echo = echo_then_interrupt
"""


def serve_script(tmp_path: Path, index: Path, port: int, prelude: str) -> Path:
    """A script running `newsearch serve` on index and port, after prelude (code that alters the run)."""
    script = tmp_path / "serve.py"
    cli_call = f"cli(['serve', '--index', {str(index)!r}, '--port', '{port}'])\n"
    script.write_text(prelude + "from newsearch.cli import cli\n" + cli_call, encoding="utf-8")
    return script


# --- the cost estimate -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_",
    [
        SearchRequest(q="retraites"),
        SearchRequest(q="gilets jaunes"),
        SearchRequest(q='"réforme des retraites"'),
        SearchRequest(q="OTAN OR NATO -Russie"),
        SearchRequest(q=""),
        SearchRequest(q="grève", tags=["France", "Politique"]),
        SearchRequest(q="hopitale~"),
        SearchRequest(q="france", page=10),
    ],
    ids=lambda r: f"q={r.q!r} tags={len(r.tags)} page={r.page}",
)
def test_everyday_searches_are_estimated_cheap(request_):
    assert estimate_cost(request_) < COSTLY


@pytest.mark.parametrize(
    "request_",
    [
        SearchRequest(q=PASSAGE),
        SearchRequest(q="xqzvbk " * 30),
        SearchRequest(q="hopitale~ gouvernment~ eleciton~"),
        SearchRequest(q="france", tags=["France"] * 60),
        SearchRequest(q="france", page=100, limit=100, sort="recent"),
    ],
    ids=["passage", "200 characters of nonsense", "three fuzzy words", "60 tag filters", "deepest page, recent"],
)
def test_searches_that_do_more_work_are_estimated_costly(request_):
    assert estimate_cost(request_) >= COSTLY


def test_the_estimate_grows_with_the_query_length():
    costs = [estimate_cost(SearchRequest(q="xqzvbk " * n)) for n in (1, 10, 100)]
    assert costs == sorted(costs) and costs[0] < costs[1] < costs[2]


# --- the gate -------------------------------------------------------------------------------------


def test_a_cheap_search_gets_a_slot_while_costly_ones_hold_theirs():
    gate = Gate(slots=2, costly_slots=1, queue=0, costly_queue=0, wait=0)
    with ExitStack() as held:
        assert held.enter_context(gate.admit(COSTLY)) == "costly"
        with pytest.raises(OverloadedError) as refused:
            held.enter_context(gate.admit(COSTLY))
        assert refused.value.status == 503 and refused.value.retry_after >= 1
        assert held.enter_context(gate.admit(1.0)) == "cheap"
        with pytest.raises(OverloadedError):
            held.enter_context(gate.admit(1.0))  # both slots taken now
    assert gate.running == {"cheap": 0, "costly": 0} and gate.refused == 2


@contextmanager
def waiting_in(gate: Gate, cost: float):
    """Start a search that has to wait for a slot; yield the list its lane (or its error) lands in."""
    outcome = []

    def run():
        try:
            with gate.admit(cost) as lane:
                outcome.append(lane)
        except OverloadedError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    with gate._cond:
        gate._cond.wait_for(lambda: gate.waiting["cheap"] + gate.waiting["costly"] or outcome, timeout=5)
    try:
        yield outcome
    finally:
        thread.join(5)


def test_a_full_queue_turns_searches_away_and_a_freed_slot_admits_the_one_waiting():
    gate = Gate(slots=1, costly_slots=1, queue=1, costly_queue=1, wait=30)
    with ExitStack() as held:
        held.enter_context(gate.admit(1.0))
        with waiting_in(gate, 1.0) as outcome:
            assert gate.waiting["cheap"] == 1 and outcome == []
            with pytest.raises(OverloadedError):
                held.enter_context(gate.admit(1.0))  # the queue of one is full
            held.close()  # the running search ends: the waiting one takes its slot
        assert outcome == ["cheap"]


def test_a_search_that_waits_too_long_is_turned_away():
    gate = Gate(slots=1, costly_slots=1, queue=4, costly_queue=4, wait=0.05)
    with gate.admit(COSTLY), waiting_in(gate, 1.0) as outcome:
        pass
    assert len(outcome) == 1 and isinstance(outcome[0], OverloadedError)


def test_costly_searches_queue_separately_and_less_deep():
    gate = Gate(slots=1, costly_slots=1, queue=3, costly_queue=1, wait=30)
    with gate.admit(1.0), waiting_in(gate, COSTLY), pytest.raises(OverloadedError):
        with gate.admit(COSTLY):
            pass  # never reached: one costly search already waits
    assert gate.refused == 1


# --- the app: 503s, Host validation ---------------------------------------------------------------


@pytest.fixture
def app_with_gate(sample_index):
    """An app over the sample index whose admission gate the test can fill: 2 slots, 1 costly, no queue."""
    gate = Gate(slots=2, costly_slots=1, queue=0, costly_queue=0, wait=0)
    return create_app({"INDEX_DIR": str(sample_index), "ADMISSION": gate}), gate


def test_a_busy_api_answers_503_in_json_with_retry_after(app_with_gate):
    app, gate = app_with_gate
    with gate.admit(1.0), gate.admit(1.0):
        response = app.test_client().get("/api/search?q=retraites")
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert (response.json["status"], response.json["code"]) == (503, "overloaded") and "retry" in response.json["error"]
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value


def test_a_busy_search_page_answers_in_french_and_keeps_the_query(app_with_gate):
    app, gate = app_with_gate
    with gate.admit(1.0), gate.admit(1.0):
        response = app.test_client().get("/?q=retraites&tag=France")
    assert response.status_code == 503 and response.headers["Retry-After"]
    page = lxml.html.fromstring(response.data)
    assert "Service momentanément surchargé" in page.text_content()
    assert "réessayez" in page.text_content()
    assert page.xpath("//input[@name='q']/@value") == ["retraites"]


def test_a_cheap_search_is_answered_while_the_costly_lane_is_full(app_with_gate, engine):
    app, gate = app_with_gate
    client = app.test_client()
    with gate.admit(COSTLY):
        costly = client.get("/api/search?" + urlencode({"q": PASSAGE}))
        cheap = client.get("/api/search?q=retraites")
    assert costly.status_code == 503
    assert cheap.status_code == 200
    assert cheap.json["total"] == engine.search(SearchRequest(q="retraites")).total


def test_a_query_out_of_bounds_gets_its_400_even_when_the_server_is_busy(app_with_gate):
    app, gate = app_with_gate
    with gate.admit(1.0), gate.admit(1.0):
        response = app.test_client().get("/api/search?" + urlencode({"q": "mot " * 600}))
    assert response.status_code == 400 and response.json["code"] == "query_too_long"


def test_article_pages_go_through_the_gate_too(app_with_gate, engine):
    app, gate = app_with_gate
    article_id = engine.search(SearchRequest(q="")).hits[0]["id"]
    with gate.admit(1.0), gate.admit(1.0):
        assert app.test_client().get(f"/article/{article_id}").status_code == 503
    assert app.test_client().get(f"/article/{article_id}").status_code == 200


@pytest.mark.parametrize(
    "header, name",
    [
        ("localhost", "localhost"),
        ("127.0.0.1:5000", "127.0.0.1"),
        ("[::1]:8080", "::1"),
        ("News.Example.", "news.example"),
        ("my_box", "my_box"),
    ],
)
def test_well_formed_host_headers_are_read_as_host_names(header, name):
    assert host_name(header) == name


@pytest.mark.parametrize("header", [".", "a..b", "x" * 300, "évil.example", "a b", "host:port", "[zz]", "-a.b"])
def test_malformed_host_headers_are_refused(header):
    assert host_name(header) is None


@pytest.mark.parametrize("path", ["/?q=retraites", "/api/search?q=retraites", "/static/app.js", "/article/x"])
def test_a_malformed_host_gets_a_400_never_a_500(sample_index, path):
    client = create_app({"INDEX_DIR": str(sample_index)}).test_client()
    response = client.get(path, headers={"Host": "."})
    assert response.status_code == 400
    assert response.headers["X-Frame-Options"] == "DENY"
    if path.startswith("/api/"):
        assert response.json["code"] == "bad_host" and "Host header" in response.json["error"]
    else:
        assert "ne désigne pas ce serveur" in lxml.html.fromstring(response.data).text_content()


def test_only_allowed_hosts_are_answered(sample_index):
    client = create_app({"INDEX_DIR": str(sample_index), "ALLOWED_HOSTS": ["localhost", "127.0.0.1"]}).test_client()
    assert client.get("/api/search?q=retraites", headers={"Host": "localhost:5000"}).status_code == 200
    assert client.get("/api/search?q=retraites", headers={"Host": "LOCALHOST."}).status_code == 200
    assert client.get("/api/search?q=retraites", headers={"Host": "[::1]:5000"}).status_code == 400
    refused = client.get("/api/search?q=retraites", headers={"Host": "evil.example"})
    assert refused.status_code == 400 and refused.json["status"] == 400


def test_the_allowed_hosts_follow_from_the_listening_address(sample_index):
    assert set(implied_hosts("127.0.0.1")) == {"localhost", "127.0.0.1", "::1"}
    assert set(implied_hosts("::1")) == {"localhost", "127.0.0.1", "::1"}
    loopback = create_app({"INDEX_DIR": str(sample_index), "ALLOWED_HOSTS": implied_hosts("127.0.0.1")}).test_client()
    assert loopback.get("/api/search?q=retraites", headers={"Host": "[::1]:5000"}).status_code == 200
    assert implied_hosts("news.example") == ["news.example"]
    assert implied_hosts("0.0.0.0") is None  # every interface: any well-formed host, unless --allowed-host
    assert ServeOptions(host="0.0.0.0", allowed_hosts=("news.example",)).hosts() == ["news.example"]
    assert ServeOptions(allowed_hosts=("*",)).hosts() is None
    # Behind trusted proxies the public name is theirs: any well-formed host, unless --allowed-host narrows it.
    assert ServeOptions(proxies=1).hosts() is None
    assert ServeOptions(proxies=1, allowed_hosts=("news.example",)).hosts() == ["news.example"]


# --- the waitress server --------------------------------------------------------------------------


@contextmanager
def served(app, **options):
    """Serve app with newsearch's waitress setup on a free loopback port; yield the port."""
    server = make_server(app, ServeOptions(host="127.0.0.1", port=0, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        server.close()
        thread.join(5)


def raw_exchange(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the answer up to the close; return its status, headers and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass  # waitress closes on an error with the request unread: the answer came before the reset
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.fixture(scope="module")
def app(sample_index):
    return create_app({"INDEX_DIR": str(sample_index)})


@pytest.mark.parametrize(
    "data, status",
    [
        (b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 32_800 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 70000\r\n\r\n", 413),
    ],
    ids=["bad Content-Length", "headers over 32 KB", "unknown Transfer-Encoding", "body over 64 KB"],
)
def test_the_answers_waitress_writes_itself_carry_the_security_headers(app, data, status):
    with served(app) as port:
        got, headers, _ = raw_exchange(port, data)
    assert got == status
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, name


def test_a_malformed_host_over_http_gets_a_french_400(app):
    with served(app) as port:
        status, headers, body = raw_exchange(
            port, b"GET /?q=retraites HTTP/1.1\r\nHost: .\r\nConnection: close\r\n\r\n"
        )
    assert status == 400 and headers["X-Content-Type-Options"] == "nosniff"
    assert "ne désigne pas ce serveur" in body.decode("utf-8")


def test_a_flood_gets_503s_while_the_slots_are_held_and_normal_answers_right_after(sample_index):
    gate = Gate(slots=1, costly_slots=1, queue=0, costly_queue=0, wait=0)
    flood_app = create_app({"INDEX_DIR": str(sample_index), "ADMISSION": gate})

    def get(port, query):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/api/search?" + urlencode({"q": query}))
        response = connection.getresponse()
        body = json.loads(response.read())
        connection.close()
        return response.status, response.getheader("Retry-After"), body

    with served(flood_app, threads=8) as port:
        with gate.admit(1.0), ThreadPoolExecutor(40) as pool:
            flood = list(pool.map(lambda i: get(port, f"{PASSAGE} {i}"), range(40)))
        after = get(port, "retraites")
    assert {status for status, _, _ in flood} == {503}
    assert all(retry and int(retry) >= 1 for _, retry, _ in flood)
    assert after[0] == 200 and after[2]["total"] >= 1


# --- the serve command ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--threads", "0"], "--threads must be at least 1"),
        (["--port", "99999"], "--port must be between 1 and 65535"),
        (["--port", "0"], "--port must be between 1 and 65535"),
        (["--threads", "4", "--searches", "5"], "--searches must be between 1 and --threads"),
        (["--connection-limit", "2"], "--connection-limit must be between --threads"),
        (["--connection-limit", str(10**7)], "ulimit -n"),
        (["--channel-timeout", "0"], "--channel-timeout must be at least 1"),
        (["--backlog", "0"], "--backlog must be at least 1"),
        (["--allowed-host", "a..b"], "--allowed-host 'a..b' is not a host name"),
    ],
)
def test_serve_refuses_options_out_of_range_with_exit_code_2(sample_index, args, message):
    result = CliRunner().invoke(cli, ["serve", "--index", str(sample_index), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_serve_without_an_index_exits_3(tmp_path):
    result = CliRunner().invoke(cli, ["serve", "--index", str(tmp_path / "none")])
    assert result.exit_code == 3 and "no index" in result.output


def test_serve_on_a_port_in_use_says_so(sample_index):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--index", str(sample_index), "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output


def test_serve_options_are_validated_in_one_place():
    with pytest.raises(ServeError, match="--threads"):
        ServeOptions(threads=0).validate()
    ServeOptions().validate()  # the defaults are valid


def test_the_serve_command_answers_and_stops_on_ctrl_c(sample_index):
    port = free_port()
    newsearch = Path(sys.executable).with_name("newsearch")
    server = subprocess.Popen(
        [str(newsearch), "serve", "--index", str(sample_index), "--port", str(port), "--threads", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout.readline().startswith(f"newsearch: serving http://127.0.0.1:{port}/")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/api/search?q=retraites", headers={"Host": f"localhost:{port}"})
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())["total"] >= 1
        connection.request("GET", "/", headers={"Host": "evil.example"})
        assert connection.getresponse().status == 400  # --host 127.0.0.1 implies loopback names only
        connection.close()
    finally:
        server.send_signal(subprocess.signal.SIGINT)
        _, errors = server.communicate(timeout=10)
    assert server.returncode == 0, errors
    assert "Traceback" not in errors


def test_ctrl_c_stops_the_server_even_when_its_shutdown_hangs(sample_index, tmp_path):
    port = free_port()
    script = serve_script(tmp_path, sample_index, port, HANGING_SHUTDOWN)
    server = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().startswith(f"newsearch: serving http://127.0.0.1:{port}/")
    finally:
        server.send_signal(subprocess.signal.SIGINT)
        try:
            _, errors = server.communicate(timeout=60)  # a deadline against a hang, not a measure of speed
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
            raise
    assert server.returncode == 0, errors
    assert "Aborted" not in errors


def test_ctrl_c_the_moment_the_server_says_it_is_serving_stops_it_cleanly(sample_index, tmp_path):
    port = free_port()
    script = serve_script(tmp_path, sample_index, port, INTERRUPT_AFTER_SERVING_LINE)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith(f"newsearch: serving http://127.0.0.1:{port}/")
    assert done.returncode == 0, done.stderr
    assert "Aborted" not in done.stderr

"""`newsearch serve`: the web app under waitress, with its limits chosen on purpose and checked before start."""

from __future__ import annotations

import ipaddress
import resource
from dataclasses import dataclass

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask

from .admission import Gate
from .errors import ServeError
from .web import SECURITY_HEADERS, create_app, host_name

# Worker threads kept free of searches, so that a 503, an article or a static file is answered at once.
SPARE_THREADS = 2
# Costly searches that may wait for their slot; the rest of the queue is for cheap ones.
COSTLY_QUEUE = 2
# Waitress would otherwise buffer up to 1 GB of request body before the app can answer 413.
MAX_REQUEST_BODY = 64 * 1024
# The app refuses query strings over 8 KB itself (a French 413); headers beyond this get waitress's 431.
MAX_REQUEST_HEADERS = 32 * 1024
# File descriptors left to the process besides client connections: index files, logs, listening sockets.
RESERVED_FDS = 64
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_HOSTS = ("", "0.0.0.0", "::")


@dataclass
class ServeOptions:
    """How `newsearch serve` listens, how many threads and searches it runs, which Host names it answers."""

    host: str = "127.0.0.1"
    port: int = 5000
    # Every request in progress holds a thread, including one waiting for a search slot.
    threads: int = 16
    # Searches at once; all but one may be costly, so that one is always there for cheap queries (from 2 on).
    searches: int = 2
    # Open client connections; beyond it waitress stops accepting and new ones wait in the backlog.
    connection_limit: int = 400
    # Seconds an idle connection (keep-alive, or a client that stopped sending) is kept open.
    channel_timeout: int = 20
    # Connections the kernel queues before they are accepted.
    backlog: int = 1024
    # Host names to answer for; None: what `host` implies (loopback names, the host itself, any for 0.0.0.0).
    allowed_hosts: tuple[str, ...] | None = None
    # Behind a reverse proxy: the path served under, how many proxies' X-Forwarded-* to trust, the access log file.
    url_prefix: str = ""
    proxies: int = 0
    access_log: str | None = None

    def validate(self) -> None:
        """Raise ServeError naming the first option out of range."""
        if not 1 <= self.port <= 65535:
            raise ServeError(f"--port must be between 1 and 65535 (got {self.port})")
        if self.threads < 1:
            raise ServeError(f"--threads must be at least 1 (got {self.threads})")
        if not 1 <= self.searches <= self.threads:
            raise ServeError(f"--searches must be between 1 and --threads ({self.threads}) (got {self.searches})")
        if self.channel_timeout < 1:
            raise ServeError(f"--channel-timeout must be at least 1 second (got {self.channel_timeout})")
        if self.backlog < 1:
            raise ServeError(f"--backlog must be at least 1 (got {self.backlog})")
        fds = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        most = fds - RESERVED_FDS if fds != resource.RLIM_INFINITY else 1 << 20
        if not self.threads <= self.connection_limit <= most:
            raise ServeError(
                f"--connection-limit must be between --threads ({self.threads}) and {most} "
                f"(the open-file limit {fds} less {RESERVED_FDS}; raise `ulimit -n` for more) "
                f"(got {self.connection_limit})"
            )
        if self.proxies < 0:
            raise ServeError(f"--proxies must be 0 or more (got {self.proxies})")
        if self.url_prefix and not self.url_prefix.startswith("/"):
            raise ServeError(f"--url-prefix must start with / (got {self.url_prefix!r})")
        for name in self.allowed_hosts or ():
            if name != "*" and host_name(name) is None:
                raise ServeError(f"--allowed-host {name!r} is not a host name or address")

    def hosts(self) -> list[str] | None:
        """The Host names to answer for (None: any well-formed one)."""
        if self.allowed_hosts:
            return None if "*" in self.allowed_hosts else list(self.allowed_hosts)
        if self.proxies:
            return None  # the public name is the proxy's (X-Forwarded-Host), not what we listen on
        return implied_hosts(self.host)

    def gate(self) -> Gate:
        """The admission control these options imply: waiting searches may take the threads left over."""
        queue = max(0, self.threads - self.searches - SPARE_THREADS)
        return Gate(slots=self.searches, costly_slots=max(1, self.searches - 1), queue=queue, costly_queue=COSTLY_QUEUE)


def implied_hosts(host: str) -> list[str] | None:
    """The Host names a server listening on `host` is reached by: None (any) for a wildcard address."""
    if host in WILDCARD_HOSTS:
        return None
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = host.lower() == "localhost"
    return sorted({*LOOPBACK_NAMES, host.lower()}) if loopback else [host.lower()]


class _HeaderedErrorTask(ErrorTask):
    """Waitress's own error responses (400, 431, 413, 500) with the headers every Flask response carries."""

    def execute(self):
        self.response_headers.extend(SECURITY_HEADERS.items())
        super().execute()


class _Channel(HTTPChannel):
    error_task_class = _HeaderedErrorTask


def make_server(app, options: ServeOptions):
    """Return a waitress server for app, bound but not yet running (`.run()`, `.close()`)."""
    sockets = {}
    try:
        server = create_server(
            app,
            map=sockets,
            host=options.host,
            port=options.port,
            threads=options.threads,
            connection_limit=options.connection_limit,
            channel_timeout=options.channel_timeout,
            # Idle connections are looked for this often: a timed-out one is closed at most this late.
            cleanup_interval=max(1, options.channel_timeout // 4),
            backlog=options.backlog,
            # select() cannot watch descriptors past 1024; poll() can, which connection limits beyond it need.
            asyncore_use_poll=True,
            max_request_body_size=MAX_REQUEST_BODY,
            max_request_header_size=MAX_REQUEST_HEADERS,
            expose_tracebacks=False,
            # With --proxies, ProxyFix reads the forwarded headers: waitress must pass them on.
            clear_untrusted_proxy_headers=not options.proxies,
            ident="newsearch",
        )
    except OSError as exc:
        raise ServeError(f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc}") from None
    for listener in sockets.values():
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = _Channel
    return server


def build(options: ServeOptions, index_dir=None):
    """Validate the options, open the index, and return the waitress server ready to run."""
    options.validate()
    config = {
        "ALLOWED_HOSTS": options.hosts(),
        "ADMISSION": options.gate(),
        "URL_PREFIX": options.url_prefix,
        "PROXIES": options.proxies,
        "ACCESS_LOG": bool(options.access_log),
    }
    if index_dir:
        config["INDEX_DIR"] = index_dir
    return make_server(create_app(config), options)

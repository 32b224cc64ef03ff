"""WSGI wrappers for serving behind a reverse proxy: a URL prefix, trusted X-Forwarded-* headers, an access log."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from urllib.parse import quote

from werkzeug.exceptions import NotFound
from werkzeug.middleware.proxy_fix import ProxyFix

ACCESS_LOGGER = "newsearch.access"
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
# A request line is written as received but may not forge log lines or fields: quotes, backslashes and
# control characters are escaped as Apache does (\" \\ \xhh).
_UNSAFE = re.compile(r'["\\\x00-\x1f\x7f]')


def clf_time(moment: datetime) -> str:
    """Return a time as the common log format writes it: 10/Oct/2000:13:55:36 -0700 (English months)."""
    return f"{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment:%Y:%H:%M:%S %z}"


def request_line(environ) -> str:
    """Return the request line a client sent ("GET /?q=x HTTP/1.1"), escaped for a log file."""
    target = environ.get("REQUEST_URI") or (
        quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), safe="/;:@&=+$,%~!*'()")
        + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else "")
    )
    line = f"{environ.get('REQUEST_METHOD', '-')} {target} {environ.get('SERVER_PROTOCOL', '-')}"
    return _UNSAFE.sub(lambda m: "\\" + m.group() if m.group() in '"\\' else f"\\x{ord(m.group()):02x}", line)


def common_log_line(environ, status: str, size: int, moment: datetime) -> str:
    """Return one access-log line in the common log format: host ident user [time] "request" status bytes."""
    host = environ.get("REMOTE_ADDR") or "-"
    return f'{host} - - [{clf_time(moment)}] "{request_line(environ)}" {status} {size or "-"}'


class AccessLog:
    """Logs every request in the common log format to a logger, once its body has been sent."""

    def __init__(self, app, logger: logging.Logger | None = None):
        self.app = app
        self.logger = logger or logging.getLogger(ACCESS_LOGGER)

    def __call__(self, environ, start_response):
        moment = datetime.now().astimezone()
        status = ["-"]

        def start(status_line, headers, exc_info=None):
            status[0] = status_line.split(" ", 1)[0]
            return start_response(status_line, headers, exc_info)

        body = self.app(environ, start)
        return self._counted(body, environ, status, moment)

    def _counted(self, body, environ, status, moment):
        size = 0
        try:
            for chunk in body:
                size += len(chunk)
                yield chunk
        finally:
            if hasattr(body, "close"):
                body.close()
            self.logger.info(common_log_line(environ, status[0], size, moment))


def behind_proxy(app, proxies: int):
    """Trust the X-Forwarded-For, -Proto, -Host, -Port and -Prefix headers set by this many proxies in front."""
    return ProxyFix(app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies, x_prefix=proxies)


class UrlPrefix:
    """Serves an app under a path prefix ("/news") that the proxy forwards as it is; other paths are a 404."""

    def __init__(self, app, prefix: str):
        self.app = app
        self.prefix = "/" + prefix.strip("/")

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path != self.prefix and not path.startswith(self.prefix + "/"):
            return NotFound()(environ, start_response)
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.prefix
        environ["PATH_INFO"] = path[len(self.prefix) :] or "/"
        return self.app(environ, start_response)


def wrap(app, prefix: str = "", proxies: int = 0, access_log: bool = False):
    """Return app with the wrappers asked for, in the order that makes each see what it needs."""
    if prefix.strip("/"):
        app = UrlPrefix(app, prefix)
    if access_log:
        app = AccessLog(app)  # outside the prefix, so that its 404s are logged too
    if proxies:
        app = behind_proxy(app, proxies)  # outermost: the log and the prefix see the client's address and path
    return app

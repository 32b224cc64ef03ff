"""newsearch: a search engine for French news, on Whoosh."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("newsearch")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

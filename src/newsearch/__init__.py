"""newsearch: a search engine for French news, on Whoosh."""

__version__ = "0.1.0"

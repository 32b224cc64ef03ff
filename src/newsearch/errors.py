"""Domain errors: the CLI turns them into ClickException, the web app into a 400 or 404."""


class NewsearchError(Exception):
    """Base class of every error newsearch reports to its user."""

    status = 400


class ParseError(NewsearchError):
    """A file or record could not be read as an article."""


class QueryError(NewsearchError):
    """A query string or filter value is malformed or too costly."""


class IndexMissingError(NewsearchError):
    """No index exists where one was expected."""

    status = 404


class SchemaVersionError(NewsearchError):
    """The index was built by another analysis or schema version."""

    status = 409


class IndexLockedError(NewsearchError):
    """Another job holds the index's write lock."""

    status = 409


class IndexDamagedError(NewsearchError):
    """The index on disk cannot be opened or is inconsistent."""

    status = 500


class NotFoundError(NewsearchError):
    """An article id is not in the index."""

    status = 404


class WorkerError(NewsearchError):
    """An indexing worker process failed or vanished."""

    status = 500


class DependencyError(NewsearchError):
    """newsearch's installation is incomplete: a package, or a data file of one (its own UI files included), is missing or broken."""

    status = 500


class RetryLaterError(NewsearchError):
    """A request that cannot be answered now but may be retried: a 503 with Retry-After."""

    status = 503

    def __init__(self, message: str, retry_after: int = 1):
        super().__init__(message)
        self.retry_after = retry_after


class BudgetExceededError(RetryLaterError):
    """A request ran out of its time budget before it had any result to show."""


class OverloadedError(RetryLaterError):
    """Too many searches are in progress: this one is turned away."""


class ServeError(NewsearchError):
    """The server cannot start: an option is out of range or its address cannot be listened on."""

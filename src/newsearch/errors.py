"""Domain errors: the CLI turns them into ClickException, the web app into a 400 or 404."""

# Every error a search can meet, by its stable code: English for the API and scripts above French for people.
# {fields} are filled from the error's values; a value typed by someone is passed through query.echo first.
MESSAGES = {
    "bad_sort": ("invalid sort {value!r}: use relevance, date or recent",
                 "tri inconnu « {value} » : choisissez relevance (pertinence), date ou recent"),
    "bad_limit": ("limit must be between 1 and {max}",
                  "le nombre de résultats par page doit être entre 1 et {max}"),
    "bad_page": ("page must be between 1 and {max}",
                 "le numéro de page doit être entre 1 et {max}"),
    "not_a_number": ("{name} must be a whole number",
                     "{name} doit être un nombre entier"),
    "bad_date": ("invalid date {value!r}: use YYYY, YYYY-MM or YYYY-MM-DD",
                 "date invalide « {value} » : écrivez AAAA, AAAA-MM ou AAAA-MM-JJ"),
    "since_after_until": ("since ({since}) is after until ({until})",
                          "la date de début ({since}) est après la date de fin ({until})"),
    "too_many_filters": ("too many {name} filters ({count}, at most {max})",
                         "trop de filtres {name} ({count}, au plus {max})"),
    "filter_too_long": ("filter value too long ({count} characters, at most {max})",
                        "valeur de filtre trop longue ({count} caractères, au plus {max})"),
    "query_too_long": ("query too long ({count} characters, at most {max})",
                       "requête trop longue ({count} caractères, au plus {max})"),
    "word_too_long": ("word too long in the query ({count} characters, at most {max})",
                      "mot trop long dans la requête ({count} caractères, au plus {max})"),
    "query_too_deep": ("query nested too deep (more than {max} levels of parentheses)",
                       "requête trop imbriquée (plus de {max} niveaux de parenthèses)"),
    "too_many_terms": ("query too costly: {count} words or phrases, at most {max}",
                       "requête trop coûteuse : {count} mots ou expressions, au plus {max}"),
    "too_many_fuzzy": ("query too costly: at most {max} fuzzy words (word~)",
                       "requête trop coûteuse : au plus {max} mots approchés (mot~)"),
    "no_searchable_word": ("the query {value!r} has no searchable word (only stop words or operators)",
                           "la requête « {value} » ne contient aucun mot cherchable (seulement des mots vides ou des opérateurs)"),
    "only_excluded": ("a query needs at least one word to find, not only excluded words",
                      "une requête doit avoir au moins un mot à trouver, pas seulement des mots exclus"),
    "bad_export_format": ("unknown export format {value!r}: use one of {choices}",
                          "format d’export inconnu « {value} » : choisissez parmi {choices}"),
    "no_article": ("no article has the id {value!r}",
                   "aucun article n’a l’identifiant « {value} »"),
    "timed_out": ("search stopped: it ran past its time budget ({seconds:g} s); retry in a moment or narrow the query",
                  "recherche interrompue : elle a dépassé le temps imparti ({seconds:g} s) ; réessayez dans un instant ou précisez la requête"),
    "overloaded": ("too many {what} in progress on the server: retry in {seconds} seconds",
                   "Trop de {what_fr} en cours sur le serveur : réessayez dans {seconds} secondes."),
    # The web app's own answers.
    "bad_host": ("the request's Host header does not name this server",
                 "L’en-tête Host de la requête ne désigne pas ce serveur."),
    "not_found": ("no page at this address",
                  "Cette adresse ne correspond à aucune page."),
    "method_not_allowed": ("this address is read only (GET or HEAD)",
                           "Cette adresse ne se consulte qu’en lecture (GET ou HEAD)."),
    "bad_request": ("bad request",
                    "Requête invalide."),
    "too_large": ("request too large",
                  "La requête dépasse la taille autorisée : raccourcissez la recherche."),
    "index_unavailable": ("the search index is unavailable for now (reference {ref})",
                          "L’index de recherche est momentanément indisponible. (référence {ref})"),
    "internal_error": ("an unexpected error occurred (reference {ref})",
                       "Une erreur inattendue est survenue. (référence {ref})"),
}  # fmt: skip


# Longest piece of a typed value repeated in a message: the message must not grow with the query.
ECHO_CHARS = 60


def echo(text: str) -> str:
    """Return text short enough to be repeated in a message."""
    text = " ".join(text.split())
    return text if len(text) <= ECHO_CHARS else text[: ECHO_CHARS - 1] + "…"


def message(code: str, french: bool = True, **values) -> str:
    """Return the message of an error code, in French or in English, with its values filled in."""
    english_text, french_text = MESSAGES[code]
    return (french_text if french else english_text).format(**values)


class NewsearchError(Exception):
    """Base class of every error newsearch reports to its user.

    Raised with a code of MESSAGES and its values, str() is the French message and .english the API's; raised
    with a plain message (indexing, installation), both are that message.
    """

    # The HTTP status the web app answers with, set by a class keyword: class X(NewsearchError, status=404).
    status = 400

    def __init_subclass__(cls, status: int | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status

    def __init__(self, text: str = "", **values):
        self.code = text if text in MESSAGES else None
        self.values = values
        super().__init__(message(text, **values) if self.code else text)

    @property
    def english(self) -> str:
        """The message in English, as the JSON API and --batch give it."""
        return message(self.code, french=False, **self.values) if self.code else str(self)


class ParseError(NewsearchError):
    """A file or record could not be read as an article."""


class QueryError(NewsearchError):
    """A query string or filter value is malformed or too costly."""


class IndexMissingError(NewsearchError, status=404):
    """No index exists where one was expected."""


class SchemaVersionError(NewsearchError, status=409):
    """The index was built by another analysis or schema version."""


class IndexLockedError(NewsearchError, status=409):
    """Another job holds the index's write lock."""


class IndexDamagedError(NewsearchError, status=500):
    """The index on disk cannot be opened or is inconsistent."""


class NotFoundError(NewsearchError, status=404):
    """An article id is not in the index."""


class WorkerError(NewsearchError, status=500):
    """An indexing worker process failed or vanished."""


class DependencyError(NewsearchError, status=500):
    """newsearch's installation is incomplete: a package, or a data file of one (its own UI files included), is missing or broken."""


class RetryLaterError(NewsearchError, status=503):
    """A request that cannot be answered now but may be retried: a 503 with Retry-After."""

    def __init__(self, text: str, retry_after: int = 1, **values):
        super().__init__(text, **values)
        self.retry_after = retry_after


class BudgetExceededError(RetryLaterError):
    """A request ran out of its time budget before it had any result to show."""


class OverloadedError(RetryLaterError):
    """Too many searches are in progress: this one is turned away."""


class ServeError(NewsearchError):
    """The server cannot start: an option is out of range or its address cannot be listened on."""

"""The web UI's templates and static files, installed inside the package as newsearch.webui."""

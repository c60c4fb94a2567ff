"""MongoDB URI helpers. The URI may carry a password: only ever log ``mask_uri(uri)``."""

from __future__ import annotations

import re

from pymongo.errors import ConfigurationError
from pymongo.uri_parser import parse_uri

DEFAULT_DB_NAME = "tg_llm_bot"

# scheme://user:password@hosts  ->  scheme://user:***@hosts  (user alone is kept: not secret)
_CREDENTIALS = re.compile(r"^(?P<scheme>mongodb(?:\+srv)?://)(?P<user>[^:@/]*)(?::[^@/]*)?@")


def mask_uri(uri: str) -> str:
    def repl(m: re.Match[str]) -> str:
        return f"{m['scheme']}{m['user']}:***@"

    masked = _CREDENTIALS.sub(repl, uri, count=1)
    # Query options may carry secrets too (e.g. tlsCertificateKeyFilePassword).
    return re.sub(r"(?i)(password=)[^&]*", r"\1***", masked)


def resolve_db_name(uri: str, configured: str | None = None) -> str:
    """The one rule: the database named in the URI path wins; else ``configured``
    (``MONGODB_DB``); else ``tg_llm_bot``."""
    return db_name_from_uri(uri, default="") or configured or DEFAULT_DB_NAME


def db_name_from_uri(uri: str, default: str = DEFAULT_DB_NAME) -> str:
    """The database named in the URI path, else ``default``."""
    try:
        # validate=False / warn=True: never fail here on options; the client reports those.
        name = parse_uri(uri, validate=False, warn=True).get("database")
    except (ConfigurationError, ValueError):  # InvalidURI is a ConfigurationError
        name = None
    return name or default

"""Where the run log lives: an SQLite file (the embedded default) or a PostgreSQL database URL.

Precedence, first given wins: `--store`, then `PLAYGROUND_STORE_URL`, then the config's `store:`,
then `runs.sqlite` in the user data folder. The environment sits above the config so that a team's
URL (and its password) stays out of config files that name a local `store: runs.sqlite`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from playground.errors import InputError

APP_NAME = "llm-playground"
STORE_URL_ENV = "PLAYGROUND_STORE_URL"
# psycopg 3 is the PostgreSQL driver the playground installs; bare postgresql:// means it too.
POSTGRES_DRIVER = "postgresql+psycopg"
_POSTGRES_NAMES = {"postgresql", "postgres", POSTGRES_DRIVER}
_SQLITE_NAMES = {"sqlite", "sqlite+pysqlite"}
_EXPECTED = "an SQLite file path or a PostgreSQL URL such as postgresql+psycopg://user@host:5432/db"


def default_store_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False)) / "runs.sqlite"


def resolve_store_location(
    option: str | Path | None, config_store: str | None, environ: Mapping[str, str] | None = None
) -> str | Path:
    """The run log to open: `--store` > PLAYGROUND_STORE_URL > the config's `store:` > the user data folder."""
    environ = os.environ if environ is None else environ
    from_env = environ.get(STORE_URL_ENV, "").strip()
    for given in (option, from_env, config_store):
        if given is not None and str(given).strip():
            return given
    return default_store_path()


@dataclass(frozen=True)
class StoreTarget:
    url: URL
    path: Path | None  # the SQLite file; None for a server database

    @property
    def display(self) -> str:
        """How messages name the log: the file, or the URL with its password hidden."""
        return str(self.path) if self.path is not None else self.url.render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return self.path is not None


def parse_store_location(location: str | Path) -> StoreTarget:
    """A path (or sqlite:///path) → SQLite file; postgresql[+psycopg]:// → PostgreSQL. Clear errors otherwise."""
    text = str(location).strip()
    if not text:
        raise InputError(f"The run log location is empty: give {_EXPECTED}.")
    if isinstance(location, Path) or "://" not in text:
        return _sqlite(Path(text).expanduser())
    scheme = text.split("://", 1)[0]
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise InputError(f"The run log URL ({scheme}://…) could not be read: give {_EXPECTED}.") from None
    if url.drivername in _SQLITE_NAMES:
        if not url.database or url.database == ":memory:":
            raise InputError("An in-memory SQLite run log would lose every run: give a file, e.g. sqlite:///runs.sqlite.")
        return _sqlite(Path(url.database).expanduser())
    if url.drivername in _POSTGRES_NAMES:
        return StoreTarget(url.set(drivername=POSTGRES_DRIVER), None)
    hidden = url.render_as_string(hide_password=True)
    if url.get_backend_name() in _POSTGRES_NAMES:
        raise InputError(f"The run log URL {hidden} names another PostgreSQL driver: use {POSTGRES_DRIVER}:// (psycopg 3).")
    raise InputError(f"The run log URL {hidden} is not supported: give {_EXPECTED}.")


def _sqlite(path: Path) -> StoreTarget:
    return StoreTarget(URL.create("sqlite", database=str(path)), path)

"""The run log (see run_store.py): SQLite by default, PostgreSQL for a team; one schema, versioned."""

from playground.store.location import (
    APP_NAME,
    STORE_URL_ENV,
    StoreTarget,
    default_store_path,
    parse_store_location,
    resolve_store_location,
)
from playground.store.migrations import MIGRATIONS, SCHEMA_VERSION
from playground.store.run_store import RunStore, StoreError

__all__ = [
    "APP_NAME",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STORE_URL_ENV",
    "RunStore",
    "StoreError",
    "StoreTarget",
    "default_store_path",
    "parse_store_location",
    "resolve_store_location",
]

"""Where the run log lives: precedence of --store, PLAYGROUND_STORE_URL and the config, and clear refusals."""

from pathlib import Path

import pytest

from playground.errors import InputError
from playground.store import STORE_URL_ENV, default_store_path, parse_store_location, resolve_store_location

TEAM = "postgresql+psycopg://ada:pw@db.internal:5432/runs"


def test_the_option_wins_then_the_environment_then_the_config_then_the_user_folder():
    env = {STORE_URL_ENV: TEAM}
    assert resolve_store_location("mine.sqlite", "cfg.sqlite", env) == "mine.sqlite"
    assert resolve_store_location(None, "cfg.sqlite", env) == TEAM
    assert resolve_store_location(None, "cfg.sqlite", {STORE_URL_ENV: "  "}) == "cfg.sqlite"
    assert resolve_store_location(None, None, {}) == default_store_path()


def test_paths_are_sqlite_files_and_urls_pick_their_engine(tmp_path):
    plain = parse_store_location("runs.sqlite")
    assert (plain.is_sqlite, plain.path, plain.display) == (True, Path("runs.sqlite"), "runs.sqlite")
    assert parse_store_location(f"sqlite:///{tmp_path}/x.sqlite").path == tmp_path / "x.sqlite"
    assert parse_store_location(tmp_path / "odd://name").path == tmp_path / "odd://name"
    for url in (TEAM, "postgresql://ada:pw@db.internal:5432/runs", "postgres://ada:pw@db.internal:5432/runs"):
        target = parse_store_location(url)
        assert target.path is None and target.url.drivername == "postgresql+psycopg"
        assert target.display == "postgresql+psycopg://ada:***@db.internal:5432/runs"


@pytest.mark.parametrize(
    ("location", "says"),
    [
        ("", "is empty"),
        ("sqlite://", "in-memory"),
        ("postgresql+psycopg2://ada:pw@h/db", r"use postgresql\+psycopg://"),
        ("mysql://ada:pw@h/db", "is not supported"),
        ("postgresql://ada:pw@h:notaport/db", "could not be read"),
    ],
)
def test_unusable_locations_are_refused_with_a_sentence_that_hides_the_password(location, says):
    with pytest.raises(InputError, match=says) as raised:
        parse_store_location(location)
    assert ":pw@" not in str(raised.value)

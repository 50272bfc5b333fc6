"""The test PostgreSQL: a real server on 127.0.0.1 that stops by itself and says how to install it when missing."""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from playground.testing.postgres import SERVICE_USER, PostgresNotInstalled, PostgresServer, find_server_binaries
from tests.support import wait_until

REPO = Path(__file__).resolve().parents[2]


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_without_postgresql_the_message_names_the_install_command(tmp_path):
    with pytest.raises(PostgresNotInstalled, match="apt-get install postgresql"):
        find_server_binaries(search_path=str(tmp_path), installed=str(tmp_path / "lib" / "*" / "bin"))


@pytest.mark.server
def test_a_server_serves_new_databases_on_loopback_and_is_gone_after_stop():
    with PostgresServer() as server:
        url = server.create_database("first")
        assert url.startswith("postgresql+psycopg://") and f"127.0.0.1:{server.port}/first" in url
        with psycopg.connect(host="127.0.0.1", port=server.port, user="playground", dbname="first") as db:
            assert db.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        postmaster = int((server.folder / "data" / "postmaster.pid").read_text().split()[0])
        owner = pwd.getpwuid(os.stat(f"/proc/{postmaster}").st_uid).pw_name
        # PostgreSQL refuses root: under root its programs run as the `postgres` system user.
        assert owner == (SERVICE_USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name)
    assert not _listening(server.port) and not server.folder.exists()


@pytest.mark.server
def test_a_server_whose_starter_is_killed_stops_by_itself():
    starter = (
        "from playground.testing.postgres import PostgresServer; import time;"
        "server = PostgresServer().start(); print(server.port, server.folder, flush=True); time.sleep(120)"
    )
    process = subprocess.Popen([sys.executable, "-c", starter], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        port_text, folder = process.stdout.readline().split()
        port = int(port_text)
        assert _listening(port)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        process.stdout.close()
    wait_until(lambda: not _listening(port) and not Path(folder).exists(), timeout_s=30, what="the orphaned server to stop")

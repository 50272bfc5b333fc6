"""A real PostgreSQL server for tests: `initdb` + `pg_ctl` in a temporary folder, on 127.0.0.1.

It listens on a free loopback port (its unix socket sits in the same folder), trusts local
connections, and stops by itself: as a context manager, at interpreter exit, and through a small
watchdog that stops it should the process that started it die without cleaning up. PostgreSQL refuses
to run as root, so under root (as in CI) its programs run as the `postgres` system user that Debian's
`postgresql` package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
import weakref
from pathlib import Path

from playground.testing.loopback import free_port

INSTALL_HINT = "apt-get install postgresql"
SERVICE_USER = "postgres"
SUPERUSER = "playground"
_START_TIMEOUT_S = 60
_PORT_TRIES = 3


class PostgresNotInstalled(RuntimeError):
    pass


# Where Debian's postgresql-NN packages put the server programs (not on PATH).
DEBIAN_SERVER_BINARIES = "/usr/lib/postgresql/*/bin"


def find_server_binaries(search_path: str | None = None, installed: str = DEBIAN_SERVER_BINARIES) -> Path:
    """The folder holding initdb, pg_ctl and postgres: from PATH, else the newest of `installed`."""
    initdb = shutil.which("initdb", path=search_path)
    if initdb and shutil.which("pg_ctl", path=search_path):
        return Path(initdb).resolve().parent
    folders = [Path(found).parent for found in glob.glob(f"{installed}/initdb")]
    if folders:
        return max(folders, key=lambda folder: _version_number(folder.parent.name))
    raise PostgresNotInstalled(
        "PostgreSQL's server programs (initdb, pg_ctl) are neither on PATH nor in /usr/lib/postgresql/*/bin: "
        f"install them with `{INSTALL_HINT}` (scripts/test.sh does this itself)."
    )


def _version_number(name: str) -> int:
    return int(name) if name.isdigit() else 0


def _service_account() -> pwd.struct_passwd | None:
    """The account the server runs as when we are root; None when we may run it ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise PostgresNotInstalled(
            f"PostgreSQL will not run as root and there is no `{SERVICE_USER}` user to run it as: `{INSTALL_HINT}` creates it."
        ) from None


def _as_user(command: list[str], account: pwd.struct_passwd | None) -> list[str]:
    """`command` run as the server's account when we are root (`runuser`, util-linux)."""
    if account is None:
        return command
    # runuser lives in /usr/sbin, which a shell's PATH may lack (a plain user's, or `env -i`).
    runuser = shutil.which("runuser", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    return [runuser or "runuser", "-u", SERVICE_USER, "--", *command]


class PostgresServer:
    """`with PostgresServer() as server: server.create_database()` → a SQLAlchemy URL of a new, empty database."""

    def __init__(self) -> None:
        self.bin = find_server_binaries()
        self.account = _service_account()
        self.port = 0
        self.folder = Path(tempfile.mkdtemp(prefix="playground-pg-"))
        self._watchdog: subprocess.Popen | None = None
        self._stopper = weakref.finalize(self, _stop, self.bin, self.folder, self.account, None)

    def _as_server_user(self, command: list[str]) -> list[str]:
        return _as_user(command, self.account)

    def _run(self, *command: str, timeout: float = _START_TIMEOUT_S) -> subprocess.CompletedProcess:
        return subprocess.run(
            self._as_server_user([str(self.bin / command[0]), *command[1:]]),
            capture_output=True, text=True, timeout=timeout, cwd=self.folder,
        )  # fmt: skip

    def start(self) -> PostgresServer:
        if self.account is not None:
            os.chown(self.folder, self.account.pw_uid, self.account.pw_gid)
        data = self.folder / "data"
        done = self._run("initdb", "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C", "-N")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        for _ in range(_PORT_TRIES):
            self.port = free_port()
            options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder}"
            done = self._run("pg_ctl", "-D", str(data), "-l", str(self.folder / "server.log"), "-o", options, "-w", "start")
            if done.returncode == 0:
                break
        else:
            log = (self.folder / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL did not start:\n{done.stdout}\n{done.stderr}\n{log}")
        self._watchdog = self._start_watchdog()
        self._stopper.detach()
        self._stopper = weakref.finalize(self, _stop, self.bin, self.folder, self.account, self._watchdog)
        return self

    def _start_watchdog(self) -> subprocess.Popen:
        """Stops the server once this process is gone, however it ended."""
        stop = " ".join(
            self._as_server_user([str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"])
        )
        script = f"while [ -d /proc/{os.getpid()} ]; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {self.folder}"
        return subprocess.Popen(["sh", "-c", script], start_new_session=True, stdin=subprocess.DEVNULL)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new, empty database on this server; returns its SQLAlchemy URL."""
        import psycopg
        from psycopg import sql

        name = name or f"runs_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True) as db:
            db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def stop(self) -> None:
        self._stopper()

    def __enter__(self) -> PostgresServer:
        return self if self.port else self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _stop(bin_folder: Path, folder: Path, account: pwd.struct_passwd | None, watchdog: subprocess.Popen | None) -> None:
    if (folder / "data" / "postmaster.pid").exists():
        command = _as_user([str(bin_folder / "pg_ctl"), "-D", str(folder / "data"), "-m", "fast", "-w", "stop"], account)
        subprocess.run(command, capture_output=True, timeout=_START_TIMEOUT_S, check=False)
    if watchdog is not None:
        watchdog.kill()
        watchdog.wait()
    shutil.rmtree(folder, ignore_errors=True)

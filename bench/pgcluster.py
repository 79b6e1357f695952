"""A PostgreSQL cluster of the benchmark's own, kept under ``var/bench/pg`` between runs.

``scripts/with-postgres.sh`` makes a cluster per command with ``fsync=off`` (fast tests); the
benchmark needs its generated databases to outlive one command (a million complaints take a
quarter of an hour to load) and the server's default durability (``fsync``,
``synchronous_commit`` and ``full_page_writes`` on), so that intake figures mean something.
Like the script, it runs the server as the ``postgres`` user when started as root (initdb
refuses root), listens only on 127.0.0.1 and gives the role a random password.

    python -m bench.pgcluster start     prints the server URL (database ``postgres``)
    python -m bench.pgcluster stop
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / "var" / "bench" / "pg"
USER = "kesu"


def _bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: [int(x) for x in p.parts[-3].split(".") if x.isdigit()])
    if not found:
        raise RuntimeError("no PostgreSQL server found under /usr/lib/postgresql (apt install postgresql)")
    return found[-1].parent


def _as_owner() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _state() -> dict:
    path = HOME / "cluster.json"
    return json.loads(path.read_text()) if path.exists() else {}


def version() -> str:
    out = subprocess.run([str(_bindir() / "postgres"), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip().replace("postgres (PostgreSQL) ", "")


def running() -> bool:
    state = _state()
    if not state:
        return False
    done = subprocess.run([*_as_owner(), str(_bindir() / "pg_ctl"), "-D", str(HOME / "data"), "status"],
                          capture_output=True, cwd="/", check=False)
    return done.returncode == 0


def start() -> str:
    """Start the cluster (creating it on first use); return the URL of its ``postgres`` database."""
    bindir = _bindir()
    HOME.mkdir(parents=True, exist_ok=True)
    state = _state()
    if not (HOME / "data" / "PG_VERSION").exists():
        if os.geteuid() == 0:
            subprocess.run(["chown", "postgres:", str(HOME)], check=True)
        subprocess.run([*_as_owner(), str(bindir / "initdb"), "-D", str(HOME / "data"), "-E", "UTF8",
                        "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256"],
                       check=True, capture_output=True, cwd="/")
        state = {"port": _free_port(), "password": secrets.token_hex(16), "role": False}
        (HOME / "cluster.json").write_text(json.dumps(state))
        os.chmod(HOME / "cluster.json", 0o600)
    if not running():
        sock = HOME / "sock"
        if not sock.exists():
            subprocess.run([*_as_owner(), "mkdir", str(sock)], check=True)
        # Server defaults except what a benchmark of a million rows needs on a small box: a
        # larger shared_buffers/work_mem is what any production install sets (docs/deploy.md);
        # no JIT and SSD page costs, as deploy/postgresql.conf (JIT cost a queue page 48 ms).
        options = (f"-c listen_addresses=127.0.0.1 -p {state['port']} -k {sock} "
                   "-c shared_buffers=512MB -c max_connections=200 -c jit=off -c random_page_cost=1.1")
        subprocess.run([*_as_owner(), str(bindir / "pg_ctl"), "-D", str(HOME / "data"), "-l",
                        str(HOME / "server.log"), "-w", "-t", "120", "-o", options, "start"],
                       check=True, capture_output=True, cwd="/")
    if not state.get("role"):
        psql = [*_as_owner(), str(bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h",
                str(HOME / "sock"), "-p", str(state["port"]), "-d", "postgres"]
        subprocess.run([*psql, "-c", f"CREATE ROLE {USER} LOGIN CREATEDB SUPERUSER PASSWORD '{state['password']}'"],
                       check=True, capture_output=True, cwd="/")
        state["role"] = True
        (HOME / "cluster.json").write_text(json.dumps(state))
    return f"postgres://{USER}:{state['password']}@127.0.0.1:{state['port']}/postgres"


def stop() -> None:
    if running():
        subprocess.run([*_as_owner(), str(_bindir() / "pg_ctl"), "-D", str(HOME / "data"), "-m", "fast",
                        "-w", "stop"], check=True, capture_output=True, cwd="/")


def database_url(server_url: str, name: str) -> str:
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


def ensure_database(server_url: str, name: str, *, fresh: bool = False) -> str:
    """Create database ``name`` unless it exists (``fresh``: drop it first); return its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as admin:
        if fresh:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
    return database_url(server_url, name)


def wait_ready(url: str, seconds: float = 30) -> None:
    import psycopg

    deadline = time.monotonic() + seconds
    while True:
        try:
            psycopg.connect(url).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    if command == "start":
        print(start())
    elif command == "stop":
        stop()
    else:
        print(__doc__)
        sys.exit(2)

"""Private services a test may stop, freeze and start: a PostgreSQL cluster, a Redis server, an SMTP
server that never answers, and the portal itself as a gunicorn process pointed at them.

The shared PostgreSQL and Redis are never touched: each private service runs from a temp dir on a
free loopback port and is stopped by its fixture. PostgreSQL runs as the `postgres` OS user
(initdb refuses root), through `runuser`.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivatePostgres:
    """A throw-away PostgreSQL 15 cluster on 127.0.0.1:<port>, trust authentication."""

    def __init__(self) -> None:
        require((PG_BIN / "initdb").exists(), f"needs PostgreSQL 15 server binaries in {PG_BIN}")
        require(shutil.which("runuser") is not None, "needs runuser to start PostgreSQL as its own user")
        try:
            self.owner = pwd.getpwnam("postgres")
        except KeyError:
            self.owner = None
        require(self.owner is not None and os.geteuid() == 0, "needs root and a `postgres` OS user")
        self.dir = Path(tempfile.mkdtemp(prefix="pcp-private-pg-"))
        os.chown(self.dir, self.owner.pw_uid, self.owner.pw_gid)
        self.data = self.dir / "data"
        self.port = free_port()
        self._as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"])
        self.start()
        self._as_postgres([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "pcp_private"])
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/pcp_private"

    def _as_postgres(self, command: list[str], timeout: float = 60) -> None:
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, f"{command[0]} failed: {result.stdout}{result.stderr}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.dir / "log"),
                "-o",
                options,
                "-w",
                "start",
            ]
        )

    def stop(self) -> None:
        self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def destroy(self) -> None:
        with contextlib.suppress(AssertionError):  # already stopped
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """redis-server on a free loopback port, no persistence; stop, freeze (SIGSTOP), thaw."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        require(self.binary is not None, "needs redis-server (apt-get install redis-server)")
        self.dir = Path(tempfile.mkdtemp(prefix="pcp-private-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=(self.dir / "log").open("ab"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the private Redis did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def freeze(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class SilentSMTPServer:
    """Accepts connections and never says a word: the hung mail server."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.connections.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.connections:
            conn.close()


def portal_environment(tmp_path: Path, **overrides: str) -> dict:
    """Production-like settings (DEBUG off) for a portal process; e-mail kept in memory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "CACHE_URL", "CELERY_TASK_ALWAYS_EAGER"):
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE="pcp_portal.settings",
        DEBUG="0",
        SECRET_KEY="private-services-test-key-" + "x" * 30,
        PCP_VAR_DIR=str(tmp_path / "var"),
        PCP_MANIFEST_STATIC="0",
        ALLOWED_HOSTS="127.0.0.1",
        PORTAL_BASE_URL="http://127.0.0.1",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        LOG_FORMAT="plain",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(overrides)
    return env


def manage(env: dict, *args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args[:2])} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


class Portal:
    """gunicorn serving the portal on a free loopback port, as docker-compose.yml runs it."""

    def __init__(self, env: dict, log: Path, workers: int = 2) -> None:
        self.port = free_port()
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "pcp_portal.wsgi:application", f"--bind=127.0.0.1:{self.port}",
             f"--workers={workers}", "--timeout=60", "--access-logfile=-"],
            cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"gunicorn exited:\n{log.read_text()[-3000:]}"
            try:
                if self.get("/healthz").status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")

    def request(self, method: str, path: str, *, headers=None, body=None, timeout: float = 30) -> Answer:
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers={"Host": "127.0.0.1", **(headers or {})})
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            return Answer(response.status, dict(response.getheaders()), text, time.monotonic() - started)
        finally:
            connection.close()

    def get(self, path: str, **kwargs) -> Answer:
        return self.request("GET", path, **kwargs)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


class Answer:
    def __init__(self, status: int, headers: dict, text: str, seconds: float) -> None:
        self.status, self.headers, self.text, self.seconds = status, headers, text, seconds

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def __repr__(self) -> str:
        return f"<{self.status} in {self.seconds:.2f}s: {self.text[:300]!r}>"

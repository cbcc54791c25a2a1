"""Serving an app for a benchmark: gunicorn with the production gunicorn.conf.py on loopback.

The same settings serve the app (`wsgi:app`) and the bare baseline (`bench.bare_app:app`), so the
ratio between the two shows what our code costs.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from errors import BenchError
from paths import REPO_DIR, VENV_BIN

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Server:
    url: str
    pid: int  # the gunicorn master's; its workers are its children


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    """One GET on a fresh connection: status and body."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=PROBE_TIMEOUT_S)
    try:
        connection.request("GET", parts.path or "/")
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def check_route(url: str) -> None:
    """Fail early, with the body, when a route does not answer 200 before loading it."""
    status, body = get(url)
    if status != 200:
        raise BenchError(f"{url} answered {status}: {body[:500].decode(errors='replace')}")


def wait_until_serving(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    """Poll `url` until it answers, the server dies, or the start-up time runs out."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
            raise BenchError(f"gunicorn exited with {process.returncode} on start:\n{log}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            get(url)
            return
        time.sleep(0.2)
    raise BenchError(f"{url} did not answer within {STARTUP_TIMEOUT_S:.0f} s; see {log_path}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask gunicorn to stop, then kill its process group if it lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_S)


@contextlib.contextmanager
def gunicorn(app_spec: str, env: dict[str, str], *, workers: int, threads: int,
             max_requests: int, log_dir: Path) -> Iterator[Server]:
    """Serve `app_spec` with gunicorn.conf.py on a free loopback port until the block ends.

    Its output goes to `log_dir`, in a file named after `app_spec`.
    """
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{app_spec.replace(':', '.')}.log"
    server_env = env | {
        "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads), "GUNICORN_MAX_REQUESTS": str(max_requests),
        "GUNICORN_MAX_REQUESTS_JITTER": str(max_requests // 10)}
    # No control socket: its default path is shared by every gunicorn of this user.
    command = [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--no-control-socket",
               app_spec]
    with log_path.open("w") as log:
        # Its own session, so a Ctrl-C reaches only us and the finally below stops it in order.
        process = subprocess.Popen(command, cwd=REPO_DIR, env=server_env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_serving(process, f"http://127.0.0.1:{port}/", log_path)
            yield Server(f"http://127.0.0.1:{port}", process.pid)
        finally:
            stop(process)

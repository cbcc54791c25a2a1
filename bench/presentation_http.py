"""HTTP verification throughput: POST /api/v1/verifications under gunicorn on MariaDB + Redis.

Every request verifies a fresh token (each may verify once), so the figure includes what a
real verification costs: signature, the one-time jti insert, the certificate's status, the
access-log and audit rows and the commit.
"""

from __future__ import annotations

import http.client
import json
import queue
import subprocess
import threading
import time
from urllib.parse import urlsplit

from app_setup import bench_environment, rebuild_demo_data
from errors import BenchError
from paths import BENCH_DIR, REPO_DIR, VENV_BIN
from servers import gunicorn

DATABASE_URL = "mysql+pymysql://root@127.0.0.1:3306/zsb_bench_verify?charset=utf8mb4"
REDIS_URL = "redis://127.0.0.1:6379/13"
PASSWORD = "bench-verifier-password"
WORK_DIR = BENCH_DIR / ".work" / "presentation_http"


def environment(database_url: str, redis_url: str) -> dict[str, str]:
    """The app's production environment, tasks in process, with a known verifier password."""
    return bench_environment(database_url, redis_url) | {
        "CELERY_ALWAYS_EAGER": "1", "DEMO_ADMIN_PASSWORD": PASSWORD}


def make_tokens(env: dict[str, str], count: int) -> tuple[list[str], str]:
    """Present demo-citizen-1's driving licence `count` times; also log the verifier in."""
    script = f"""
import json, sqlalchemy as sa
from app import create_app
from app.certificates.presenting import present
from app.extensions import db
from app.models import User
from app.models.certificate import Certificate, CertificateType
from app.identity.admin_login import admin_login
import app.certificates.presenting as presenting
presenting.qr_svg = lambda token: ""  # drawing QR codes is not what this measures
app = create_app()
with app.app_context():
    user = db.session.scalar(sa.select(User).where(User.openid == "demo-citizen-1"))
    licence = db.session.scalar(sa.select(Certificate).join(CertificateType).where(
        CertificateType.code == "driving_licence", Certificate.holder_id_index ==
        user.id_number_index))
    tokens = [present(user, licence, ["name", "licence_class"], ["age_over_18"],
                      "bench")["token"] for _ in range({count})]
    _, pair = admin_login("verifier", "{PASSWORD}")
    db.session.commit()
    print(json.dumps({{"tokens": tokens, "access": pair.access_token}}))
"""
    done = subprocess.run([str(VENV_BIN / "python"), "-c", script], cwd=REPO_DIR, env=env,
                          check=False, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise BenchError("presenting the demo licence failed:\n" + done.stderr[-2000:])
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return data["tokens"], data["access"]


def fire(url: str, access: str, tokens: list[str], connections: int
         ) -> tuple[float, list[float], int]:
    """Send every token once over keep-alive connections; (seconds, latencies, failures)."""
    work: queue.Queue[str] = queue.Queue()
    for token in tokens:
        work.put(token)
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    parts = urlsplit(url)

    def worker() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        headers = {"Authorization": f"Bearer {access}", "Content-Type": "application/json"}
        while True:
            try:
                token = work.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            connection.request("POST", "/api/v1/verifications",
                               json.dumps({"token": token}), headers)
            response = connection.getresponse()
            body = json.loads(response.read())
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status != 200 or not body.get("valid"):
                    failures[0] += 1
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, sorted(latencies), failures[0]


def http_verify_throughput(tokens: int = 2000, connections: int = 16,
                           database_url: str = DATABASE_URL,
                           redis_url: str = REDIS_URL) -> dict[str, float]:
    """Serve the app with gunicorn (2 workers × 4 threads) and verify `tokens` fresh tokens.

    The database of `database_url` is dropped and rebuilt, the Redis db of `redis_url` flushed.
    """
    env = environment(database_url, redis_url)
    rebuild_demo_data(env)
    issued, access = make_tokens(env, tokens)
    with gunicorn("wsgi:app", env, workers=2, threads=4, max_requests=0,
                  log_dir=WORK_DIR) as server:
        seconds, latencies, failures = fire(server.url, access, issued, connections)
    return {"verifications_per_second": len(latencies) / seconds,
            "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
            "failures": failures, "tokens": len(latencies), "connections": connections}

"""HTTP verification throughput: POST /api/v1/verifications under gunicorn on MariaDB + Redis.

Every request verifies a fresh token (each may verify once), so the figure includes what a
real verification costs: signature, the one-time jti insert, the certificate's status, the
access-log and audit rows and the commit.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import queue
import secrets
import subprocess
import threading
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
VENV_BIN = REPO_DIR / ".venv" / "bin"
DATABASE = "zsb_bench_verify"
DATABASE_URL = f"mysql+pymysql://root@127.0.0.1:3306/{DATABASE}?charset=utf8mb4"
REDIS_URL = "redis://127.0.0.1:6379/13"
PASSWORD = "bench-verifier-password"


def environment() -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    return {**os.environ, "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
            "SECRET_KEY": key(), "JWT_SECRET_KEY": key(), "PERSONAL_DATA_KEYS": "v1:" + key(),
            "BLIND_INDEX_KEY": key(), "WECHAT_SECRET": "bench", "DEPARTMENT_KEYS": "b:" + key(),
            "SIGNING_KEY_PEM": pem, "LOG_LEVEL": "WARNING", "CELERY_ALWAYS_EAGER": "1",
            "DEMO_ADMIN_PASSWORD": PASSWORD}


def prepare(env: dict[str, str]) -> None:
    import pymysql
    import redis

    connection = pymysql.connect(host="127.0.0.1", user="root")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        cursor.execute(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4 "
                       "COLLATE utf8mb4_unicode_ci")
    connection.close()
    redis.Redis.from_url(REDIS_URL).flushdb()
    for args in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run([str(VENV_BIN / "flask"), "--app", "app", *args], cwd=REPO_DIR, env=env,
                       check=True, capture_output=True, timeout=300)


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
                          check=True, capture_output=True, text=True, timeout=600)
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return data["tokens"], data["access"]


def fire(port: int, access: str, tokens: list[str], connections: int
         ) -> tuple[float, list[float], int]:
    """Send every token once over keep-alive connections; (seconds, latencies, failures)."""
    work: queue.Queue[str] = queue.Queue()
    for token in tokens:
        work.put(token)
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
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


def http_verify_throughput(tokens: int = 2000, connections: int = 16) -> dict[str, float]:
    """Serve the app with gunicorn (2 workers × 4 threads) and verify `tokens` fresh tokens."""
    env = environment()
    prepare(env)
    issued, access = make_tokens(env, tokens)
    port = 18000 + secrets.randbelow(1000)
    server = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--no-control-socket",
         "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4", "wsgi:app"],
        cwd=REPO_DIR, env={**env, "GUNICORN_MAX_REQUESTS": "0"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                probe.request("GET", "/healthz")
                if probe.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        seconds, latencies, failures = fire(port, access, issued, connections)
    finally:
        server.terminate()
        server.wait(timeout=15)
    return {"verifications_per_second": len(latencies) / seconds,
            "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
            "failures": failures, "tokens": len(latencies), "connections": connections}

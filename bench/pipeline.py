"""What every request costs around its view: /healthz through the app against a bare Flask app.

In process, with no server and no network: each app is called through its WSGI entry point with
the same prepared environ, so the difference is the app's own pipeline (request ids, access log,
security headers, error handling set-up, the session interface). Prints microseconds per request
and the ratio, then where the app's time goes (cProfile, cumulative, top entries).

    .venv/bin/python bench/pipeline.py [--requests 20000] [--record]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date

from app_setup import generated_secrets
from flask import Flask
from machine import machine_line
from paths import REPO_DIR
from results import write_section

sys.path.insert(0, str(REPO_DIR))  # the app package, when run as a script from anywhere

WsgiApp = Callable[[dict, Callable], object]


def environ_for(path: str) -> dict:
    """A GET request as gunicorn would hand it over."""
    return {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True,
            "wsgi.run_once": False, "wsgi.version": (1, 0)}


def call(app: WsgiApp, path: str) -> None:
    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        assert status.startswith("200"), status

    body = app(environ_for(path), start_response)
    b"".join(body)  # type: ignore[arg-type]
    getattr(body, "close", lambda: None)()


def microseconds_per_request(app: WsgiApp, path: str, requests: int) -> float:
    for _ in range(min(1000, requests)):
        call(app, path)
    started = time.perf_counter()
    for _ in range(requests):
        call(app, path)
    return (time.perf_counter() - started) / requests * 1e6


def bare_app() -> Flask:
    bare = Flask("bare")

    @bare.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return bare


def our_app(folder: str, redis_url: str) -> Flask:
    from app import create_app  # after sys.path is set

    return create_app({**generated_secrets(), "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
                       "SIGNING_KEY_DIR": f"{folder}/keys", "LOG_LEVEL": "WARNING",
                       "CELERY_ALWAYS_EAGER": True, "LOG_FORMAT": "json",
                       "REDIS_URL": redis_url})


def profile(app: WsgiApp, path: str, requests: int, top: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        call(app, path)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--top", type=int, default=25, help="profile lines to print")
    parser.add_argument("--record", action="store_true", help="write bench/RESULTS.md")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13",
                        help="the production-mode app needs one; /healthz does not use it")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the production setting: LOG_LEVEL=WARNING drops access lines
    with tempfile.TemporaryDirectory() as folder:
        os.makedirs(f"{folder}/keys")
        ours, bare = our_app(folder, args.redis_url), bare_app()
        rounds = [(microseconds_per_request(bare.wsgi_app, "/healthz", args.requests),
                   microseconds_per_request(ours.wsgi_app, "/healthz", args.requests))
                  for _ in range(args.rounds)]
        bare_us = statistics.median(r[0] for r in rounds)
        ours_us = statistics.median(r[1] for r in rounds)
        print(f"machine: {machine_line()}")
        print(f"bare Flask /healthz: {bare_us:.1f} µs per request (median of {args.rounds})")
        print(f"app /healthz:        {ours_us:.1f} µs per request")
        print(f"ratio bare/app: {bare_us / ours_us:.2f} (the app's pipeline costs "
              f"{ours_us - bare_us:.1f} µs per request)")
        print(profile(ours.wsgi_app, "/healthz", args.requests // 4, args.top))
    if args.record:
        write_section(
            f"Request pipeline, in process ({date.today().isoformat()})",
            f"machine: {machine_line()}\n\n"
            f"| what | µs per request | ratio to bare |\n|---|---:|---:|\n"
            f"| bare Flask `/healthz` | {bare_us:.1f} | 1.00 |\n"
            f"| app `/healthz` | {ours_us:.1f} | {bare_us / ours_us:.2f} |\n\n"
            f"{args.requests:,} requests × {args.rounds} rounds through each WSGI entry point, "
            "median round; `bench/pipeline.py`.")


if __name__ == "__main__":
    main()

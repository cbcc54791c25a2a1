"""A bare Flask app with one small JSON route: the baseline `bench/http_load.py` compares against.

Served as `gunicorn -c gunicorn.conf.py bench.bare_app:app` from the repository root, with the
same settings as the real app, so the ratio between the two shows what our code costs.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def status() -> dict[str, str]:
    """Answer a body like /healthz's, with nothing else in the way."""
    return {"status": "ok"}

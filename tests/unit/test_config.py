"""Configuration: embedded defaults, production refuses to start without its secrets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.config import SETTINGS, ConfigError, load_config

README = Path(__file__).resolve().parents[2] / "README.md"


def test_nothing_set_means_embedded_mode_with_sqlite_and_eager_tasks(tmp_path):
    config = load_config(str(tmp_path), environ={})
    assert config["EMBEDDED"] is True
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert config["CELERY_ALWAYS_EAGER"] is True
    assert config["LOG_FORMAT"] == "text"


def test_embedded_secrets_are_generated_once_and_kept(tmp_path):
    first = load_config(str(tmp_path), environ={})
    second = load_config(str(tmp_path), environ={})
    assert first["PERSONAL_DATA_KEYS"] == second["PERSONAL_DATA_KEYS"]
    assert len(first["SECRET_KEY"]) >= 32


def test_production_refuses_to_start_without_its_secrets(tmp_path):
    environ = {"DATABASE_URL": "mysql+pymysql://u@db/zsb?charset=utf8mb4",
               "REDIS_URL": "redis://cache:6379/0", "SECRET_KEY": "s"}
    with pytest.raises(ConfigError) as excinfo:
        load_config(str(tmp_path), environ=environ)
    assert "JWT_SECRET_KEY" in str(excinfo.value)
    assert not (tmp_path / "dev-secrets.json").exists()


def test_production_with_everything_set_runs_workers_for_tasks(tmp_path):
    environ = {"DATABASE_URL": "mysql+pymysql://u@db/zsb?charset=utf8mb4",
               "REDIS_URL": "redis://cache:6379/0", "SECRET_KEY": "s", "JWT_SECRET_KEY": "j",
               "PERSONAL_DATA_KEYS": "k1:a2V5", "BLIND_INDEX_KEY": "aW5kZXg=",
               "WECHAT_SECRET": "w", "DEPARTMENT_KEYS": "d1:ZGVwYXJ0bWVudC1rZXktMTIzNDU2Nzg="}
    config = load_config(str(tmp_path), environ=environ)
    assert config["EMBEDDED"] is False
    assert config["CELERY_ALWAYS_EAGER"] is False
    assert config["LOG_FORMAT"] == "json"
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True


def test_a_number_setting_that_is_not_a_number_is_refused_by_name(tmp_path):
    with pytest.raises(ConfigError, match="CACHE_TTL"):
        load_config(str(tmp_path), environ={"CACHE_TTL": "soon"})


def test_readme_documents_every_setting():
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", README.read_text(), re.MULTILINE))
    assert {s.name for s in SETTINGS} <= documented

"""Fixtures the API tests of certificates share: a holder and their driving licence."""

from __future__ import annotations

import pytest

from tests.factories import create_certificate_type, create_user, issue_certificate


@pytest.fixture
def holder(app_context):
    return create_user(name="李明")


@pytest.fixture
def licence(holder):
    return issue_certificate(kind=create_certificate_type(), holder=holder)

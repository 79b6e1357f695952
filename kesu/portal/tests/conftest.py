from __future__ import annotations

import uuid

import pytest


@pytest.fixture(autouse=True)
def fresh_rate_limits(settings):
    """Each test counts from zero. With Redis (scripts/with-redis.sh) nothing rolls back between
    tests, so each test gets its own key prefix instead."""
    caches = dict(settings.CACHES)
    caches["ratelimit"] = {**caches["ratelimit"], "KEY_PREFIX": f"test-{uuid.uuid4().hex[:12]}"}
    settings.CACHES = caches

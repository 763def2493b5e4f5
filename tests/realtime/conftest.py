"""Realtime fixtures: a private channel-layer/presence prefix per test session."""

from __future__ import annotations

import pytest
import redis
from channels.layers import channel_layers
from django.conf import settings as django_settings

from .helpers import PREFIX


@pytest.fixture(scope="session", autouse=True)
def _clean_redis_prefix():
    yield
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    for key in client.scan_iter(f"{PREFIX}*"):
        client.delete(key)
    client.close()


@pytest.fixture(autouse=True)
def realtime_settings(settings):
    """This session's own channel-layer prefix (presence keys follow it)."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [settings.REDIS_URL], "prefix": PREFIX},
        }
    }
    channel_layers.backends = {}
    yield settings
    channel_layers.backends = {}

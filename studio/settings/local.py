"""The embedded default: SQLite in var/, a private Redis, media under var/media."""

from .base import *  # noqa: F401,F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)

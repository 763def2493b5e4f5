"""Bounds of every number the API accepts, in one place.

Serializers pass these as ``min_value``/``max_value`` (so the OpenAPI schema states them and a
schema fuzzer finds them) and services that parse numbers by hand (timeline ops) check them
too. Everything fits a signed 32-bit integer column on SQLite and PostgreSQL.
"""

from __future__ import annotations

from decimal import Decimal

INT32_MAX = 2**31 - 1

MAX_FPS = 240
MAX_RUNTIME_SECONDS = 24 * 3600
# A frame number or a length in frames: 24 hours at 240 fps.
MAX_FRAMES = MAX_RUNTIME_SECONDS * MAX_FPS  # 20_736_000
# One shot's length: an hour at 24 fps is far beyond any shot.
MAX_SHOT_FRAMES = 24 * 60 * 60
# A transition or an audio fade: ten minutes at 24 fps.
MAX_TRANSITION_FRAMES = 10 * 60 * 24
# Place of a segment in the film or of a shot in its segment.
MAX_POSITION = 100_000
# Optimistic-locking revision counters sent back by clients.
MAX_REVISION = INT32_MAX

MIN_SIZE_PX = 16
MAX_SIZE_PX = 8192

MAX_INVITE_USES = 100_000
MAX_INVITE_DAYS = 365

MAX_SEED = INT32_MAX
MAX_VARIATIONS = 8

# Money: DecimalField(max_digits=12, decimal_places=2).
MONEY_MAX_DIGITS = 12
MONEY_DECIMAL_PLACES = 2
MAX_MONEY = Decimal("9999999999.99")

MAX_VOLUME = 4.0

# JSON request bodies (defaults of the MONTAGE_API_MAX_JSON_* settings).
MAX_JSON_DEPTH = 64
MAX_JSON_BYTES = 1024 * 1024

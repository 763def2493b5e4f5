"""Settings shared by every environment. Everything that differs comes from the environment."""

from studio.env import BASE_DIR, VAR_DIR, env
from studio.keyfiles import PUBLIC_DEFAULT_SECRET_KEY

# The public default serves the test settings only: `make run` (studio.settings.local)
# generates its own key into var/, production requires SECRET_KEY.
SECRET_KEY = env("SECRET_KEY", default=PUBLIC_DEFAULT_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "channels",
    "storages",
    "apps.core",
    "apps.accounts",
    "apps.projects",
    "apps.production",
    "apps.media",
    "apps.timeline",
    "apps.generation",
    "apps.rendering",
    "apps.realtime",
]

MIDDLEWARE = [
    # First: every response gets X-Request-ID; errors under /api/ are JSON (apps/core/middleware.py).
    "apps.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "studio.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "studio.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request when it is missing
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.exists() else []

# --- Redis: channels, celery broker, presence, rate limits -------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # channels_redis blocks in BZPOPMIN for 5 s; redis-py 8 also times reads out at
            # 5 s by default, so under load the read lost that race and the consumer died.
            "hosts": [{"address": REDIS_URL, "socket_timeout": 30, "socket_connect_timeout": 5}],
            "prefix": env("CHANNELS_PREFIX", default="montage"),
        },
    }
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
# The result backend serves one purpose: the chord that joins an export's per-segment render
# tasks (apps/rendering/tasks.py). Every other task ignores its result.
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "apps.media.tasks.*": {"queue": "media"},
    "apps.generation.tasks.*": {"queue": "generation"},
    "apps.rendering.tasks.*": {"queue": "render"},
}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Jobs whose worker died ---------------------------------------------------------------
# A running job (generation, ingest, export) touches its heartbeat every
# MONTAGE_JOB_HEARTBEAT_SECONDS while it works; one without a heartbeat for
# MONTAGE_JOB_STALE_SECONDS is taken for dead by the reaper, which runs every
# MONTAGE_REAPER_INTERVAL_SECONDS and resumes it (re-queues it; each further re-queue of the
# same job waits twice as long, from 2 × MONTAGE_JOB_STALE_SECONDS up to 15 minutes) or, after
# MONTAGE_JOB_MAX_RESTARTS dead workers, fails it with the reason. With the defaults a killed
# generation resumes within about 80 seconds.
MONTAGE_JOB_HEARTBEAT_SECONDS = max(1, env.int("MONTAGE_JOB_HEARTBEAT_SECONDS", default=15))
MONTAGE_JOB_STALE_SECONDS = max(
    2 * MONTAGE_JOB_HEARTBEAT_SECONDS, env.int("MONTAGE_JOB_STALE_SECONDS", default=4 * MONTAGE_JOB_HEARTBEAT_SECONDS)
)
MONTAGE_REAPER_INTERVAL_SECONDS = max(1, env.int("MONTAGE_REAPER_INTERVAL_SECONDS", default=20))
MONTAGE_JOB_MAX_RESTARTS = max(1, env.int("MONTAGE_JOB_MAX_RESTARTS", default=3))
# A provider call marked "being submitted" belongs to the worker that marked it while that
# worker keeps beating; with no beat for this long another worker submits it again (with the
# same idempotency key, so providers that take one still make one job).
MONTAGE_GENERATION_SUBMIT_LEASE_SECONDS = max(
    2 * MONTAGE_JOB_HEARTBEAT_SECONDS,
    env.int("MONTAGE_GENERATION_SUBMIT_LEASE_SECONDS", default=MONTAGE_JOB_STALE_SECONDS),
)

CELERY_BEAT_SCHEDULE = {
    "reap-stale-jobs": {"task": "apps.core.tasks.reap_stale_jobs", "schedule": float(MONTAGE_REAPER_INTERVAL_SECONDS)},
}

# Django's cache is shared by every web process (Redis): throttles and sign-in lockouts count
# there, so a second process (or a restart) does not hand out fresh attempts.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("CACHE_URL", default=REDIS_URL),
        "KEY_PREFIX": env("CHANNELS_PREFIX", default="montage") + "-cache",
    }
}

# --- Throttling and sign-in lockout (README: Production) -----------------------------------
# Proxies in front of the studio that append to X-Forwarded-For (nginx, a load balancer).
# 0 (the default) trusts no header: the client address is the socket's. Set it to the exact
# number of proxies, or clients can choose the address their attempts are counted under.
MONTAGE_TRUSTED_PROXY_COUNT = env.int("MONTAGE_TRUSTED_PROXY_COUNT", default=0)
# Failed sign-ins (API token, browser session and admin) within the window lock the account
# name, and separately the client address, for MONTAGE_LOGIN_LOCKOUT_SECONDS.
MONTAGE_LOGIN_FAILURES_PER_ACCOUNT = env.int("MONTAGE_LOGIN_FAILURES_PER_ACCOUNT", default=5)
MONTAGE_LOGIN_FAILURES_PER_ADDRESS = env.int("MONTAGE_LOGIN_FAILURES_PER_ADDRESS", default=20)
MONTAGE_LOGIN_FAILURE_WINDOW_SECONDS = env.int("MONTAGE_LOGIN_FAILURE_WINDOW_SECONDS", default=15 * 60)
MONTAGE_LOGIN_LOCKOUT_SECONDS = env.int("MONTAGE_LOGIN_LOCKOUT_SECONDS", default=15 * 60)
# Requests per period ("N/second|minute|hour|day"): sign-ups per client address; invitations
# accepted, uploads started and generations started per user. Overrides merge into these.
MONTAGE_THROTTLE_RATES = {
    "signup": "10/hour",
    "invite_accept": "30/hour",
    "upload": "300/hour",
    "generate": "300/hour",
    **env.json("MONTAGE_THROTTLE_RATES", default={}),
}
AUTHENTICATION_BACKENDS = ["apps.accounts.backends.LockoutModelBackend"]

# --- Media storage -------------------------------------------------------------------------
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/media/"
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
USE_S3 = bool(AWS_STORAGE_BUCKET_NAME)
if USE_S3:
    AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default=None)
    # Address browsers use for presigned links when it differs from the one workers use
    # (docker compose: workers reach http://minio:9000, browsers http://localhost:9000).
    AWS_S3_PUBLIC_ENDPOINT_URL = env("AWS_S3_PUBLIC_ENDPOINT_URL", default=None)
    AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default="us-east-1")
    AWS_ACCESS_KEY_ID = env("AWS_ACCESS_KEY_ID", default=None)
    AWS_SECRET_ACCESS_KEY = env("AWS_SECRET_ACCESS_KEY", default=None)
    AWS_S3_ADDRESSING_STYLE = env("AWS_S3_ADDRESSING_STYLE", default="path")
    AWS_S3_SIGNATURE_VERSION = "s3v4"
    AWS_DEFAULT_ACL = None
    AWS_QUERYSTRING_AUTH = True
    AWS_QUERYSTRING_EXPIRE = env.int("AWS_QUERYSTRING_EXPIRE", default=3600)
    STORAGES = {
        "default": {"BACKEND": "storages.backends.s3.S3Storage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    }
else:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

# Upload limits (bytes, pixels, seconds). Configurable per deployment.
MONTAGE_UPLOAD_MAX_BYTES = env.int("MONTAGE_UPLOAD_MAX_BYTES", default=4 * 1024**3)
MONTAGE_UPLOAD_MULTIPART_THRESHOLD = env.int("MONTAGE_UPLOAD_MULTIPART_THRESHOLD", default=64 * 1024**2)
MONTAGE_UPLOAD_PART_SIZE = env.int("MONTAGE_UPLOAD_PART_SIZE", default=64 * 1024**2)
MONTAGE_UPLOAD_CONTENT_TYPES = env.list(
    "MONTAGE_UPLOAD_CONTENT_TYPES",
    default=["video/*", "audio/*", "image/*", "application/octet-stream"],
)
MONTAGE_MEDIA_MAX_WIDTH = env.int("MONTAGE_MEDIA_MAX_WIDTH", default=8192)
MONTAGE_MEDIA_MAX_HEIGHT = env.int("MONTAGE_MEDIA_MAX_HEIGHT", default=8192)
MONTAGE_MEDIA_MAX_DURATION_SECONDS = env.int("MONTAGE_MEDIA_MAX_DURATION_SECONDS", default=4 * 3600)
MONTAGE_FFMPEG_TIMEOUT_SECONDS = env.int("MONTAGE_FFMPEG_TIMEOUT_SECONDS", default=300)
MONTAGE_UPLOAD_EXPIRES_SECONDS = env.int("MONTAGE_UPLOAD_EXPIRES_SECONDS", default=6 * 3600)
# Bytes uploaded but not yet attached to a take, clip or reference, per user and per project.
MONTAGE_UPLOAD_QUOTA_BYTES = env.int("MONTAGE_UPLOAD_QUOTA_BYTES", default=20 * 1024**3)
MONTAGE_PROJECT_UPLOAD_QUOTA_BYTES = env.int("MONTAGE_PROJECT_UPLOAD_QUOTA_BYTES", default=100 * 1024**3)
# Completed uploads nothing uses are deleted (file and row) after this many hours.
MONTAGE_UPLOAD_ORPHAN_HOURS = env.int("MONTAGE_UPLOAD_ORPHAN_HOURS", default=24)
# Signed local media URLs (apps.media.signing): lifetime, and of links in exported timelines.
MONTAGE_MEDIA_URL_TTL_SECONDS = env.int("MONTAGE_MEDIA_URL_TTL_SECONDS", default=6 * 3600)
MONTAGE_EXPORT_LINK_DAYS = env.int("MONTAGE_EXPORT_LINK_DAYS", default=30)
# "" (Django streams the file), "nginx" (X-Accel-Redirect) or "apache" (X-Sendfile).
MONTAGE_MEDIA_ACCEL = env.str("MONTAGE_MEDIA_ACCEL", default="")
MONTAGE_MEDIA_ACCEL_PREFIX = env.str("MONTAGE_MEDIA_ACCEL_PREFIX", default="/protected-media/")

MONTAGE_OPEN_SIGNUP = env.bool("MONTAGE_OPEN_SIGNUP", default=True)
# The studio's public address (https://studio.example): links in e-mails, provider webhooks,
# media URLs in exported .otio/EDL files. Unset, exports use the address they were asked from.
MONTAGE_PUBLIC_URL = env("MONTAGE_PUBLIC_URL", default="")
# The largest .otioz bundle (the cut's media inside) an export writes; past it, only the .otio.
MONTAGE_EXPORT_BUNDLE_MAX_MB = env.int("MONTAGE_EXPORT_BUNDLE_MAX_MB", default=4096)
MONTAGE_PRESENCE_TTL_SECONDS = env.int("MONTAGE_PRESENCE_TTL_SECONDS", default=60)

# --- REST framework ------------------------------------------------------------------------
# Request bodies the API parses: at most this many bytes (413 `too_large`) and this deep (400
# `too_deep`). Django refuses larger form/JSON bodies too. Local upload PUTs stream their bytes
# to disk and are bounded by MONTAGE_UPLOAD_MAX_BYTES instead.
MONTAGE_API_MAX_JSON_BYTES = env.int("MONTAGE_API_MAX_JSON_BYTES", default=1024 * 1024)
MONTAGE_API_MAX_JSON_DEPTH = env.int("MONTAGE_API_MAX_JSON_DEPTH", default=64)
DATA_UPLOAD_MAX_MEMORY_SIZE = MONTAGE_API_MAX_JSON_BYTES
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first so that an anonymous request gets 401 with WWW-Authenticate.
        "apps.accounts.authentication.BearerOrTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.exceptions.exception_handler",
    "DEFAULT_PAGINATION_CLASS": None,
    # JSON bodies are bounded in size and depth (413 too_large / 400 too_deep).
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Everything under /api/ answers JSON (the browsable HTML pages are off; see /api/v1/docs/).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Montage API",
    "DESCRIPTION": "Public REST contract of the Montage studio (v1).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # request_id: the X-Request-ID of the request being handled ("-" outside one).
    "filters": {"request_id": {"()": "apps.core.middleware.RequestIdLogFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Generation ----------------------------------------------------------------------------
# Keys encrypting provider credentials at rest (Fernet: 32 url-safe base64 bytes each),
# comma-separated, newest first: the first encrypts, every one decrypts. To rotate, put a new
# key in front and run `manage.py rotate_credentials_key`. Unset, a key derived from SECRET_KEY
# is used (with a warning at start-up): set it in production. Keys derived from SECRET_KEY
# (and from the public development default) are always accepted to read old rows.
MONTAGE_CREDENTIALS_KEY = env("MONTAGE_CREDENTIALS_KEY", default="")
# Override a provider's base URL (tests point these at local fake servers):
# MONTAGE_BACKEND_URLS='{"runway": "http://127.0.0.1:9001"}'
MONTAGE_BACKEND_URLS = env.json("MONTAGE_BACKEND_URLS", default={})
# Private addresses that provider calls may reach anyway (comma-separated host names,
# addresses and networks), e.g. a ComfyUI box on the LAN: "comfy.lan,192.168.1.20,10.0.0.0/8".
# Everything else that is loopback, private, link-local or metadata is refused (apps.core.netguard).
MONTAGE_PROVIDER_ALLOWED_HOSTS = env("MONTAGE_PROVIDER_ALLOWED_HOSTS", default="")
# Concurrency per backend and credential, shared by all workers (Redis); overrides defaults.
MONTAGE_BACKEND_CONCURRENCY = env.json("MONTAGE_BACKEND_CONCURRENCY", default={})
MONTAGE_GENERATION_STUCK_SECONDS = env.int("MONTAGE_GENERATION_STUCK_SECONDS", default=2 * 3600)
MONTAGE_WEBHOOK_SECRET = env("MONTAGE_WEBHOOK_SECRET", default="")

# --- Rendering (exports) -------------------------------------------------------------------
# Conformed shots and segment masters, cached by content hash so unchanged shots are never
# encoded twice. Every render worker should see the same folder: on one machine a local
# directory; with render workers on several hosts, a shared volume (NFS, EFS, a compose
# volume, ...) mounted at the same path on each. (Without one exports still work, but the
# final step re-encodes the segments that other hosts rendered.) Safe to delete at any time.
MONTAGE_RENDER_CACHE_DIR = env.path("MONTAGE_RENDER_CACHE_DIR", default=str(VAR_DIR / "render-cache"))
# A running export whose heartbeat is older than this is taken for dead by the reaper
# (re-queued once, then failed). Longer than MONTAGE_JOB_STALE_SECONDS: an export's segment
# tasks may wait in the render queue behind other exports, and nothing beats while they wait.
MONTAGE_RENDER_STALE_SECONDS = env.int("MONTAGE_RENDER_STALE_SECONDS", default=15 * 60)

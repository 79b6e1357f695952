"""Kesu settings. Everything comes from ``KESU_*`` environment variables with safe embedded
defaults (SQLite in WAL mode under ``var/``); see ``.env.example`` for the full list."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: str = "False") -> bool:
    value = env(name, default).strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: int) -> int:
    value = env(name, str(default))
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from exc


DATA_DIR = Path(env("KESU_DATA_DIR", str(BASE_DIR / "var")))
DEBUG = envbool("KESU_DEBUG", "False")
SECRET_KEY = env("KESU_SECRET_KEY") or "kesu-insecure-development-key-change-me"
if not DEBUG and not env("KESU_SECRET_KEY") and envbool("KESU_PRODUCTION", "False"):
    raise ImproperlyConfigured("KESU_SECRET_KEY must be set in production")
ALLOWED_HOSTS = [h.strip() for h in env("KESU_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # serves Swagger UI from its bundled static files instead of a CDN
    "huey.contrib.djhuey",  # `kesu worker` (run_huey) loads every app's tasks.py
    "kesu.org",
    "kesu.complaints",
    "kesu.sla",
    "kesu.comms",
    "kesu.workbench",  # the handlers' pages (Django templates + vendored htmx)
    "captcha",  # django-simple-captcha: the portal's captcha after repeated failures
    "kesu.followups",  # follow-up visits, satisfaction surveys, closure checklist (SPEC §9)
    "kesu.portal",  # the customers' pages at /portal/ and /api/v1/public/
    "kesu.imports",  # kesu import / kesu export of complaints (CSV, Excel)
    "kesu.quality",  # investigation, responsibility and CAPA (SPEC §6)
]

AUTHENTICATION_BACKENDS = [
    "kesu.org.backends.SignedModelBackend",
    # Sessions made before it, which name Django's own backend, stay valid.
    "django.contrib.auth.backends.ModelBackend",
]

MIDDLEWARE = [
    # /healthz before host checks and the HTTPS redirect: load balancers probe by address.
    "kesu.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "kesu.lib.nul.NulGuardMiddleware",  # after the language is known: its message is translated
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kesu.urls"
WSGI_APPLICATION = "kesu.wsgi.application"
AUTH_USER_MODEL = "org.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Project-wide overrides of third-party templates (the admin index's calendar warning).
        "DIRS": [BASE_DIR / "kesu" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kesu.workbench.context.header",  # user's units, tier and role for the header
            ],
        },
    },
]


def _prepare_threshold() -> int | None:
    if env("KESU_DB_PREPARE_THRESHOLD", "5").strip().lower() in {"off", "none", ""}:
        return None
    threshold = envint("KESU_DB_PREPARE_THRESHOLD", 5)
    if threshold < 0:
        raise ImproperlyConfigured(f"KESU_DB_PREPARE_THRESHOLD must be 0 or more, or off, not {threshold}")
    return threshold


def _postgresql(db: dict) -> None:
    if db["ENGINE"] != "django.db.backends.postgresql":
        return
    # The health check skips its SELECT 1 when the socket shows the server has said nothing
    # since the last answer (kesu/lib/postgresql/base.py).
    db["ENGINE"] = "kesu.lib.postgresql"
    # Parameters travel apart from the statement, and a statement a connection has run
    # KESU_DB_PREPARE_THRESHOLD times is prepared on the server, which then stops parsing and
    # planning it: the same few statements serve every lookup and registration
    # (docs/performance.md, "Prepared statements"). "off" behind a PgBouncer older than 1.21
    # in transaction mode, which cannot route a prepared statement to its server connection.
    db.setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=_prepare_threshold())


def _database() -> dict:
    url = env("KESU_DATABASE_URL")
    # Created whatever the database: Huey's SQLite queue, media and static files live here too,
    # so a PostgreSQL setup on a fresh checkout needs it as much as an embedded one.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    if url:
        # Persistent connections are checked before reuse, so a restarted or failed-over
        # server costs a reconnect instead of an error on the first request after it.
        db = dj_database_url.parse(
            url, conn_max_age=envint("KESU_DB_CONN_MAX_AGE", 60), conn_health_checks=True
        )
        _postgresql(db)
    else:
        db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(DATA_DIR / "kesu.sqlite3")}
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN so
        # two writers queue on the busy timeout instead of failing with "database is locked"
        # when a read transaction tries to upgrade.
        db.setdefault("OPTIONS", {}).update(
            {
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                " PRAGMA foreign_keys=ON;",
            }
        )
        # Tests use a file, not the shared in-memory database, so concurrency tests see real
        # SQLite locking.
        db.setdefault("TEST", {})["NAME"] = str(DATA_DIR / f"test-{os.getpid()}.sqlite3")
    return db


DATABASES = {"default": _database()}
# A read replica (PostgreSQL streaming replication) for the report and list queries marked
# for it (kesu/replica.py). Never migrated; in tests it mirrors the default database.
if env("KESU_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        env("KESU_REPLICA_URL"), conn_max_age=envint("KESU_DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
    _postgresql(DATABASES["replica"])
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["kesu.replica.Router"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "kesu" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("KESU_MEDIA_ROOT", str(DATA_DIR / "media")))
# Static files are served by WhiteNoise from the web processes. Without KESU_STATIC_COLLECTED
# they come straight from the apps' folders (`kesu serve` needs no collectstatic step); with it
# (production, after `kesu collectstatic`) from STATIC_ROOT under content-hashed names that
# browsers may cache for a year.
STATIC_COLLECTED = envbool("KESU_STATIC_COLLECTED", "False")
STATIC_ROOT = Path(env("KESU_STATIC_ROOT", str(STATIC_ROOT)))
WHITENOISE_USE_FINDERS = not STATIC_COLLECTED
if not STATIC_COLLECTED:
    # WhiteNoise warns on every start (and in every test) when STATIC_ROOT is missing.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)


def s3_storage(environ: Mapping[str, str]) -> dict | None:
    """The attachments' storage on an S3-compatible object store (AWS S3, Aliyun OSS, Tencent
    COS, MinIO, Ceph) through django-storages, when KESU_S3_BUCKET is set; else None (files
    under MEDIA_ROOT). Objects are private: attachments are only ever streamed through the
    permission-checked download endpoint, never linked to directly."""
    bucket = environ.get("KESU_S3_BUCKET", "")
    if not bucket:
        return None
    options = {
        "bucket_name": bucket,
        "endpoint_url": environ.get("KESU_S3_ENDPOINT_URL") or None,
        "region_name": environ.get("KESU_S3_REGION") or None,
        "access_key": environ.get("KESU_S3_ACCESS_KEY_ID") or None,
        "secret_key": environ.get("KESU_S3_SECRET_ACCESS_KEY") or None,
        "location": environ.get("KESU_S3_PREFIX", "attachments").strip("/"),
        # "path" for MinIO and most self-hosted stores; "virtual" for OSS/COS; unset: boto3's.
        "addressing_style": environ.get("KESU_S3_ADDRESSING_STYLE") or None,
        "signature_version": "s3v4",
        "default_acl": None,  # the bucket's (private) policy
        "file_overwrite": False,  # two uploads of 发票.jpg keep both
        "querystring_auth": True,
    }
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


STORAGES = {
    "default": s3_storage(os.environ) or {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_COLLECTED else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}

# Attachments (R-IN-3): limits a clerk can rely on; the type is checked by content, not name.
KESU_MAX_ATTACHMENT_BYTES = envint("KESU_MAX_ATTACHMENT_MB", 20) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# The workbench's login page; the admin keeps its own at /admin/login/.
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("KESU_LOG_LEVEL", "WARNING")},
}

# --- Background worker and notifications (R-CM-5) ----------------------------------------
# Huey: SQLite storage in the data directory by default (nothing to install), Redis when
# KESU_REDIS_URL is set (several worker hosts). Results are not kept: tasks are fire-and-forget.
REDIS_URL = env("KESU_REDIS_URL")
HUEY = {
    "name": env("KESU_HUEY_NAME", "kesu"),
    "huey_class": "huey.RedisHuey" if REDIS_URL else "kesu.worker.SqliteHuey",
    "results": False,
    "immediate": envbool("KESU_HUEY_IMMEDIATE", "False"),  # run tasks inline (no worker)
    "connection": {"url": REDIS_URL} if REDIS_URL else {"filename": str(DATA_DIR / "huey.sqlite3")},
    "consumer": {
        "workers": envint("KESU_WORKERS", 2),
        "worker_type": "thread",
        # SIGTERM (systemd, `kesu run`) lets running deliveries finish; SIGINT stops at once.
        "graceful_signal": "TERM",
        "shutdown_timeout": 30,
    },
}


def _email(url: str) -> dict:
    """KESU_EMAIL_URL: smtp://user:pass@host:port (plain), smtp+tls://… (STARTTLS),
    smtps://… (TLS from the start), or console:// (print; the default)."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url or "console://")
    scheme = parts.scheme.lower()
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme not in {"smtp", "smtp+tls", "smtps", "smtp+ssl"}:
        raise ImproperlyConfigured(
            f"KESU_EMAIL_URL must start with smtp://, smtp+tls://, smtps:// or console://, not {scheme}://"
        )
    if not parts.hostname:
        raise ImproperlyConfigured("KESU_EMAIL_URL has no host")
    ssl = scheme in {"smtps", "smtp+ssl"}
    try:
        port = parts.port or (465 if ssl else 587 if scheme == "smtp+tls" else 25)
    except ValueError as exc:
        raise ImproperlyConfigured(f"KESU_EMAIL_URL has a bad port: {exc}") from exc
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": scheme == "smtp+tls",
        "EMAIL_USE_SSL": ssl,
    }


_EMAIL = _email(env("KESU_EMAIL_URL"))
EMAIL_BACKEND = _EMAIL["EMAIL_BACKEND"]
EMAIL_HOST = _EMAIL.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _EMAIL.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _EMAIL.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _EMAIL.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _EMAIL.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _EMAIL.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = envint("KESU_EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env("KESU_EMAIL_FROM", "kesu@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Right-hand side of notification Message-IDs (<sha1(dedupe key)@domain>).
KESU_MESSAGE_ID_DOMAIN = env("KESU_MESSAGE_ID_DOMAIN") or DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(">") or "kesu"

KESU_SMS_BACKEND = env("KESU_SMS_BACKEND", "log")
if KESU_SMS_BACKEND not in {"log", "aliyun"}:
    raise ImproperlyConfigured(f"KESU_SMS_BACKEND must be log or aliyun, not {KESU_SMS_BACKEND!r}")
KESU_SMS_ACCESS_KEY_ID = env("KESU_SMS_ACCESS_KEY_ID")
KESU_SMS_ACCESS_KEY_SECRET = env("KESU_SMS_ACCESS_KEY_SECRET")
KESU_SMS_SIGN_NAME = env("KESU_SMS_SIGN_NAME")
KESU_SMS_ENDPOINT = env("KESU_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/")
KESU_SMS_REGION = env("KESU_SMS_REGION", "cn-hangzhou")
# The provider's approved template per notification kind (KESU_SMS_TEMPLATE_CODE_ACKNOWLEDGEMENT
# =SMS_123…), falling back to KESU_SMS_TEMPLATE_CODE.
KESU_SMS_TEMPLATE_CODE = env("KESU_SMS_TEMPLATE_CODE")
KESU_SMS_TEMPLATE_CODES = {
    name[len("KESU_SMS_TEMPLATE_CODE_"):].lower(): value
    for name, value in os.environ.items()
    if name.startswith("KESU_SMS_TEMPLATE_CODE_") and value
}
if KESU_SMS_BACKEND == "aliyun" and not (
    KESU_SMS_ACCESS_KEY_ID and KESU_SMS_ACCESS_KEY_SECRET and KESU_SMS_SIGN_NAME
):
    raise ImproperlyConfigured(
        "KESU_SMS_BACKEND=aliyun needs KESU_SMS_ACCESS_KEY_ID, KESU_SMS_ACCESS_KEY_SECRET and KESU_SMS_SIGN_NAME"
    )
KESU_WEBHOOK_TIMEOUT = envint("KESU_WEBHOOK_TIMEOUT", 10)

# Delivery: a claim older than this belongs to a dead worker (keep it above the slowest send:
# EMAIL_TIMEOUT, KESU_WEBHOOK_TIMEOUT); after this many attempts a notification is given up.
KESU_NOTIFY_CLAIM_TIMEOUT = envint("KESU_NOTIFY_CLAIM_TIMEOUT", 300)
KESU_NOTIFY_MAX_ATTEMPTS = envint("KESU_NOTIFY_MAX_ATTEMPTS", 8)

# --- Customer portal and follow-up (SPEC section 9, R-AX-3, R-IN-6) -----------------------
# The address customers reach the site at: links in SMS and emails (survey links, the lookup
# page in the acknowledgement) start with it.
KESU_PUBLIC_URL = env("KESU_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# The unit that receives portal submissions (a unit code); default: the organisation's root.
KESU_PORTAL_UNIT = env("KESU_PORTAL_UNIT")
KESU_PORTAL_MAX_PHOTOS = envint("KESU_PORTAL_MAX_PHOTOS", 6)
KESU_PORTAL_MAX_PHOTO_BYTES = envint("KESU_PORTAL_MAX_PHOTO_MB", 10) * 1024 * 1024
# Abuse limits (per client IP, per phone, per complaint number); see kesu/portal/README.md.
KESU_PORTAL_SUBMITS_PER_IP_HOUR = envint("KESU_PORTAL_SUBMITS_PER_IP_HOUR", 10)
KESU_PORTAL_SUBMITS_PER_PHONE_DAY = envint("KESU_PORTAL_SUBMITS_PER_PHONE_DAY", 5)
KESU_PORTAL_LOOKUP_FAILURES_PER_IP_HOUR = envint("KESU_PORTAL_LOOKUP_FAILURES_PER_IP_HOUR", 20)
KESU_PORTAL_LOOKUP_FAILURES_PER_NUMBER_HOUR = envint("KESU_PORTAL_LOOKUP_FAILURES_PER_NUMBER_HOUR", 10)
KESU_PORTAL_CAPTCHA_AFTER = envint("KESU_PORTAL_CAPTCHA_AFTER", 3)
# Behind a reverse proxy that sets X-Forwarded-For, the client is its last hop's address.
KESU_TRUST_X_FORWARDED_FOR = envbool("KESU_TRUST_X_FORWARDED_FOR", "False")

# Rate-limit counters must be shared by every web process (gunicorn workers, several hosts):
# Redis when KESU_REDIS_URL is set, else a table in the database (created by the portal's
# migration). The default cache stays per-process; nothing shared lives there.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
         "KEY_PREFIX": "kesu-rl"}
        if REDIS_URL else
        {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "kesu_ratelimit_cache",
         "OPTIONS": {"MAX_ENTRIES": 100_000}}
    ),
}
CAPTCHA_LENGTH = 4
CAPTCHA_TIMEOUT = 10  # minutes
CAPTCHA_FONT_SIZE = 32
CAPTCHA_IMAGE_SIZE = (120, 44)

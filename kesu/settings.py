"""Kesu settings. Everything comes from ``KESU_*`` environment variables with safe embedded
defaults (SQLite in WAL mode under ``var/``); see ``.env.example`` for the full list."""

from __future__ import annotations

import os
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
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
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
# Serve app static files straight from their folders: `kesu serve` needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
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

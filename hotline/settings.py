"""Settings, read from the environment; every value has an embedded default.

Embedded (nothing set): SQLite under ``var/``, in-process channel layer, Huey on SQLite.
Distributed: set ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL``; nothing else in the
code knows which mode it runs in.
"""

import os
import sys
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("HOTLINE_VAR_DIR", Path.cwd() / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in var/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        from django.core.management.utils import get_random_secret_key

        key_file.write_text(get_random_secret_key())
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("HOTLINE_DEBUG", False)
ALLOWED_HOSTS = [h for h in os.environ.get("HOTLINE_ALLOWED_HOSTS", "*").split(",") if h]
# Reverse proxies (nginx) whose X-Real-IP header is believed; from anyone else it is
# ignored, so that a client cannot write a false address into the audit log.
HOTLINE_TRUSTED_PROXIES = frozenset(
    p.strip() for p in os.environ.get("HOTLINE_TRUSTED_PROXIES", "").split(",") if p.strip()
)
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("HOTLINE_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "ninja",
    "channels",
    "huey.contrib.djhuey",
    "hotline.core",
    "hotline.search",
    "hotline.workorders",
    "hotline.knowledge",
    "hotline.contact",
    "hotline.groups",
    "hotline.analytics",
    "hotline.telephony",
    "hotline.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "hotline.core.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "hotline.core.middleware.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "hotline.core.middleware.IdleTimeoutMiddleware",
    "hotline.core.middleware.ForcePasswordChangeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "hotline.urls"
ASGI_APPLICATION = "hotline.asgi.application"
WSGI_APPLICATION = "hotline.wsgi.application"

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
                "hotline.web.context_processors.shell",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'hotline.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + IMMEDIATE transactions: readers never block the writer, and two writers
    # queue on the lock instead of failing with "database is locked" mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    # psycopg's auto-prepared generic plans were measured 500x slower on pg_trgm queries.
    _options["prepare_threshold"] = None
    # Under ASGI every request runs its sync part on a thread of its own, each with its own
    # connection: a burst of 500 citizens opened 500 and PostgreSQL refused past its 100.
    # A pool per process caps them; requests wait for a free connection instead. (The
    # test process keeps plain connections: its live-server threads hold theirs for good.)
    DB_POOL_SIZE = int(os.environ.get("HOTLINE_DB_POOL", "0" if "pytest" in sys.modules else "16"))
    if DB_POOL_SIZE:
        _options["pool"] = {"min_size": 2, "max_size": DB_POOL_SIZE, "timeout": 30}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- bus, cache, worker ---------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# Pushes a screen has not yet taken (a desk or a chat whose process is busy) wait in its
# channel; past this many the bus drops the newest, so the default 100 is far too few for
# a burst of contacts.
CHANNEL_CAPACITY = 2000
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 reads with a 5 s socket timeout by default, which cuts the layer's
            # blocking 5 s BZPOPMIN and closes every idle WebSocket (channels_redis#422):
            # allow the blocking read, still notice a Redis that has gone away.
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
                "capacity": CHANNEL_CAPACITY,
            },
        }
    }
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "hotline",
        "url": REDIS_URL,
        "immediate": False,
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": CHANNEL_CAPACITY},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "hotline",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": False,
    }
# Tests run tasks inline unless a test starts a real consumer.
if env_bool("HOTLINE_TASKS_IMMEDIATE", False):
    HUEY = {"huey_class": "huey.MemoryHuey", "name": "hotline-test", "immediate": True}

# --- auth and security (R-SEC-1) -------------------------------------------------------
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = ["hotline.core.auth.LockoutBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
if env_bool("HOTLINE_FAST_PASSWORD_HASHER", False):  # test suite only
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "hotline.core.passwords.PolicyValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Idle timeout is enforced by IdleTimeoutMiddleware from the security policy; the cookie
# itself lives for a working day so that the policy, not the cookie, decides.
SESSION_COOKIE_AGE = 12 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("HOTLINE_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- i18n -------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static -----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise expects it even when serving from finders
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_USE_FINDERS = True  # serve straight from the package when collectstatic was not run

# --- logging ----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("HOTLINE_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "huey": {"level": "WARNING"},
    },
}

# --- outbound mail and SMS (notifications) ----------------------------------------------
EMAIL_HOST = os.environ.get("HOTLINE_SMTP_HOST", "localhost")
EMAIL_PORT = env_int("HOTLINE_SMTP_PORT", 25)
EMAIL_HOST_USER = os.environ.get("HOTLINE_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("HOTLINE_SMTP_PASSWORD", "")
EMAIL_USE_TLS = env_bool("HOTLINE_SMTP_TLS", False)
EMAIL_USE_SSL = env_bool("HOTLINE_SMTP_SSL", False)
EMAIL_TIMEOUT = env_int("HOTLINE_SMTP_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("HOTLINE_MAIL_FROM", "12345@localhost")
HOTLINE_SMS_URL = os.environ.get("HOTLINE_SMS_URL", "")  # the HTTP SMS gateway
HOTLINE_SMS_TEMPLATE = os.environ.get(
    "HOTLINE_SMS_TEMPLATE", ""
)  # {platform} {title} {body} {link}
HOTLINE_SMS_TOKEN = os.environ.get("HOTLINE_SMS_TOKEN", "")
HOTLINE_SMS_TIMEOUT = env_int("HOTLINE_SMS_TIMEOUT", 10)
# The gateway's wire format (hotline.core.sms: generic-json | signed-form), its overrides
# as JSON, and the credentials and template of a signed vendor (docs/channels/sms.md).
HOTLINE_SMS_PROFILE = os.environ.get("HOTLINE_SMS_PROFILE", "")
HOTLINE_SMS_OVERRIDES = os.environ.get("HOTLINE_SMS_OVERRIDES", "")
HOTLINE_SMS_APPKEY = os.environ.get("HOTLINE_SMS_APPKEY", "")
HOTLINE_SMS_SECRET = os.environ.get("HOTLINE_SMS_SECRET", "")
HOTLINE_SMS_SIGN_NAME = os.environ.get("HOTLINE_SMS_SIGN_NAME", "")
HOTLINE_SMS_TEMPLATE_ID = os.environ.get("HOTLINE_SMS_TEMPLATE_ID", "")
HOTLINE_SITE_URL = os.environ.get("HOTLINE_SITE_URL", "")  # prefix for links in SMS and mail

# --- hotline-specific ---------------------------------------------------------------------
# Working hours of a working day, used by add_working_hours (deadline arithmetic).
HOTLINE_WORKING_HOURS = os.environ.get("HOTLINE_WORKING_HOURS", "08:00-12:00,14:00-18:00")
HOTLINE_PLATFORM_NAME = os.environ.get("HOTLINE_PLATFORM_NAME", "12345政务服务便民热线")

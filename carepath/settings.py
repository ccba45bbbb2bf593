"""CarePath settings: one module, driven by environment variables (docs/design.md §8).

Every variable has a safe default for a developer's machine; production sets DEBUG=false,
SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and CELERY_BROKER_URL (see docker-compose.yml).
The helpers that read them (carepath/env.py) fail loudly on a value they cannot read rather than guessing.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from carepath.env import env_bool, env_int, env_list, env_str
from carepath.openapi import OPENAPI
from carepath.storage_settings import attachment_storage

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CAREPATH_VAR_DIR", BASE_DIR / "var"))

DEBUG = env_bool("DEBUG", False)
# The fallback key is only for development and tests; `check --deploy` refuses it (carepath/checks.py).
INSECURE_DEFAULT_SECRET_KEY = "django-insecure-carepath-development-only-key-change-me"
SECRET_KEY = env_str("SECRET_KEY", INSECURE_DEFAULT_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here, never a CDN
    "django_htmx",
    "carepath.apps.CarepathConfig",
    "imaging.apps.ImagingConfig",
    "referrals.apps.ReferralsConfig",
    "integrations.apps.IntegrationsConfig",
    "carepath.api.apps.ApiConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "carepath.web.headers.SecurityHeadersMiddleware",  # CSP and no-store on everything but static files
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "carepath.web.idle.IdleTimeoutMiddleware",
    "carepath.web.middleware.AuditChannelMiddleware",
    "carepath.web.middleware.ReleaseResponseDataMiddleware",
    "carepath.web.middleware.DomainErrorPagesMiddleware",  # Forbidden → 403 page, once for every view
]

ROOT_URLCONF = "carepath.urls"
WSGI_APPLICATION = "carepath.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "carepath.web.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'carepath.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # SQLite is the zero-setup demo database: wait for the writer lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiles any query its planner costs above 100,000: the MRI board's ranking
    # (~0.1 s) spent ~40 ms more compiling than it saved. Short queries only here, so no JIT; a URL
    # `?options=` wins (docs/decisions.md, "No JIT").
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Python's cyclic garbage collector: collect the youngest generation after this many new objects
# (Python's default, 700, ran a ~2.5 ms collection every few API requests); 0 leaves Python's
# settings alone. Objects alive once the apps are loaded are frozen out of every later collection.
CAREPATH_GC_THRESHOLD = env_int("CAREPATH_GC_THRESHOLD", 5000)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# A browser that signed in to an account remembers it this long (a signed cookie): its attempts at
# that account are not refused by its address's sign-in lock (carepath/web/signin.py; docs/security.md).
LOGIN_DEVICE_COOKIE_DAYS = env_int("LOGIN_DEVICE_COOKIE_DAYS", 90)
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
USE_I18N = True
USE_TZ = True
# Stored times are UTC; this zone is only for display and for messages to families.
TIME_ZONE = env_str("CAREPATH_TIME_ZONE", "Europe/London")

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
try:  # whitenoise warns on every request when the folder is missing (before the first collectstatic)
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
except OSError:
    pass
STORAGES = {
    "default": attachment_storage(),  # MEDIA_ROOT, or a private bucket if CAREPATH_S3_BUCKET (storage_settings.py)
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Attachments (referrals/attachments/; docs/security.md, "Attachments") -------------------------
# Private: under var/, never served by WhiteNoise or a URL of its own; files leave only through the
# attachment views, which check access and audit every read. With CAREPATH_S3_BUCKET set they go to
# that S3-compatible bucket instead (carepath/storage_settings.py; docs/decisions.md, "Attachments
# in an S3-compatible bucket"), read and served the same way.
MEDIA_ROOT = Path(env_str("CAREPATH_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = None  # no public URL: there is nothing to serve media from
CAREPATH_ATTACHMENT_MAX_VIDEO_MB = env_int("CAREPATH_ATTACHMENT_MAX_VIDEO_MB", 200)
CAREPATH_ATTACHMENT_MAX_OTHER_MB = env_int("CAREPATH_ATTACHMENT_MAX_OTHER_MB", 25)  # photos and PDFs
CAREPATH_UPLOAD_LINK_DAYS = env_int("CAREPATH_UPLOAD_LINK_DAYS", 7)
# Who the family's upload link says it is from (the text and e-mail name the clinic, not the condition).
CAREPATH_CLINIC_NAME = env_str("CAREPATH_CLINIC_NAME", "the children's neurology clinic")
# A dotted path to `scan(file) -> str | None` (None: clean; else the threat's name); empty: no scan.
CAREPATH_ATTACHMENT_SCANNER = env_str("CAREPATH_ATTACHMENT_SCANNER", "")

# --- Security (production values unless DEBUG) -------------------------------------------------
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 30 * 60)
# Idle timeout: signed out 30 minutes after the last request a person made; background refreshes
# do not count (carepath/web/idle.py), so the session is saved by activity, not by every request.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# A TLS-terminating proxy in front (docker-compose's `proxy`, or the trust's own) that sets
# X-Forwarded-Proto and appends the client's address to X-Forwarded-For. Only then are those headers
# believed: without a proxy they are whatever the client sent (docs/security.md, "Proxy and HTTPS").
CAREPATH_BEHIND_PROXY = env_bool("CAREPATH_BEHIND_PROXY", False)
if CAREPATH_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# Content-Security-Policy of every page and answer (carepath/web/headers.py): our own origin only, no
# inline script or style. `data:` images: the admin's and Swagger UI's icons.
CAREPATH_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "media-src": "'self'",  # attachments' videos, streamed by our own views
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

# --- Cache (sign-in and API throttles) -------------------------------------------------------------
# Throttle counters must be shared by every web process in production: set CACHE_URL=redis://…
CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            # a Redis that hangs fails a sign-in's throttle check in a second, rather than holding it
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
elif CACHE_URL:
    raise ImproperlyConfigured(f"CACHE_URL={CACHE_URL!r}: only redis:// URLs are supported")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- E-mail ----------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))  # for the file-based backend (./dev up)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# A send must finish well inside half the delivery lease (carepath/notify/delivery.py), or a slow mail
# server could let a second sender take over a message still in flight.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "CarePath <carepath@localhost>")
CAREPATH_BASE_URL = env_str("CAREPATH_BASE_URL", "http://127.0.0.1:8000")

# --- Celery (docs/design.md §4) -------------------------------------------------------------------------
# Default broker needs no server: kombu's filesystem transport in var/broker.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # the fanout exchange table; kombu's default is `control/` in the working directory
        "control_folder": str(_broker_dir / "control"),
    }
else:
    # Longer than the longest task, so an unacknowledged message is not redelivered while it runs.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Beat only triggers the sweep; due times are rows (carepath/timers/scheduling.py, docs/timers.md).
CELERY_BEAT_SCHEDULE: dict = {
    "tick": {"task": "carepath.tick", "schedule": 60.0, "options": {"expires": 55}},
    # outbound webhooks and FHIR notifications: due retries, lost messages (integrations/outbox/tasks.py)
    "integrations-tick": {"task": "integrations.tick", "schedule": 60.0, "options": {"expires": 55}},
    # stored Idempotency-Key answers past IDEMPOTENCY_KEY_TTL_HOURS (carepath/api/idempotency.py)
    "purge-idempotency-keys": {
        "task": "carepath.purge_idempotency_keys",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
    # orders to the RIS whose retry time has come (integrations/hl7/outbound.py)
    "hl7-outbound": {"task": "integrations.hl7_deliver_due", "schedule": 60.0, "options": {"expires": 55}},
}
# Let a running task finish when the broker goes away: killing it mid-send is what could send twice;
# its rows say whether the work is done, so a redelivered copy changes nothing.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CAREPATH_TICK_BATCH = env_int("CAREPATH_TICK_BATCH", 500)  # timers per fire_timers task
# A fired timer whose work has not finished after this long is claimed again (its message was lost).
CAREPATH_TIMER_LEASE_SECONDS = env_int("CAREPATH_TIMER_LEASE_SECONDS", 600)
CAREPATH_TIMER_MAX_ATTEMPTS = env_int("CAREPATH_TIMER_MAX_ATTEMPTS", 5)
# An unsent delivery is re-queued by tick after this long; failures back off exponentially.
CAREPATH_DELIVERY_LEASE_SECONDS = env_int("CAREPATH_DELIVERY_LEASE_SECONDS", 300)
CAREPATH_DELIVERY_BACKOFF_SECONDS = env_int("CAREPATH_DELIVERY_BACKOFF_SECONDS", 60)
CAREPATH_DELIVERY_MAX_ATTEMPTS = env_int("CAREPATH_DELIVERY_MAX_ATTEMPTS", 6)
# Outbound webhooks and FHIR notifications (integrations/outbox/sending.py, docs/integrations.md):
# retries after 1, 2, 4 … 2048 minutes, ~2.8 days in all, then a dead letter.
CAREPATH_WEBHOOK_BACKOFF_SECONDS = env_int("CAREPATH_WEBHOOK_BACKOFF_SECONDS", 60)
CAREPATH_WEBHOOK_MAX_ATTEMPTS = env_int("CAREPATH_WEBHOOK_MAX_ATTEMPTS", 13)
CAREPATH_WEBHOOK_TIMEOUT_SECONDS = env_int("CAREPATH_WEBHOOK_TIMEOUT_SECONDS", 10)
# How often the outbox relay (`manage.py outbox_relay`) looks for committed events when none waits.
CAREPATH_OUTBOX_RELAY_INTERVAL_MS = env_int("CAREPATH_OUTBOX_RELAY_INTERVAL_MS", 200)
CAREPATH_SMS_CHANNEL = env_str("CAREPATH_SMS_CHANNEL", "carepath.notify.delivery.LoggingSmsChannel")

# --- HL7 v2 with the RIS (docs/integrations.md, "HL7 v2") ------------------------------------------
# The MLLP listener (`manage.py hl7_listen`) and the integration user its messages are recorded as.
HL7_MLLP_HOST = env_str("HL7_MLLP_HOST", "127.0.0.1")
HL7_MLLP_PORT = env_int("HL7_MLLP_PORT", 2575)
HL7_MLLP_USER = env_str("HL7_MLLP_USER", "ris.client")
# Where the orders go (ORM^O01 over MLLP); empty: orders wait, pending, until it is set.
HL7_RIS_HOST = env_str("HL7_RIS_HOST", "")
HL7_RIS_PORT = env_int("HL7_RIS_PORT", 2576)
HL7_OUTBOUND_MAX_ATTEMPTS = env_int("HL7_OUTBOUND_MAX_ATTEMPTS", 8)
HL7_OUTBOUND_BACKOFF_SECONDS = env_int("HL7_OUTBOUND_BACKOFF_SECONDS", 30)

# --- Pathway rules (settings so a trust can tune them without a release) ----------------------
# Sedation default by age (docs/design.md §3): feed-and-wrap up to 6 months, general anaesthesia from
# 6 months to the end of the 6th year, awake from 7 years.
SEDATION_FEED_AND_WRAP_UNDER_MONTHS = env_int("SEDATION_FEED_AND_WRAP_UNDER_MONTHS", 6)
SEDATION_AWAKE_FROM_YEARS = env_int("SEDATION_AWAKE_FROM_YEARS", 7)
# Pre-sedation fasting ("6-4-1": solids and formula 6 h, breast milk 4 h, clear fluids 1 h;
# APAGBI 2018 consensus on clear fluids).
FASTING_HOURS = {
    "solids": env_int("FASTING_SOLIDS_HOURS", 6),
    "milk": env_int("FASTING_MILK_HOURS", 4),
    "clear_fluids": env_int("FASTING_CLEAR_FLUIDS_HOURS", 1),
}
MRI_MISSED_GRACE_MINUTES = env_int("MRI_MISSED_GRACE_MINUTES", 120)
# MRI slots start on this grid (minutes) from each scanner session's start (docs/capacity.md).
CAREPATH_SLOT_GRID_MINUTES = max(1, env_int("CAREPATH_SLOT_GRID_MINUTES", 15))
# A hold keeps an MRI slot for one request this long while the coordinator books it (docs/capacity.md).
CAREPATH_SLOT_HOLD_MINUTES = env_int("CAREPATH_SLOT_HOLD_MINUTES", 10)
OUTCOME_AUTO_CLOSE_DAYS = env_int("OUTCOME_AUTO_CLOSE_DAYS", 14)
# A follow-up visit still unrecorded this many days after its step fell due (a week after the planned
# date) is missed: a review opens for neurology (referrals/followup/services.py); never a discharge.
FOLLOW_UP_MISSED_AFTER_DAYS = env_int("FOLLOW_UP_MISSED_AFTER_DAYS", 7)
# People in imaging (coordinators, neuroradiologists) see a case while its MRI is open and for this
# many days after the report is signed or the request cancelled (carepath/pathway/access.py, docs/security.md).
CAREPATH_IMAGING_ACCESS_DAYS = env_int("CAREPATH_IMAGING_ACCESS_DAYS", 30)
# Families get the fasting reminder early on the day of a sedated scan (local time).
FAMILY_MORNING_REMINDER_HOUR = env_int("FAMILY_MORNING_REMINDER_HOUR", 6)

# --- REST framework (docs/design.md §5; docs/api.md) ------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "carepath.api.tokens.BearerTokenAuthentication",  # first: its challenge makes anonymous calls 401
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["carepath.api.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "carepath.api.negotiation.ContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["carepath.api.filtering.GivenFiltersBackend"],
    "DEFAULT_PAGINATION_CLASS": "carepath.api.pagination.CarePathCursorPagination",
    "PAGE_SIZE": 25,
    "EXCEPTION_HANDLER": "carepath.api.problems.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "carepath.api.throttles.ClientRateThrottle",
        "carepath.api.throttles.AnonymousRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "client": env_str("API_THROTTLE_CLIENT", "1200/minute"),
        "anon": env_str("API_THROTTLE_ANON", "120/minute"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 24 * 30)
# How long a POST's first answer is replayed for its Idempotency-Key; older keys are new again.
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 24)
# How long a process may reuse a token row it read (docs/decisions.md, "Token look-ups"); 0: never.
API_TOKEN_CACHE_SECONDS = env_int("API_TOKEN_CACHE_SECONDS", 5)
# Failed token requests allowed per username and per client address in a sliding window (count, seconds).
API_FAILED_LOGIN_LIMIT = (env_int("API_FAILED_LOGIN_LIMIT", 10), env_int("API_FAILED_LOGIN_WINDOW", 15 * 60))
# The OpenAPI schema and docs page without signing in: development only, unless a trust opens them.
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", DEBUG)
SPECTACULAR_SETTINGS = OPENAPI  # carepath/openapi.py: the schema's title, UI assets and enum names

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

"""Benchmark settings: the production settings, plus a bare JSON view to compare against, plain HTTP
on localhost, and a request throttle the load generator (one client) never reaches."""

from carepath.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
SECURE_SSL_REDIRECT = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
# the request throttle stays on, as in production, with a rate the load generator never reaches
REST_FRAMEWORK = {  # noqa: F405
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"client": "100000000/minute", "anon": "100000000/minute"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

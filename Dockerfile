# Production image for web (gunicorn), worker and beat; see docker-compose.yml.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CAREPATH_VAR_DIR=/app/var STATIC_ROOT=/app/staticfiles
WORKDIR /app
COPY requirements.txt requirements.lock ./
# Runtime dependencies only, at the versions pinned in the lock file.
RUN pip install --no-cache-dir -c requirements.lock -r requirements.txt
COPY . .
# var/media exists in the image, owned by the app's user, so the `media` volume starts writable by it
RUN python manage.py collectstatic --noinput -v0 && useradd --system --home /app carepath \
    && mkdir -p /app/var/media && chown -R carepath /app/var
USER carepath
EXPOSE 8000
# gunicorn workers: WEB_CONCURRENCY, else one per CPU (docs/decisions.md, "Web server workers")
CMD ["sh", "-c", "export WEB_CONCURRENCY=${WEB_CONCURRENCY:-$(nproc)} && exec gunicorn carepath.wsgi:application --bind 0.0.0.0:8000 --access-logfile -"]

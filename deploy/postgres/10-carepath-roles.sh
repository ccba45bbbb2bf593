#!/bin/sh
# docker-compose's PostgreSQL runs this once, when its volume is first initialised
# (/docker-entrypoint-initdb.d). Two roles (docs/security.md, "Audit rows are tamper-proof"):
# carepath_owner owns the database and its tables and runs the migrations (the `migrate` service);
# carepath_app is what web, worker and beat connect as: `manage.py grant_app_role carepath_app`
# (run by `migrate`) lets it read and write every table but only INSERT and SELECT the audit log.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_pw="${CAREPATH_OWNER_PASSWORD:?set CAREPATH_OWNER_PASSWORD}" \
  -v app_pw="${CAREPATH_APP_PASSWORD:?set CAREPATH_APP_PASSWORD}" <<'SQL'
CREATE ROLE carepath_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE carepath_app LOGIN PASSWORD :'app_pw' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE DATABASE carepath OWNER carepath_owner;
REVOKE ALL ON DATABASE carepath FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE carepath TO carepath_app;
SQL

#!/usr/bin/env bash
# Install what tally needs on Debian 12, as root; idempotent.
#
# The build (compiler, meson, the libraries DESIGN.md names), the test oracle
# (PostgreSQL 15 server and psql), Debian's psycopg2 for the end-to-end suites, and
# the client runtimes later suites drive tallyd with (JDK + pgjdbc, node + npm).
# When every package is already installed this touches nothing and takes well under
# a second: dpkg-query decides, apt-get runs only for what is missing.
# node's `pg` package is not a Debian package: tests/e2e/auth_clients installs it with
# npm into the build directory on its first run, and the real-clients suite
# (tests/e2e/clients.sh) runs `npm ci` for pg + pg-cursor into BUILD/clients-work. That
# suite also needs pgbench (in postgresql-15), psql 15, python3-psycopg2, javac and
# Debian's pgjdbc, and openssl for its throwaway TLS certificate.
#   TALLY_SETUP_MINIMAL=1   skip the client runtimes (JDK, pgjdbc, node, npm)
set -euo pipefail

pkgs=(build-essential meson ninja-build pkg-config
      libpg-query-dev libprotobuf-c-dev libjemalloc-dev libxxhash-dev liburing-dev
      libssl-dev libcriterion-dev libpq-dev
      postgresql-15 postgresql-client-15 python3-psycopg2 openssl)
if [ "${TALLY_SETUP_MINIMAL:-0}" != 1 ]; then
    pkgs+=(default-jdk-headless libpostgresql-jdbc-java nodejs npm)
fi

missing=()
for p in "${pkgs[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] && continue
    # Some nodejs builds ship npm inside and conflict with Debian's npm package.
    [ "$p" = npm ] && command -v npm >/dev/null 2>&1 && continue
    missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#pkgs[@]} packages present"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "setup: missing packages: ${missing[*]}" >&2
    echo "setup: run as root (or install them) and retry" >&2
    exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian postgresql package creates and starts a "main" cluster on port 5432;
# tally's tests and bench start their own throwaway clusters and need none of it,
# but it is left alone: it may be someone's.
echo "setup: done"

#!/usr/bin/env bash
# Install what `make run` and `make test` need on a Debian machine: only what is missing, so it is
# cheap to run every time (`make run` and `make test` do). No Docker: PostgreSQL, RabbitMQ and
# Redis come from Debian packages, the MongoDB-wire server (secantusdb) and everything Python
# from the uv lock file.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf 'setup: %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "setup: need root (or sudo) to run: $*" >&2
        exit 1
    fi
}

have() { command -v "$1" >/dev/null 2>&1; }

# 1. Servers and tools from Debian, if their binaries are missing.
missing=()
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || ! have psql; then missing+=(postgresql); fi
if [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ] && [ ! -x /usr/sbin/rabbitmq-server ] && ! have rabbitmq-server; then
    missing+=(rabbitmq-server)
fi
if ! have redis-server && [ ! -x /usr/bin/redis-server ]; then missing+=(redis-server); fi
if ! have make; then missing+=(make); fi
# The ai service reads receipts with Tesseract OCR (English data; pytesseract calls the binary).
if ! have tesseract; then missing+=(tesseract-ocr tesseract-ocr-eng); fi
# deploy/tests checks the Prometheus config and proves the alert rules with promtool (Debian ships
# it in the prometheus package; policy-rc.d below keeps that package's server from starting).
if ! have promtool; then missing+=(prometheus); fi
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]} (apt-get)"
    # The runner and the tests start their own servers on their own ports: keep the packages from
    # starting system-wide ones now (they would only take memory and CPU; they start at next boot).
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
        as_root chmod 755 /usr/sbin/policy-rc.d
        trap 'as_root rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# 2. uv, if missing (from PyPI, with pip).
export PATH="$HOME/.local/bin:$PATH"
if ! have uv && ! python3 -m uv --version >/dev/null 2>&1; then
    say "installing uv (pip install uv)"
    pip install --quiet uv 2>/dev/null \
        || python3 -m pip install --quiet uv 2>/dev/null \
        || python3 -m pip install --quiet --user uv 2>/dev/null \
        || python3 -m pip install --quiet --user --break-system-packages uv
    if have pyenv; then pyenv rehash 2>/dev/null || true; fi
fi
if have uv; then uv=(uv); else uv=(python3 -m uv); fi

# 3. The workspace: every member and the dev tools, exactly as locked. Byte-compiled once, so the
#    fifteen processes of `make run` and the test fleet import in about a third of the time.
"${uv[@]}" sync --all-packages --frozen --compile-bytecode --quiet

#!/bin/sh
# Installs what amrouter needs to build and test on Debian 12, only when
# something is missing: build libraries (checked with pkg-config) and the real
# peers the tests use (Alertmanager + amtool, Prometheus, an SMTP server,
# Chromium). Uses sudo when not root. Does nothing when all is present.
set -eu

BUILD_PKGS="build-essential pkg-config libmicrohttpd-dev libcurl4-openssl-dev libyaml-dev \
libsqlite3-dev libjansson-dev libpcre2-dev libssl-dev libcmocka-dev"
TEST_PKGS="prometheus-alertmanager prometheus python3-aiosmtpd sqlite3 curl chromium"

missing=""
for mod in libmicrohttpd libcurl yaml-0.1 sqlite3 jansson libpcre2-8 libcrypto cmocka; do
    if ! pkg-config --exists "$mod" 2>/dev/null; then
        missing="$BUILD_PKGS"
        break
    fi
done
command -v cc >/dev/null 2>&1 || missing="$BUILD_PKGS"
if [ "${AMR_SKIP_TEST_DEPS:-0}" != 1 ]; then
    for cmd in prometheus-alertmanager amtool prometheus promtool sqlite3 curl chromium; do
        command -v "$cmd" >/dev/null 2>&1 || { missing="$missing $TEST_PKGS"; break; }
    done
    /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || missing="$missing $TEST_PKGS"
fi
[ -n "$missing" ] || exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "install-deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing

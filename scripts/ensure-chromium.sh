#!/usr/bin/env bash
# Make sure headless Chromium (Debian package `chromium`) is installed, for the HTML report tests.
# Idempotent: does nothing when /usr/bin/chromium exists. Installs with apt-get only as root;
# otherwise it says why not and exits 0 (the tests that need Chromium then skip, or fail on CI).
set -uo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    echo "ensure-chromium: $CHROMIUM is installed"
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "ensure-chromium: $CHROMIUM is missing and this is not root; install it with:" \
        "sudo apt-get install -y chromium"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: $CHROMIUM is missing and apt-get is not available; install Chromium" \
        "with this system's package manager"
    exit 0
fi
echo "ensure-chromium: installing chromium with apt-get (takes a minute)"
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq && apt-get install -y -qq chromium >/dev/null; then
    echo "ensure-chromium: installed $($CHROMIUM --version 2>/dev/null)"
else
    echo "ensure-chromium: apt-get could not install chromium; the HTML browser tests will skip" \
        "(or fail when CI=true)"
fi
exit 0

#!/usr/bin/env bash
# Make sure headless Chromium (Debian package `chromium`) is installed, for the HTML report tests.
# Idempotent: does nothing when Chromium is installed. Before installing anything it says what it
# will install: the Debian packages (chromium and every dependency apt pulls in, and any package
# it upgrades), where (system-wide, under /usr, with apt-get) and how much it downloads and takes
# on disk. Installs only as root; otherwise it prints that plan and the command to run, and exits 0
# (the tests that need Chromium then skip, or fail on CI).
#
#   scripts/ensure-chromium.sh            install if missing, saying what first
#   scripts/ensure-chromium.sh --dry-run  only say what would be installed
#
# ENSURE_CHROMIUM_PATH overrides where Chromium is expected (default /usr/bin/chromium) and
# ENSURE_CHROMIUM_PACKAGE the Debian package (default chromium); the tests use both.
set -uo pipefail

CHROMIUM=${ENSURE_CHROMIUM_PATH:-/usr/bin/chromium}
PACKAGE=${ENSURE_CHROMIUM_PACKAGE:-chromium}
DRY_RUN=0
case "${1:-}" in
    "") ;;
    --dry-run) DRY_RUN=1 ;;
    *)
        echo "ensure-chromium: unknown argument '$1' (expected nothing or --dry-run)" >&2
        exit 2
        ;;
esac

say() { echo "ensure-chromium: $*"; }

# say_list LABEL WORDS: "  LABEL: WORDS", wrapped at 80 columns with the rest indented.
say_list() {
    local line first=1
    while IFS= read -r line; do
        if [ "$first" = 1 ]; then
            say "  $1: $line"
            first=0
        else
            say "      $line"
        fi
    done < <(fold -s -w 80 <<<"$2" | sed 's/ *$//')
}

# The plan apt-get would carry out, from the current package lists, simulated (`apt-get -s`
# never installs, and needs no root): the packages it would install and upgrade, and roughly how
# much it downloads and takes on disk (the sum of their `apt-cache show` sizes).
describe_plan() {
    local plan
    if ! plan=$(LC_ALL=C apt-get -s install "$PACKAGE" 2>&1); then
        say "apt-get cannot plan the install of $PACKAGE:"
        grep -v -e '^Reading' -e '^Building' <<<"$plan" | sed 's/^/    /'
        return 1
    fi
    local new upgraded
    new=$(awk '/^Inst / && $3 !~ /^\[/ {print $2}' <<<"$plan" | tr '\n' ' ' | sed 's/ $//')
    upgraded=$(awk '/^Inst / && $3 ~ /^\[/ {print $2}' <<<"$plan" | tr '\n' ' ' | sed 's/ $//')
    if [ -z "$new$upgraded" ]; then
        local why
        why=$(grep "is already" <<<"$plan" || echo "$PACKAGE is installed")
        say "apt-get has nothing to install: $why"
        return 1
    fi
    local sizes
    # shellcheck disable=SC2086  # one argument per package name
    sizes=$(apt-cache show --no-all-versions $new $upgraded 2>/dev/null | awk '
        /^Size:/ { download += $2 }
        /^Installed-Size:/ { disk += $2 }
        END { printf "%.1f MB to download, about %.1f MB on disk", download / 1e6, disk / 1024 }')
    say "this installs the Debian package $PACKAGE system-wide (under /usr, with apt-get):"
    say "  $(grep 'newly installed' <<<"$plan")"
    say_list "new packages" "$new"
    if [ -n "$upgraded" ]; then
        say_list "upgraded packages" "$upgraded"
    fi
    say "  size: $sizes"
}

if [ -x "$CHROMIUM" ]; then
    say "$CHROMIUM is installed"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    say "$CHROMIUM is missing and apt-get is not available; install Chromium with this" \
        "system's package manager"
    exit 0
fi
if [ "$DRY_RUN" = 1 ]; then
    say "$CHROMIUM is missing; dry run, nothing is installed"
    describe_plan
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    say "$CHROMIUM is missing and this is not root, so nothing is installed"
    describe_plan
    say "install it with: sudo apt-get install -y $PACKAGE"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
say "$CHROMIUM is missing; refreshing the package lists (apt-get update)"
if ! apt-get update -qq; then
    say "apt-get update failed; the HTML browser tests will skip (or fail when CI=true)"
    exit 0
fi
if ! describe_plan; then
    say "nothing installed; the HTML browser tests will skip (or fail when CI=true)"
    exit 0
fi
say "installing (takes a minute or more)"
if apt-get install -y -qq "$PACKAGE" >/dev/null; then
    say "installed $("$CHROMIUM" --version 2>/dev/null)"
else
    say "apt-get could not install $PACKAGE; the HTML browser tests will skip" \
        "(or fail when CI=true)"
fi
exit 0

#!/usr/bin/env bash
# Makes sure Debian's chromium is installed: the serve tests drive it with Microsoft.Playwright
# (ExecutablePath /usr/bin/chromium), because Playwright's own browser download is not reachable here.
# Installs it with apt-get when root (like fix-torchsharp-glibcxx.sh installs patchelf), else prints the command.
# Idempotent and serialised with a lock, so parallel `make test` runs do not race apt.
set -euo pipefail

[ "$(uname -s)" = Linux ] || exit 0
command -v chromium >/dev/null && exit 0

exec 9>/tmp/.ensure-chromium.lock
flock 9
command -v chromium >/dev/null && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "ensure-chromium: installing chromium and fonts-noto-cjk with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    (apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null 2>&1) || \
        (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null)
else
    echo "ensure-chromium: the browser test needs chromium; install it (sudo apt-get install chromium fonts-noto-cjk)" >&2
    exit 1
fi

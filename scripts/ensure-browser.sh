#!/usr/bin/env bash
# The page tests drive Debian's Chromium through Playwright (no browser download). Install it,
# and a CJK font so Chinese screenshots are not empty boxes, when missing and we are root;
# otherwise the browser tests skip with their reason.
set -euo pipefail

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" || need+=(fonts-wqy-microhei)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-browser: ${need[*]} missing and not root; browser tests will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

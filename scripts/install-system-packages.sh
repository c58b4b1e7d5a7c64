#!/usr/bin/env bash
# Debian packages the tests use: headless Chromium and its driver (browser tests),
# InfluxDB 1.x (time-series integration tests) and CJK fonts (readable screenshots).
# Installs only what is missing; needs root.
set -euo pipefail

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v influxd >/dev/null || missing+=(influxdb)
command -v mosquitto >/dev/null || missing+=(mosquitto)
fc-list 2>/dev/null | grep -qi "noto sans cjk" || missing+=(fonts-noto-cjk)

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

#!/usr/bin/env bash
# Install every build, test and run-time dependency from Debian 12's packages.
# Safe to re-run; skips apt when everything is already present.
set -euo pipefail
pkgs=(build-essential cmake pkg-config git
      libzmq3-dev liblmdb-dev lmdb-utils libprotobuf-c-dev protobuf-c-compiler
      libuv1-dev libsodium-dev libjansson-dev libhttp-parser-dev
      libssl-dev openssl libnats-dev nats-server python3-jsonschema
      clang libclang-rt-14-dev iproute2 procps psmisc curl jq python3
      chromium chromium-driver)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ] || [ "${NS_FORCE_APT:-0}" = 1 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${pkgs[@]}"
fi

# axe-core (the browser test's accessibility checks) and @redocly/cli (the
# OpenAPI 3.1 validator of tests/e2e/openapi.sh; Debian has none), from npm at
# the versions pinned in tests/web/package-lock.json, into tests/web/node_modules. Node.js
# comes from Debian when the machine has none (any Node.js with npm will do).
web=$(cd "$(dirname "$0")/../tests/web" && pwd)
if ! command -v npm >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends nodejs npm
fi
if [ ! -f "$web/node_modules/axe-core/axe.min.js" ] || [ ! -x "$web/node_modules/.bin/redocly" ] ||
   [ "${NS_FORCE_APT:-0}" = 1 ]; then
  (cd "$web" && npm ci --no-audit --no-fund)
fi

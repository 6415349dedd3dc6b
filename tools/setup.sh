#!/usr/bin/env bash
# `npm run setup`: installs the system programs the tests and the dev run need, from Debian's
# packages: redis-server (a local Redis when none answers), nginx (the Nginx suite) and chromium
# (the browser tests). Installs only what is missing; starts no service (tests start their own).
# `.ci/run` calls it. Needs root or sudo, and apt-get (Debian/Ubuntu).
set -euo pipefail

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root (or sudo) to run: $*" >&2
    return 1
  fi
}

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v nginx >/dev/null || missing+=(nginx)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: redis-server, nginx and chromium are installed"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "setup: missing ${missing[*]}; install them with your system's package manager" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
# Packages must not start their own daemons (port 80, a system-wide Redis): tests start their own.
policy_created=false
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
  as_root chmod +x /usr/sbin/policy-rc.d
  policy_created=true
fi
trap '$policy_created && as_root rm -f /usr/sbin/policy-rc.d' EXIT
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"

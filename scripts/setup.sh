#!/usr/bin/env bash
# Installs what the project needs and is missing: hiredis and OpenSSL headers and libraries, redis-server, redis-cli and
# redis-benchmark, pkg-config, and the tools named as arguments (Debian packages named like the command,
# e.g. `scripts/setup.sh curl python3`). Uses apt-get (with sudo when not root). Quiet when all is present.
set -euo pipefail

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ! pkg-config --exists hiredis 2>/dev/null && [ ! -f /usr/include/hiredis/async.h ]; then missing+=(libhiredis-dev); fi
# OpenSSL: the library for rediss:// (TLS), the command for the certificates the TLS tests make.
if ! pkg-config --exists openssl 2>/dev/null && [ ! -f /usr/include/openssl/ssl.h ]; then missing+=(libssl-dev); fi
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
{ command -v redis-cli >/dev/null 2>&1 && command -v redis-benchmark >/dev/null 2>&1; } || missing+=(redis-tools)
for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all dependencies present"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "setup: missing ${missing[*]}; run as root or install sudo (apt-get install ${missing[*]})" >&2
    exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
# Debian starts a system redis-server on install; tests start their own on a free port, so it is not needed.
echo "setup: done"

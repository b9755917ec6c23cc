#!/usr/bin/env bash
# Installs what lineage needs to build, run and test on Debian or Ubuntu: the system packages
# (apt) and the Python tools the tests check our output with (pip). Safe to run again: it
# installs only what is missing. The Swift 6.3 toolchain itself must already be on PATH.
#
#   scripts/setup.sh            everything: build, run and test (the default)
#   scripts/setup.sh --build    what `swift build` needs (the Docker image's build stage)
#   scripts/setup.sh --runtime  what the built `lineage` needs to run (the Docker image's
#                               run stage: shared libraries, Graphviz, curl for the health check)
set -euo pipefail
mode="${1:-all}"
case "$mode" in all|--build|--runtime) ;; *) echo "setup: unknown mode '$mode' (--build, --runtime)" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."

# libsqlite3-dev: GRDB links the system SQLite. libgit2-dev: the mirror's git source.
# graphviz, fonts-wqy-zenhei: `lineage render`, with glyphs for the catalog's Chinese names.
# git-lfs, sqlite3: the tests' upstreams and database checks.
# openssl, time: the mirror benchmark's SHA-256 reference and peak-RSS meter. curl: the
# mirror tests' readiness probe of olah.
# g++, cmake: pip builds llama.cpp (llama-cpp-python) for the quantizer byte-identity tests.
# chromium: the daemon's page is checked in a real headless browser.
# openssh-server: the git source's ssh transport is tested against a real sshd on 127.0.0.1
# (run by the test with its own config, host key and authorized key; no system service).
packages=(libsqlite3-dev libgit2-dev pkg-config graphviz fonts-wqy-zenhei git git-lfs sqlite3 ca-certificates g++ cmake openssl time curl chromium openssh-server)
if ! command -v python3 >/dev/null; then packages+=(python3 python3-pip python3-venv); fi
if [ "$mode" = "--build" ]; then packages=(libsqlite3-dev libgit2-dev pkg-config); fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if [ "$mode" = "--runtime" ]; then
  # libgit2's runtime package is versioned (libgit2-1.5 on Debian 12): the one installed, else
  # the one libgit2-dev names. apt is asked only when it is missing, so that an image whose base
  # already has everything builds offline (scripts/check-image.sh).
  libgit2=$(dpkg-query -W -f='${Package} ${Status}\n' 'libgit2-1*' 2>/dev/null | awk '/install ok installed/ {print $1; exit}' || true)
  if [ -z "$libgit2" ]; then
    $sudo apt-get update -qq
    libgit2=$(apt-cache depends libgit2-dev | awk '/Depends: libgit2-[0-9]/ {print $2; exit}')
  fi
  packages=(libsqlite3-0 "${libgit2:-libgit2-1.5}" graphviz fonts-wqy-zenhei ca-certificates curl)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$mode" != "all" ]; then exit 0; fi

if ! python3 -c 'import networkx, pydot, gguf, numpy, safetensors, llama_cpp, sentencepiece, huggingface_hub, olah' 2>/dev/null; then
  echo "setup: installing the Python test tools (scripts/requirements-test.txt)" >&2
  # Debian's own python3 refuses pip installs outside a venv (PEP 668) unless told.
  python3 -m pip install -q -r scripts/requirements-test.txt 2>/dev/null \
    || python3 -m pip install -q --break-system-packages -r scripts/requirements-test.txt
fi

if ! command -v swift >/dev/null; then
  echo "setup: no Swift toolchain on PATH; install Swift 6.3 from swift.org and run this again" >&2
  exit 1
fi

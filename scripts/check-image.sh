#!/usr/bin/env bash
# Builds the Docker image with podman, offline, and checks it: the health check answers,
# `lineage export` works, the daemon runs as a non-root user, the store is the volume, and
# SIGTERM stops it cleanly. Run as root on Debian 12 (apt: podman runc debootstrap).
#
#   bash scripts/check-image.sh
#
# No container registry is reachable here, so the two images the Dockerfile starts FROM are
# made locally first (cached in $LINEAGE_IMAGE_WORK, default /var/tmp/lineage-image):
#   debian:bookworm-slim  a debootstrapped bookworm (minbase) with `setup.sh --runtime`
#                         already run in it, so the offline build finds every package present
#   swift:6.3-bookworm    the same rootfs with `setup.sh --build`, the toolchain's system
#                         packages, this machine's Swift toolchain ($SWIFT_TOOLCHAIN, default
#                         /opt/swift) and its package mirror ($SWIFT_PACKAGES, default
#                         /opt/swift-packages, which git reaches for https://github.com/ URLs)
# Only debootstrap and apt inside those rootfs use the network (the Debian mirror); the image
# build itself runs with --network none.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${LINEAGE_IMAGE_WORK:-/var/tmp/lineage-image}"
toolchain="${SWIFT_TOOLCHAIN:-/opt/swift}"
packages="${SWIFT_PACKAGES:-/opt/swift-packages}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
image="${LINEAGE_IMAGE:-lineage}"
for tool in podman runc debootstrap; do
  command -v "$tool" >/dev/null || { echo "check-image: $tool is missing (apt-get install podman runc debootstrap)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "check-image: run as root (debootstrap, chroot and rootful podman)" >&2; exit 1; }
[ -x "$toolchain/usr/bin/swift" ] || { echo "check-image: no Swift toolchain at $toolchain/usr/bin/swift (set SWIFT_TOOLCHAIN)" >&2; exit 1; }
mkdir -p "$work"
step() { echo "check-image: $*" >&2; }

# --- base images ----------------------------------------------------------------------------
if [ ! -d "$work/rootfs" ]; then
  step "debootstrap bookworm into $work/rootfs"
  rm -rf "$work/rootfs.tmp"
  debootstrap --variant=minbase bookworm "$work/rootfs.tmp" "$mirror" >"$work/debootstrap.log"
  mv "$work/rootfs.tmp" "$work/rootfs"
fi

# provision NAME SETUP-MODE [EXTRA-PACKAGES...]: a copy of the rootfs with scripts/setup.sh
# run in it (and the extra packages), in a chroot with /proc and the host's DNS.
provision() {
  local name="$1" mode="$2" dir="$work/$1"
  shift 2
  [ -f "$dir/.provisioned" ] && return 0
  step "provisioning $name (setup.sh $mode${*:+ + $*})"
  rm -rf "$dir"
  cp -a "$work/rootfs" "$dir"
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  install -D -m 0755 scripts/setup.sh "$dir/tmp/setup.sh"
  mount -t proc proc "$dir/proc"
  local status=0
  {
    chroot "$dir" bash /tmp/setup.sh "$mode" \
      && if [ $# -gt 0 ]; then chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; fi \
      && chroot "$dir" apt-get clean
  } || status=$?
  umount "$dir/proc"
  rm -rf "$dir/tmp/setup.sh" "$dir/var/lib/apt/lists/"*
  [ "$status" -eq 0 ] || { echo "check-image: provisioning $name failed" >&2; exit "$status"; }
  touch "$dir/.provisioned"
}

# What the Swift toolchain itself needs on Debian 12 (the swift:bookworm image's package list).
toolchain_packages=(binutils gcc libc6-dev libstdc++-12-dev libcurl4-openssl-dev libedit-dev libncurses-dev
  libpython3-dev libxml2-dev libsqlite3-dev uuid-dev tzdata git pkg-config zlib1g-dev ca-certificates)

if ! podman image exists localhost/debian:bookworm-slim; then
  provision runtime --runtime
  step "importing localhost/debian:bookworm-slim"
  tar -C "$work/runtime" --exclude=./.provisioned -c . | podman import --change 'CMD ["bash"]' - localhost/debian:bookworm-slim >/dev/null
fi
if ! podman image exists localhost/swift:6.3-bookworm; then
  provision build --build "${toolchain_packages[@]}"
  if [ ! -f "$work/build/.toolchain" ]; then
    step "adding the toolchain ($toolchain) and the package mirror ($packages)"
    cp -a "$toolchain/usr/." "$work/build/usr/"
    mkdir -p "$work/build/opt"
    rm -rf "$work/build/opt/swift-packages"
    cp -a "$packages" "$work/build/opt/swift-packages"
    printf '[url "/opt/swift-packages/"]\n\tinsteadOf = https://github.com/\n' >"$work/build/etc/gitconfig"
    touch "$work/build/.toolchain"
  fi
  step "importing localhost/swift:6.3-bookworm"
  tar -C "$work/build" --exclude=./.provisioned --exclude=./.toolchain -c . \
    | podman import --change 'CMD ["bash"]' - localhost/swift:6.3-bookworm >/dev/null
fi

# --- the image --------------------------------------------------------------------------------
# docker format keeps HEALTHCHECK (the OCI image format has no field for it).
step "podman build --runtime runc --network none -t $image ."
podman build --runtime runc --network none --pull=never --format docker -t "$image" . >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log" >&2; echo "check-image: the build failed; the whole log is $work/build.log" >&2; exit 1; }
podman image inspect "$image" --format 'image {{.Id}}: {{.Size}} bytes' >&2

# --- run and check ----------------------------------------------------------------------------
volume=lineage-check-store
limits="--ulimit nofile=8192:8192 --ulimit nproc=4096:4096"
container=lineage-check
podman rm -f "$container" >/dev/null 2>&1 || true
podman volume rm -f "$volume" >/dev/null 2>&1 || true
podman volume create "$volume" >/dev/null
fail() { echo "check-image: FAILED: $*" >&2; podman logs "$container" 2>&1 | tail -20 >&2; podman rm -f "$container" >/dev/null 2>&1; exit 1; }
step "podman run --runtime runc --network none (the default configuration, Mirror/daemon.yaml)"
# Explicit limits below the host's: podman's defaults (and even --ulimit host) ask runc for
# open-files and process limits this sandbox refuses to set (EPERM); lowering is always allowed.
podman run --runtime runc --network none $limits -d --name "$container" -v "$volume:/var/lib/lineage" "$image" >/dev/null
healthy=""
for _ in $(seq 1 120); do
  if reply=$(podman exec "$container" curl -fsS http://127.0.0.1:8080/healthz 2>/dev/null); then healthy="$reply"; break; fi
  sleep 0.5
done
[ "$healthy" = '{"status":"ok"}' ] || fail "/healthz did not answer"
echo "ok  /healthz: $healthy"
podman healthcheck run "$container" >/dev/null || fail "the image's HEALTHCHECK failed"
echo "ok  HEALTHCHECK (curl /healthz) passes"
uid=$(podman exec "$container" id -u)
user=$(podman top "$container" user | awk 'NR == 2 {print $1}')
[ "$uid" != 0 ] && [ "$user" = lineage ] || fail "the daemon runs as uid $uid ($user), not the lineage user"
echo "ok  runs as $user (uid $uid)"
mountpoint=$(podman volume inspect "$volume" --format '{{.Mountpoint}}')
[ -s "$mountpoint/lineage.sqlite" ] || fail "no lineage.sqlite in the store volume ($mountpoint)"
echo "ok  the store is the volume: $(ls "$mountpoint" | tr '\n' ' ')"
models=$(podman exec "$container" curl -fsS http://127.0.0.1:8080/api/lineage/models | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))') \
  || fail "/api/lineage/models"
echo "ok  /api/lineage/models: $models models"
podman logs "$container" 2>&1 | head -1 | python3 -c 'import json, sys; r = json.loads(sys.stdin.readline()); assert "level" in r and "timestamp" in r' \
  || fail "the log is not JSON lines"
podman logs "$container" 2>&1 | grep -q 'listening on http://0.0.0.0:8080' || fail "no 'listening on' line in the log"
echo "ok  the log is JSON lines; listening on 0.0.0.0:8080"
export_json=$(podman run --runtime runc --network none $limits --rm -v "$volume:/var/lib/lineage" --entrypoint lineage "$image" export --format json) \
  || fail "lineage export"
echo "$export_json" | python3 -c 'import json, sys; g = json.load(sys.stdin); n = len(g["nodes"]); assert n > 100, n; print("ok  lineage export --format json:", n, "nodes,", len(g.get("edges", g.get("links", []))), "edges")' \
  || fail "lineage export did not print the graph"
podman run --runtime runc --network none $limits --rm --entrypoint sh "$image" -c 'lineage render -o /tmp/lineage.svg && head -c 2000 /tmp/lineage.svg' | grep -q '<svg' \
  || fail "lineage render (Graphviz) in the image"
echo "ok  lineage render draws an SVG with the image's Graphviz"
podman stop -t 30 "$container" >/dev/null
code=$(podman inspect "$container" --format '{{.State.ExitCode}}')
[ "$code" = 0 ] || fail "SIGTERM: exit code $code"
echo "ok  podman stop (SIGTERM): exit code 0"
podman rm "$container" >/dev/null
podman volume rm "$volume" >/dev/null
echo "check-image: all checks passed"

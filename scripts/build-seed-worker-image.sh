#!/usr/bin/env bash
# Builds the seed worker image without any registry and prints its tag:
#   sfn-harness/python-base:<key>  Debian 13 "trixie" (debootstrap) with python3,
#                                  python3-numpy, python3-boto3, loaded by `docker import`
#   sfn-harness/seed-worker:<key>  that base plus app.py, unchanged
# Both are cached by content: the keys hash what goes into them, so a second
# run only checks that the images exist.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
app="${1:-$here/fixtures/seed/worker/app.py}"
suite=trixie
pkgs=python3,python3-numpy,python3-boto3,ca-certificates
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

base_key=$(printf '%s|%s|minbase|v1' "$suite" "$pkgs" | sha256sum | cut -c1-12)
base="sfn-harness/python-base:$base_key"
if ! docker image inspect "$base" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { echo "debootstrap is needed to build $base (apt-get install debootstrap)" >&2; exit 1; }
  root="$(mktemp -d /tmp/sfn-harness-rootfs.XXXXXX)"
  trap 'rm -rf "$root"' EXIT
  echo "building $base with debootstrap ($suite: $pkgs) ..." >&2
  debootstrap --variant=minbase --include="$pkgs" "$suite" "$root" "$mirror" >&2
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import -c 'ENV PYTHONUNBUFFERED=1' -c 'ENV LANG=C.UTF-8' - "$base" >&2
fi

worker_key=$( (echo "$base_key"; cat "$app") | sha256sum | cut -c1-12)
worker="sfn-harness/seed-worker:$worker_key"
if ! docker image inspect "$worker" >/dev/null 2>&1; then
  ctx="$(mktemp -d /tmp/sfn-harness-worker.XXXXXX)"
  mkdir -p "$ctx/workspace"
  cp "$app" "$ctx/workspace/app.py"
  cid=$(docker create "$base" /bin/true)
  docker cp "$ctx/workspace" "$cid:/" >&2
  docker commit -c 'WORKDIR /workspace' -c 'CMD ["python3", "app.py"]' "$cid" "$worker" >/dev/null
  docker rm "$cid" >/dev/null
  rm -rf "$ctx"
fi
echo "$worker"

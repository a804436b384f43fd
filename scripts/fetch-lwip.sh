#!/usr/bin/env bash
# Fetches lwIP 2.1.3's sources (Debian's source package `lwip`) and prints the path of the unpacked tree, the
# directory that holds src/core. Used by cmake/lwip_source.cmake when USOCK_LWIP_DIR is not set.
#
#   bash scripts/fetch-lwip.sh [CACHE_DIR]
#
# CACHE_DIR defaults to $USOCK_CACHE_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/usock. The machine's apt
# configuration is never changed: apt runs with a one-line deb-src list, a package-list directory and a cache of
# this script's own, all under CACHE_DIR/apt, using the Debian mirror the machine already uses and the
# debian-archive-keyring to check signatures. The tarball is also checked against the hash below. Nothing is
# downloaded when the tree is there already. Progress goes to stderr; stdout is only the path.
set -euo pipefail

readonly version=2.1.3
readonly tarball=lwip_${version}+dfsg1.orig.tar.xz
readonly tarball_sha256=0a8276d09fc4e97bbba2f953d74af2388fc2195ea156be9d7589e297a68fde24
readonly suite=bookworm  # the Debian release that ships lwip 2.1.3+dfsg1
readonly keyring=/usr/share/keyrings/debian-archive-keyring.gpg

cache=${1:-${USOCK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/usock}}
tree=$cache/lwip-$version

say() { echo "fetch-lwip: $*" >&2; }
die() { say "$*"; exit 1; }

if [ -f "$tree/src/core/tcp.c" ]; then
  echo "$tree"
  exit 0
fi

command -v apt-get >/dev/null || die "apt-get not found: set USOCK_LWIP_DIR to an lwIP $version source tree instead"
command -v xz >/dev/null || die "xz not found: apt-get install xz-utils"
[ -r "$keyring" ] || die "$keyring not found: apt-get install debian-archive-keyring"

# The mirror this machine already uses (deb822 sources first, then the one-line format), else Debian's own.
mirror_uri() {
  local f uri
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  if [ -r /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
      /etc/apt/sources.list)
    [ -n "$uri" ] && { echo "$uri"; return; }
  fi
  echo http://deb.debian.org/debian
}

mkdir -p "$cache"
exec 9>"$cache/.fetch-lwip.lock"
flock 9 2>/dev/null || true  # two configure runs at once: the second waits, then finds the tree
if [ -f "$tree/src/core/tcp.c" ]; then
  echo "$tree"
  exit 0
fi

apt_dir=$cache/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/download"
uri=$(mirror_uri)
echo "deb-src [signed-by=$keyring] $uri $suite main" >"$apt_dir/sources.list"
apt_options=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
  -o "APT::Sandbox::User=$(id -un)"
)

say "fetching Debian's lwip source package from $uri ($suite) into $cache"
apt-get "${apt_options[@]}" -qq update >&2 || die "apt-get update failed (no network?)"
(cd "$apt_dir/download" && apt-get "${apt_options[@]}" -qq source --download-only lwip >&2) ||
  die "apt-get source lwip failed"

file=$apt_dir/download/$tarball
[ -f "$file" ] || die "$tarball not in the source package (did Debian move to another lwIP version?)"
echo "$tarball_sha256  $file" | sha256sum -c --quiet - >&2 || die "$tarball does not have the expected hash"

staging=$(mktemp -d "$cache/.unpack.XXXXXX")
trap 'rm -rf "$staging"' EXIT
tar -xJf "$file" -C "$staging"
[ -f "$staging/lwip-$version/src/core/tcp.c" ] || die "unexpected layout in $tarball"
mv "$staging/lwip-$version" "$tree"
say "lwIP $version sources in $tree"
echo "$tree"

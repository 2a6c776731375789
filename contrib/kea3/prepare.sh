#!/usr/bin/env bash
# Prepares a real Kea 3.0 from Debian's own archive (suite sid) in a separate minimal root,
# beside the system's Kea 2.2, without touching the host's packages, services or paths.
#
#   contrib/kea3/prepare.sh [ROOT]        (default: $KEASCRIPT_KEA3_ROOT or /var/cache/keascript/kea-3.0)
#
# Idempotent: seconds when the root is already there. Needs root (debootstrap) and Debian's
# package archive only. Prints two lines to use with keascript:
#   KEASCRIPT_KEA_BIN_DIR=ROOT/keascript-bin     (kea-dhcp4, kea-dhcp6, kea-ctrl-agent, kea-lfc wrappers)
#   KEASCRIPT_KEA_HOOKS_DIR=ROOT/usr/lib/<arch>/kea/hooks
set -euo pipefail

ROOT="${1:-${KEASCRIPT_KEA3_ROOT:-/var/cache/keascript/kea-3.0}}"
SUITE="${KEASCRIPT_KEA3_SUITE:-sid}"
# The Kea version this project is tested with; the archive must still carry it.
VERSION="${KEASCRIPT_KEA3_VERSION:-3.0.4-2}"
PACKAGES="kea-common kea-dhcp4-server kea-dhcp6-server kea-ctrl-agent kea-admin kea-doc"
ARCH_TRIPLET="$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)"
case "$ARCH_TRIPLET" in x86_64-*) ARCH_TRIPLET=x86_64-linux-gnu ;; aarch64-*) ARCH_TRIPLET=aarch64-linux-gnu ;; esac
BIN="$ROOT/keascript-bin"
HOOKS="$ROOT/usr/lib/$ARCH_TRIPLET/kea/hooks"
DONE="$ROOT/.keascript-ready-$VERSION-$(echo "$PACKAGES" | cksum | cut -d" " -f1)"

say() { echo "kea3: $*" >&2; }

if [ -f "$DONE" ] && [ -x "$BIN/kea-dhcp4" ] && "$BIN/kea-dhcp4" -v >/dev/null 2>&1; then
  say "ready in $ROOT (Kea $("$BIN/kea-dhcp4" -v))"
else
  [ "$(id -u)" = 0 ] || { say "needs root (debootstrap, mounting /proc in the root)"; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap"
    apt-get update -q >&2
    apt-get install -y -q debootstrap >&2
  fi
  # The mirror the host's own apt sources name (never a hard-coded host).
  MIRROR="$(
    { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true;
      grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true; } |
      awk '{print $2}' | grep -v -- '-security' | grep '/debian/\?$' | head -n1 || true
  )"
  [ -n "$MIRROR" ] || { say "no Debian mirror found in the host's apt sources"; exit 1; }
  say "bootstrapping $SUITE from $MIRROR into $ROOT (about a minute)"
  mkdir -p "$ROOT"
  if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
    debootstrap --variant=minbase --no-check-gpg "$SUITE" "$ROOT" "$MIRROR" >&2 ||
      debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >&2
  fi
  # A snapshot mirror's sid Release may be past its Valid-Until: allow that in the root only.
  echo 'Acquire::Check-Valid-Until "false";' >"$ROOT/etc/apt/apt.conf.d/99keascript"
  # No services start inside the root.
  printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
  chmod 755 "$ROOT/usr/sbin/policy-rc.d"
  mounted=0
  if ! mountpoint -q "$ROOT/proc"; then mount -t proc proc "$ROOT/proc"; mounted=1; fi
  trap '[ "$mounted" = 1 ] && umount "$ROOT/proc" || true' EXIT
  chroot "$ROOT" apt-get update -q >&2
  pinned=""
  for p in $PACKAGES; do pinned="$pinned $p=$VERSION"; done
  if ! chroot "$ROOT" apt-get install -y -q --no-install-recommends $pinned >&2; then
    available="$(chroot "$ROOT" apt-cache policy kea-dhcp4-server | awk '/Candidate:/ {print $2}')"
    say "Debian's $SUITE no longer has Kea $VERSION (it offers ${available:-nothing});"
    say "set KEASCRIPT_KEA3_VERSION to try another version"
    exit 1
  fi
  chroot "$ROOT" apt-get clean
  [ "$mounted" = 1 ] && umount "$ROOT/proc"
  mounted=0
  # Wrappers: the root's own loader runs its binaries from the host, no chroot needed.
  mkdir -p "$BIN"
  LOADER="$(ls "$ROOT"/usr/lib/"$ARCH_TRIPLET"/ld-linux*.so.* | head -n1)"
  LIBS="$ROOT/usr/lib/$ARCH_TRIPLET:$ROOT/lib/$ARCH_TRIPLET"
  for prog in kea-dhcp4 kea-dhcp6 kea-ctrl-agent kea-lfc perfdhcp; do
    cat >"$BIN/$prog" <<WRAP
#!/bin/sh
# Runs $prog of the Kea 3.0 root $ROOT with that root's libraries.
export KEA_HOOKS_PATH="\${KEA_HOOKS_PATH:-$HOOKS}"
export KEA_LFC_EXECUTABLE="\${KEA_LFC_EXECUTABLE:-$BIN/kea-lfc}"
exec "$LOADER" --library-path "$LIBS" --argv0 $prog "$ROOT/usr/sbin/$prog" "\$@"
WRAP
    chmod 755 "$BIN/$prog"
  done
  # kea-admin is a shell script: a copy that takes its schema scripts from the root (they
  # must match this Kea), and finds this folder's programs first.
  sed -e "s|^prefix=\"/usr\"|prefix=\"$ROOT/usr\"|" "$ROOT/usr/sbin/kea-admin" >"$BIN/kea-admin.sh"
  cat >"$BIN/kea-admin" <<WRAP
#!/bin/sh
# Runs kea-admin of the Kea 3.0 root $ROOT.
PATH="$BIN:\$PATH" exec sh "$BIN/kea-admin.sh" "\$@"
WRAP
  chmod 755 "$BIN/kea-admin"
  # Where this Kea's hooks are, for keascript's lab (KEASCRIPT_KEA_BIN_DIR).
  echo "$HOOKS" >"$BIN/hooks-dir"
  "$BIN/kea-dhcp4" -v >/dev/null
  touch "$DONE"
  say "ready in $ROOT (Kea $("$BIN/kea-dhcp4" -v))"
fi
echo "KEASCRIPT_KEA_BIN_DIR=$BIN"
echo "KEASCRIPT_KEA_HOOKS_DIR=$HOOKS"

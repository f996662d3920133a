#!/usr/bin/env bash
# Runs a command on a private D-Bus session bus where a real Secret Service
# (gnome-keyring-daemon) owns org.freedesktop.secrets and its default
# collection answers: unlocked (the default) or locked (--locked).
#
#   tests/integration/support/secret-service.sh [--locked] [--] COMMAND [ARG]...
#
# Deterministic on a machine where gnome-keyring never ran:
# - D-Bus activation is disabled on the private bus (no service directory), so
#   a client that comes too early gets "ServiceUnknown" instead of starting a
#   second daemon that finds a half-written login keyring and wants a prompt;
# - the command starts only after the daemon owns the bus name, the "default"
#   alias names a collection, and that collection reports the wanted Locked
#   state: polled, bounded by SECRET_SERVICE_WAIT seconds (default 30), with a
#   message naming what never became ready.
# The keyring files go to $XDG_DATA_HOME/keyrings (else ~/.local/share/keyrings):
# give the command a fresh HOME/XDG_DATA_HOME for a cold start.
set -euo pipefail

locked=0
if [ "${1:-}" = --locked ]; then locked=1; shift; fi
if [ "${1:-}" = -- ]; then shift; fi
if [ $# -eq 0 ]; then
  echo "usage: $0 [--locked] [--] COMMAND [ARG]..." >&2
  exit 2
fi
for tool in dbus-run-session dbus-send gnome-keyring-daemon; do
  command -v "$tool" >/dev/null || {
    echo "secret-service.sh: $tool not found; install gnome-keyring, dbus-daemon and dbus-bin (.ci/run does)" >&2
    exit 1
  }
done

if [ -z "${KST_SECRET_SERVICE_BUS:-}" ]; then
  # Outside: start a private bus whose only service directory is empty.
  conf=$(mktemp -d "${TMPDIR:-/tmp}/kst-bus.XXXXXX")
  trap 'rm -rf "$conf"' EXIT
  mkdir "$conf/services"
  cat > "$conf/session.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:dir=$conf</listen>
  <auth>EXTERNAL</auth>
  <servicedir>$conf/services</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
  flags=()
  [ "$locked" = 1 ] && flags+=(--locked)
  status=0
  KST_SECRET_SERVICE_BUS=1 dbus-run-session --config-file="$conf/session.conf" -- \
    "$0" "${flags[@]}" -- "$@" || status=$?
  exit "$status"
fi

# Inside the private bus.
wait_secs=${SECRET_SERVICE_WAIT:-30}
deadline=$(( $(date +%s) + wait_secs ))
say() { echo "secret-service.sh: $*" >&2; }

call() { # destination, object, method, args...
  local dest=$1 obj=$2 method=$3; shift 3
  dbus-send --session --print-reply --reply-timeout=5000 --dest="$dest" "$obj" "$method" "$@" 2>/dev/null
}
owned() {
  call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
    string:org.freedesktop.secrets | grep -q 'boolean true'
}
default_collection() {
  call org.freedesktop.secrets /org/freedesktop/secrets org.freedesktop.Secret.Service.ReadAlias \
    string:default | sed -n 's/.*object path "\(\/org\/freedesktop\/secrets\/collection\/[^"]*\)".*/\1/p'
}
locked_is() { # collection, true|false
  call org.freedesktop.secrets "$1" org.freedesktop.DBus.Properties.Get \
    string:org.freedesktop.Secret.Collection string:Locked | grep -q "boolean $2"
}
wait_until() { # what, command...
  local what=$1; shift
  until "$@"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      say "the Secret Service was not ready after ${wait_secs}s: $what (HOME=$HOME, XDG_DATA_HOME=${XDG_DATA_HOME:-unset}); set SECRET_SERVICE_WAIT to wait longer"
      exit 1
    fi
    sleep 0.05
  done
}

# --unlock reads the password on stdin and creates the login collection
# (the "default" alias) on first use. It forks the daemon and returns before
# the daemon is on the bus: what follows waits for that.
eval "$(printf 'kube-sa-token-test' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
wait_until "gnome-keyring-daemon never owned org.freedesktop.secrets" owned
collection=
find_default() { collection=$(default_collection); [ -n "$collection" ]; }
wait_until "no collection behind the \"default\" alias" find_default
wait_until "collection $collection stays locked" locked_is "$collection" false
if [ "$locked" = 1 ]; then
  call org.freedesktop.secrets /org/freedesktop/secrets org.freedesktop.Secret.Service.Lock \
    "array:objpath:$collection" >/dev/null || true
  wait_until "collection $collection did not lock" locked_is "$collection" true
fi

"$@"

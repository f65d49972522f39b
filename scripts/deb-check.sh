#!/usr/bin/env bash
# Installs the Debian package make deb built (bin/sipswitch_*.deb) with
# dpkg, checks what it put in place, runs `sipswitch serve` as the user
# sipswitch on loopback against a temporary store until /healthz answers,
# stops it with SIGTERM, purges the package and checks that it is gone.
# Needs root and dpkg; used by .ci/run and `make deb-check`.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "deb-check: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (dpkg -i)"
command -v dpkg >/dev/null || fail "needs dpkg"
deb=$(ls -t bin/sipswitch_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no bin/sipswitch_*.deb: run make deb"

dir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$dir"
  dpkg --purge sipswitch >/dev/null 2>&1 || true
}
trap cleanup EXIT

# make install PREFIX=/usr writes what the package holds, and its unit
# names paths it wrote.
make -s install DESTDIR="$dir/root" PREFIX=/usr UNITDIR=/usr/lib/systemd/system SYSUSERSDIR=/usr/lib/sysusers.d >/dev/null
diff <(cd "$dir/root" && find . -type f | sort) <(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sort) ||
  fail "make install PREFIX=/usr and the package hold different files"
for key in ExecStart Documentation; do
  path=$(sed -n "s|^$key=\(file://\)\{0,1\}\([^ ]*\).*|\2|p" "$dir/root/usr/lib/systemd/system/sipswitch.service")
  [ -e "$dir/root$path" ] || fail "make install's unit names $key=$path, which it did not install"
done
[ "$(stat -c '%a' "$dir/root/etc/sipswitch/sipswitch.yaml")" = 640 ] || fail "make install wrote sipswitch.yaml $(stat -c '%a' "$dir/root/etc/sipswitch/sipswitch.yaml")"
rm -rf "$dir/root"

echo "deb-check: dpkg -i $deb" >&2
dpkg -i "$deb" >/dev/null

# What the package put in place.
id sipswitch >/dev/null || fail "no user sipswitch after install"
[ "$(stat -c '%a %U:%G' /etc/sipswitch/sipswitch.yaml)" = "640 root:sipswitch" ] ||
  fail "/etc/sipswitch/sipswitch.yaml is $(stat -c '%a %U:%G' /etc/sipswitch/sipswitch.yaml), want 640 root:sipswitch"
[ "$(stat -c '%a %U' /var/lib/sipswitch)" = "700 sipswitch" ] || fail "/var/lib/sipswitch is $(stat -c '%a %U' /var/lib/sipswitch)"
grep -q '^ExecStart=/usr/bin/sipswitch serve --config /etc/sipswitch/sipswitch.yaml$' /usr/lib/systemd/system/sipswitch.service ||
  fail "the unit does not run /usr/bin/sipswitch"
doc=$(sed -n 's|^Documentation=file://||p' /usr/lib/systemd/system/sipswitch.service)
[ -f "$doc" ] || fail "the unit's Documentation= $doc is not installed"
dpkg-query -W -f='${Conffiles}\n' sipswitch | grep -q /etc/sipswitch/sipswitch.yaml || fail "sipswitch.yaml is not a conffile"
/usr/bin/sipswitch --version

# The service's command, as its user, reading the packaged configuration
# (which only root and the group sipswitch may read), on loopback.
chown sipswitch: "$dir"
chmod 0700 "$dir"
get() { # port path: the body of a GET on 127.0.0.1
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
  cat <&3
  exec 3<&-
}
for attempt in 1 2 3; do
  port=$((20000 + RANDOM % 20000))
  # setpriv execs the command itself, so SIGTERM reaches the daemon.
  setpriv --reuid=sipswitch --regid=sipswitch --init-groups env SIPSWITCH_ADMIN_PASSWORD=deb-check-password /usr/bin/sipswitch serve \
    --config /etc/sipswitch/sipswitch.yaml --db "$dir/sipswitch.db" \
    --http "127.0.0.1:$port" --sip "udp://127.0.0.1:$((port + 1))" --sip "tcp://127.0.0.1:$((port + 1))" 2>"$dir/serve.log" &
  pid=$!
  up=
  for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    if get "$port" /healthz 2>/dev/null | grep -q '^ok'; then up=1; break; fi
    sleep 0.1
  done
  [ -n "$up" ] && break
  wait "$pid" || true
  pid=
  grep -q 'address already in use' "$dir/serve.log" || { cat "$dir/serve.log" >&2; fail "sipswitch serve did not come up"; }
done
[ -n "$up" ] || { cat "$dir/serve.log" >&2; fail "no free port for sipswitch serve"; }
get "$port" /api/openapi.json | grep -q '"openapi"' || fail "/api/openapi.json not served"
[ "$(stat -c '%U %a' "$dir/sipswitch.db")" = "sipswitch 600" ] || fail "the store is $(stat -c '%U %a' "$dir/sipswitch.db")"
kill -TERM "$pid"
wait "$pid" || { cat "$dir/serve.log" >&2; fail "sipswitch serve did not exit 0 on SIGTERM"; }
pid=
grep -q 'sipswitch stopped' "$dir/serve.log" || fail "no clean stop logged"

echo "deb-check: dpkg --purge sipswitch" >&2
dpkg --purge sipswitch >/dev/null
if dpkg-query -W -f='${db:Status-Status}' sipswitch 2>/dev/null | grep -qv '^not-installed$'; then
  fail "sipswitch still installed after purge"
fi
for f in /usr/bin/sipswitch /usr/lib/systemd/system/sipswitch.service /usr/lib/sysusers.d/sipswitch.conf /etc/sipswitch /usr/share/doc/sipswitch; do
  [ ! -e "$f" ] || fail "$f left after purge"
done
echo "deb-check: installed, ran as sipswitch on 127.0.0.1:$port, purged cleanly" >&2

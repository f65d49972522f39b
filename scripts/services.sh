#!/usr/bin/env bash
# Makes sure the PostgreSQL and Redis servers the tests use are running on
# 127.0.0.1 (5432 and 6379), starting them when they are not; exits
# non-zero naming the one that cannot be had. Used by .ci/run; harmless
# to run by hand.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

wait_for() { # name check
  for _ in $(seq 1 50); do "$2" && return 0; sleep 0.2; done
  return 1
}

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "services: starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  wait_for PostgreSQL pg_up || { echo "services: PostgreSQL is not running on 127.0.0.1:5432 and could not be started (tests need it; SIPSWITCH_TEST_POSTGRES=off skips it outside CI)" >&2; exit 1; }
fi
if ! redis_up; then
  if command -v redis-server >/dev/null; then
    echo "services: starting Redis" >&2
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  fi
  wait_for Redis redis_up || { echo "services: Redis is not running on 127.0.0.1:6379 and could not be started (the cluster tests need it)" >&2; exit 1; }
fi
echo "services: PostgreSQL and Redis are up" >&2

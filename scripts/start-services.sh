#!/usr/bin/env bash
# Starts the local Mosquitto and PostgreSQL the integration tests use, if they are not running.
set -euo pipefail

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! listening 1883; then
  echo "starting Mosquitto"
  mosquitto -d -c /etc/mosquitto/mosquitto.conf
fi
if ! listening 5432 && command -v pg_ctlcluster >/dev/null; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
for port in 1883 5432; do
  for _ in $(seq 50); do listening "$port" && break; sleep 0.2; done
  listening "$port" || { echo "nothing listens on 127.0.0.1:$port" >&2; exit 1; }
done

#!/bin/sh
# The components' Kafka users (SCRAM-SHA-512): worker, api and agent, each with its password
# (KAFKA_<USER>_PASSWORD), set as the admin with Kafka's own kafka-configs.sh. Setting a password again is
# harmless, so this runs on every start and a rotated password takes effect. Docker Compose's one-shot
# `kafka-users` runs it with the image's kafka-configs.sh; natively `prism stack up` runs it (src/stack/kafka-users.ts)
# with KAFKA_CLASSPATH, the broker's jars, for a user whose password does not log in.
#   users.sh <bootstrap server>
set -eu
bootstrap="${1:?usage: users.sh <bootstrap server>}"
here="$(dirname "$0")"
config="$(mktemp)"
trap 'rm -f "$config"' EXIT
sh "$here/admin-client.sh" > "$config"
set_user() {
  [ -n "$2" ] || { echo "users.sh: the password of Kafka user $1 is not set" >&2; exit 1; }
  configs --bootstrap-server "$bootstrap" --command-config "$config" \
    --alter --entity-type users --entity-name "$1" --add-config "SCRAM-SHA-512=[password=$2]"
}
configs() {
  if [ -n "${KAFKA_CLASSPATH:-}" ]; then
    java -Xmx128m -XX:+UseSerialGC -cp "$KAFKA_CLASSPATH" kafka.admin.ConfigCommand "$@"
  else
    /opt/kafka/bin/kafka-configs.sh "$@"
  fi
}
set_user worker "${KAFKA_WORKER_PASSWORD:-}"
set_user api "${KAFKA_API_PASSWORD:-}"
set_user agent "${KAFKA_AGENT_PASSWORD:-}"

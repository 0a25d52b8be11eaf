#!/bin/sh
# Starts Patroni on /etc/patroni/patroni.yml. The node's own settings (its name, the addresses the others
# reach it on) and the logins come from its environment (PATRONI_*, set by docker-compose.cluster.yml). The
# replication role's password is derived from the superuser's as the native stack derives it
# (src/stack/services/postgres-cluster.ts replicationPassword: HMAC-SHA256 of "prism patroni replication",
# base64url), so it is one more secret nobody has to keep, and it changes when that one is rotated.
set -eu
: "${PATRONI_SUPERUSER_PASSWORD:?PATRONI_SUPERUSER_PASSWORD (POSTGRES_PASSWORD, the bootstrap superuser) is not set}"
PATRONI_REPLICATION_PASSWORD=$(/opt/patroni/bin/python -c '
import base64, hashlib, hmac, os
key = os.environ["PATRONI_SUPERUSER_PASSWORD"].encode()
digest = hmac.new(key, b"prism patroni replication", hashlib.sha256).digest()
print(base64.urlsafe_b64encode(digest).rstrip(b"=").decode())')
export PATRONI_REPLICATION_PASSWORD
exec /opt/patroni/bin/patroni /etc/patroni/patroni.yml

#!/bin/sh
# Prints the client properties of Kafka's admin (SASL/PLAIN; password in $ADMIN_PASSWORD) for Kafka's own
# tools: `admin-client.sh > /tmp/admin.properties && kafka-*.sh --command-config /tmp/admin.properties`.
# Natively src/stack/kafka-users.ts writes the same file.
set -eu
: "${ADMIN_PASSWORD:?ADMIN_PASSWORD (the Kafka admin password, KAFKA_ADMIN_PASSWORD) is not set}"
printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n'
printf 'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="%s";\n' "$ADMIN_PASSWORD"

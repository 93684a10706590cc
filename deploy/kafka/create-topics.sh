#!/usr/bin/env bash
# Creates iocbus's four topics if they are missing (the compose "topics" service runs this once, in the
# apache/kafka image, before any iocbus role starts). Existing topics are left exactly as they are.
#
#   BOOTSTRAP=kafka:9092 EVENTS_PARTITIONS=12 bash create-topics.sh
#
# EVENTS_PARTITIONS caps how many aggregator instances can share the work (deploy/README.md, "Scaling"), and
# cannot be raised later without moving dossiers between partitions: choose it for the largest deployment.
set -euo pipefail

BOOTSTRAP=${BOOTSTRAP:-kafka:9092}
KAFKA_BIN=${KAFKA_BIN:-/opt/kafka/bin}
REPLICATION_FACTOR=${REPLICATION_FACTOR:-1}
EVENTS_PARTITIONS=${EVENTS_PARTITIONS:-12}
STATE_PARTITIONS=${STATE_PARTITIONS:-6}
DLQ_PARTITIONS=${DLQ_PARTITIONS:-1}
# A checkpoint holds one partition's whole state (services/aggregator topics.checkpointMaxBytes).
CHECKPOINT_MAX_BYTES=${CHECKPOINT_MAX_BYTES:-67108864}

# Same settings as the aggregator uses when it creates them itself (services/aggregator/src/topics.ts).
COMPACTED=(--config cleanup.policy=compact --config segment.ms=600000 --config min.cleanable.dirty.ratio=0.1 --config delete.retention.ms=86400000)

create() {
  local name=$1 partitions=$2
  shift 2
  "$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$name" --partitions "$partitions" --replication-factor "$REPLICATION_FACTOR" "$@"
}

create iocbus.dossier-events.v1 "$EVENTS_PARTITIONS"
create iocbus.aggregator-checkpoints.v1 "$STATE_PARTITIONS" "${COMPACTED[@]}" --config "max.message.bytes=$CHECKPOINT_MAX_BYTES"
create iocbus.indicator-partials.v1 "$STATE_PARTITIONS" "${COMPACTED[@]}"
create iocbus.dossier-events.dlq.v1 "$DLQ_PARTITIONS"

"$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --describe --topic 'iocbus\..*'

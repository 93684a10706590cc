#!/usr/bin/env bash
# Installs what the test suite needs beyond node_modules, then fills the Kafka jar cache.
# Idempotent: packages already on PATH and a complete jar cache are skipped, so a second run takes a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use, as "<command>:<package>": the package is installed only if the command is missing.
# Add new tools here (e.g. "promtool:prometheus", "chromium:chromium").
DEBIAN_PACKAGES=(
  "kcat:kcat"
  "java:openjdk-17-jre-headless"
  "mvn:maven"
  "chromium:chromium"
  "promtool:prometheus"
  "docker-compose:docker-compose"
  "kubectl:kubernetes-client"
)

missing=()
for entry in "${DEBIAN_PACKAGES[@]}"; do
  command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}")
done

if ((${#missing[@]} > 0)); then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "setup-test-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "setup-test-deps: installing ${missing[*]}"
  start=$SECONDS
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup-test-deps: installed in $((SECONDS - start)) s"
fi

# Downloads Apache Kafka's jars with Maven on the first run only (a marker file records a complete cache).
node --import tsx packages/testing/src/fetch-kafka-jars.ts

#!/bin/bash
# What an admin writes today to add one subnet through the Control Agent, without
# keascript: config-get -> jq (append a subnet with the next free id) -> config-set ->
# config-write. Used by `cargo bench --bench compare` (case 2) as the hand-made baseline.
#
# usage: add-subnet-by-hand.sh http://127.0.0.1:8000 100.65.3   (adds 100.65.3.0/24)
set -euo pipefail
url=$1
p=$2
post() { curl -sS --fail -X POST -H 'Content-Type: application/json' --data-binary @- "$url"; }

echo '{"command": "config-get", "service": ["dhcp4"]}' | post \
  | jq -c --arg s "$p.0/24" --arg pool "$p.10-$p.200" '
      .[0].arguments | del(.hash)
      | .Dhcp4.subnet4 += [{id: ((.Dhcp4.subnet4 | map(.id) | max) + 1), subnet: $s,
                            pools: [{pool: $pool}]}]
      | {command: "config-set", service: ["dhcp4"], arguments: .}' \
  | post | jq -e '.[0].result == 0' >/dev/null
echo '{"command": "config-write", "service": ["dhcp4"]}' | post | jq -e '.[0].result == 0' >/dev/null

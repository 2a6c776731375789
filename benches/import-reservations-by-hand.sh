#!/bin/bash
# What an admin writes today to load a CSV of host reservations into one subnet through the
# Control Agent, without keascript: config-get -> jq (CSV rows appended to the subnet's
# reservations; no check of any row) -> config-set -> config-write. Used by
# `cargo bench --bench compare` (case 8) as the hand-made baseline.
#
# usage: import-reservations-by-hand.sh http://127.0.0.1:8000 hosts.csv 201   (subnet id 201)
set -euo pipefail
url=$1
csv=$2
id=$3
post() { curl -sS --fail -X POST -H 'Content-Type: application/json' --data-binary @- "$url"; }

rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
jq -R -s -c 'split("\n")[1:] | map(select(length > 0) | split(",")
        | {"hw-address": .[0], "ip-address": .[1], hostname: .[2]})' "$csv" > "$rows"
echo '{"command": "config-get", "service": ["dhcp4"]}' | post \
  | jq -c --slurpfile rows "$rows" --argjson id "$id" '
      .[0].arguments | del(.hash)
      | (.Dhcp4.subnet4[] | select(.id == $id) | .reservations) += $rows[0]
      | {command: "config-set", service: ["dhcp4"], arguments: .}' \
  | post | jq -e '.[0].result == 0' >/dev/null
echo '{"command": "config-write", "service": ["dhcp4"]}' | post | jq -e '.[0].result == 0' >/dev/null

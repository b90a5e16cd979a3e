#!/usr/bin/env bash
# The RabbitMQ users GovSg's parts connect as (least privilege; SECURITY.md), none of them administrator. Run with
# rabbitmqctl's rights on the broker's node; safe to run again (it also resets the passwords):
#   RABBITMQ_API_PASSWORD=... RABBITMQ_DISPATCHER_PASSWORD=... [RABBITMQ_KEDA_PASSWORD=...] \
#     bash deploy/local/broker-users.sh [vhost, default /]
# Used by deploy/local/up.sh, docker-compose.yml (inside the rabbitmq container) and the tests; deploy/k8s has the same
# users and permissions as User and Permission resources (rabbitmq-users.yaml). Names in the regular expressions:
#   GovSg.Contracts:*   the exchanges MassTransit declares per contract (publish topology)
#   send-message*, provider-status*   the Dispatcher's queues and their exchanges (_error, _skipped too)
#   *_bus_*             the temporary queue and exchange every MassTransit process declares for itself
set -euo pipefail
vhost=${1:-/}
: "${RABBITMQ_API_PASSWORD:?set RABBITMQ_API_PASSWORD}" "${RABBITMQ_DISPATCHER_PASSWORD:?set RABBITMQ_DISPATCHER_PASSWORD}"

user() { # name, password, tags, then the configure, write and read patterns on the vhost
  local name=$1 password=$2 tags=$3
  # The password on standard input: as an argument, ps would show it to anyone on the machine while rabbitmqctl runs.
  printf '%s\n' "$password" | rabbitmqctl -q add_user "$name" >/dev/null 2>&1 ||
    printf '%s\n' "$password" | rabbitmqctl -q change_password "$name" >/dev/null
  rabbitmqctl -q set_user_tags "$name" $tags >/dev/null
  rabbitmqctl -q set_permissions -p "$vhost" "$name" "$4" "$5" "$6" >/dev/null
}

# The Api publishes commands (SendMessage, SendMessages) and status events (ProviderStatusesReceived); it reads nothing
# but its own bus queue.
user govsg-api "$RABBITMQ_API_PASSWORD" "" \
  '^(GovSg\.Contracts:.+|.+_bus_.+)$' '^(GovSg\.Contracts:.+|.+_bus_.+)$' '^(.+_bus_.+)$'
# The Dispatcher consumes its queues and re-publishes commands (the sweeper); it may not publish status events to
# their exchange (binding its provider-status exchange to it takes read there, not write).
user govsg-dispatcher "$RABBITMQ_DISPATCHER_PASSWORD" "" \
  '^(GovSg\.Contracts:.+|send-message.*|provider-status.*|.+_bus_.+)$' \
  '^(GovSg\.Contracts:SendMessages?|send-message.*|provider-status.*|.+_bus_.+)$' \
  '^(GovSg\.Contracts:.+|send-message.*|provider-status.*|.+_bus_.+)$'
# KEDA reads the send-message queue's length through the management API: the monitoring tag, and no right to
# declare, publish or consume anything.
if [ -n "${RABBITMQ_KEDA_PASSWORD:-}" ]; then
  user govsg-keda "$RABBITMQ_KEDA_PASSWORD" monitoring '^$' '^$' '^$'
fi

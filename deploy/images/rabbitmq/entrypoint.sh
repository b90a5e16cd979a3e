#!/bin/sh
# The default user is created when the broker first creates its database, and may connect from other hosts (the
# broker runs alone in its container), as with the official image.
set -eu
cat > /etc/rabbitmq/rabbitmq.conf <<CONF
default_user = ${RABBITMQ_DEFAULT_USER:-guest}
default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}
loopback_users = none
CONF
exec "$@"

#!/bin/sh
# docker-compose.cluster.yml, in the temporalio/admin-tools image.
#   temporal-setup.sh schema     brings both databases to the schema this server version embeds
#   temporal-setup.sh namespace  registers the namespace and the app's search attributes
# Both are safe to run again: they skip what exists.
set -eu

case "${1:-}" in
  schema)
    for pair in "${DBNAME}:postgresql/v12/temporal" "${VISIBILITY_DBNAME}:postgresql/v12/visibility"; do
      db=${pair%%:*}
      schema=${pair#*:}
      # setup-schema -v 0.0 creates the version tables and leaves a newer schema alone.
      temporal-sql-tool --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" --pw "$POSTGRES_PWD" \
        --pl postgres12 --db "$db" setup-schema -v 0.0
      temporal-sql-tool --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" --pw "$POSTGRES_PWD" \
        --pl postgres12 --db "$db" update-schema --schema-name "$schema"
    done
    ;;
  namespace)
    ns=${NAMESPACE:-default}
    temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1 ||
      temporal operator namespace create --namespace "$ns" --retention "${RETENTION:-24h}"
    # Name=Type pairs, as src/shared/search-attributes.ts lists them.
    for pair in UserId=Keyword QueueStatus=Keyword ReservationStatus=Keyword ConcertId=Keyword ConcertDate=Keyword SeatNo=Int; do
      name=${pair%%=*}
      type=${pair#*=}
      temporal operator search-attribute list --namespace "$ns" | grep -qw "$name" ||
        temporal operator search-attribute create --namespace "$ns" --name "$name" --type "$type"
    done
    ;;
  *)
    echo "usage: temporal-setup.sh schema|namespace" >&2
    exit 2
    ;;
esac

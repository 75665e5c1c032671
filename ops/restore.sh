#!/bin/sh
# Restore a backup made by ops/backup.sh into a new, empty database and file store.
#
#   createdb ...            # the new database, empty
#   ops/restore.sh SOURCE
#
# Reads DATABASE_URL (or BENCHDOCS_DATABASE_URL) and BENCHDOCS_FILE_STORE_DIR as benchdocs
# does; refuses a file store that already holds files. The backup's checksums are verified
# first; the database is restored in one transaction (all or nothing). Start benchdocs after
# it: the API migrates a backup from an older release to the current schema on start.
set -eu

source=${1:?usage: ops/restore.sh SOURCE}
database_url=${DATABASE_URL:-${BENCHDOCS_DATABASE_URL:-}}
[ -n "$database_url" ] || { echo "restore: set DATABASE_URL" >&2; exit 2; }
store=${BENCHDOCS_FILE_STORE_DIR:?set BENCHDOCS_FILE_STORE_DIR}
libpq_url=$(printf '%s' "$database_url" | sed -E 's#^postgresql\+[a-z0-9]+://#postgresql://#')

(cd "$source" && sha256sum --check --quiet SHA256SUMS)
if [ -d "$store" ] && [ -n "$(ls -A "$store")" ]; then
  echo "restore: $store is not empty; restore into a new file store" >&2
  exit 2
fi
pg_restore --exit-on-error --single-transaction --no-owner --no-privileges \
  --dbname "$libpq_url" "$source/database.dump"
mkdir -p "$store"
tar -C "$store" -xf "$source/files.tar"
echo "restored $source into the database and $store"

#!/bin/sh
# Restore a backup made by ops/backup.sh into a new, empty database and file store.
#
#   createdb ...            # the new database, empty (and, for S3, a new bucket)
#   ops/restore.sh SOURCE
#
# Reads DATABASE_URL (or BENCHDOCS_DATABASE_URL) and the file store as benchdocs does
# (BENCHDOCS_FILE_STORE_DIR, or with BENCHDOCS_FILE_STORE=s3 the bucket of BENCHDOCS_S3_*,
# written by `benchdocs storage migrate`, run with benchdocs' Python: PYTHON, default python3).
# Refuses a file store that already holds files. The backup's checksums are verified first;
# the database is restored in one transaction (all or nothing). Start benchdocs after it: the
# API migrates a backup from an older release to the current schema on start.
set -eu

source=${1:?usage: ops/restore.sh SOURCE}
here=$(dirname "$0")
python=${PYTHON:-python3}
database_url=${DATABASE_URL:-${BENCHDOCS_DATABASE_URL:-}}
[ -n "$database_url" ] || { echo "restore: set DATABASE_URL" >&2; exit 2; }
store_kind=${BENCHDOCS_FILE_STORE:-local}
libpq_url=$(printf '%s' "$database_url" | sed -E 's#^postgresql\+[a-z0-9]+://#postgresql://#')

(cd "$source" && sha256sum --check --quiet SHA256SUMS)
if [ "$store_kind" = s3 ]; then
  "$python" "$here/bucket.py" require-empty || exit 2
else
  store=${BENCHDOCS_FILE_STORE_DIR:?set BENCHDOCS_FILE_STORE_DIR}
  if [ -d "$store" ] && [ -n "$(ls -A "$store")" ]; then
    echo "restore: $store is not empty; restore into a new file store" >&2
    exit 2
  fi
fi
pg_restore --exit-on-error --single-transaction --no-owner --no-privileges \
  --dbname "$libpq_url" "$source/database.dump"
if [ "$store_kind" = s3 ]; then
  staging=$(mktemp -d)
  trap 'rm -rf "$staging"' EXIT
  tar -C "$staging" -xf "$source/files.tar"
  "$python" -m service.cli storage migrate --from "$staging"
  echo "restored $source into the database and the bucket"
else
  mkdir -p "$store"
  tar -C "$store" -xf "$source/files.tar"
  echo "restored $source into the database and $store"
fi

#!/bin/sh
# Back up benchdocs into a new folder: the database (pg_dump), then the file store.
#
#   ops/backup.sh DEST
#
# Reads the settings benchdocs reads: DATABASE_URL (or BENCHDOCS_DATABASE_URL), PostgreSQL
# only, and the file store: BENCHDOCS_FILE_STORE_DIR, or with BENCHDOCS_FILE_STORE=s3 the bucket
# of BENCHDOCS_S3_* (read by ops/bucket.py with benchdocs' Python: PYTHON, default python3).
# Needs pg_dump (as new as the server), tar and sha256sum. Writes DEST/database.dump
# (pg_dump's custom format), DEST/files.tar (the store's files under their keys), SHA256SUMS.
#
# The database is dumped first, the files after: a file is stored before the row that names it
# is committed, so every file the dump names is in the store when the archive is taken. Files
# written after the dump are in the archive too, named by no row and harmless.
set -eu

dest=${1:?usage: ops/backup.sh DEST}
here=$(dirname "$0")
python=${PYTHON:-python3}
database_url=${DATABASE_URL:-${BENCHDOCS_DATABASE_URL:-}}
[ -n "$database_url" ] || { echo "backup: set DATABASE_URL" >&2; exit 2; }
case $database_url in
  postgresql*) ;;
  *) echo "backup: DATABASE_URL is not PostgreSQL" >&2; exit 2 ;;
esac
store_kind=${BENCHDOCS_FILE_STORE:-local}
if [ "$store_kind" != s3 ]; then
  store=${BENCHDOCS_FILE_STORE_DIR:?set BENCHDOCS_FILE_STORE_DIR}
  [ -d "$store" ] || { echo "backup: no file store at $store" >&2; exit 2; }
fi
# SQLAlchemy's postgresql+psycopg:// is libpq's postgresql://.
libpq_url=$(printf '%s' "$database_url" | sed -E 's#^postgresql\+[a-z0-9]+://#postgresql://#')

# A new folder: a backup never overwrites or mixes with another.
mkdir "$dest"
pg_dump --format=custom --no-owner --no-privileges --file "$dest/database.dump" "$libpq_url"
if [ "$store_kind" = s3 ]; then
  "$python" "$here/bucket.py" download "$dest/files"
  tar -C "$dest/files" -cf "$dest/files.tar" .
  rm -rf "$dest/files"
else
  tar -C "$store" -cf "$dest/files.tar" .
fi
(cd "$dest" && sha256sum database.dump files.tar > SHA256SUMS)
echo "backed up to $dest: $(tar -tf "$dest/files.tar" | grep -cv '/$') files"

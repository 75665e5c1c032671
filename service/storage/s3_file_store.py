"""Files in an S3-compatible bucket (AWS S3, SeaweedFS, MinIO, Ceph), through boto3.

Every object carries its sha256 in its metadata (``x-amz-meta-sha256``), so a copy can be
checked without reading it back. A write is one PUT, or a multipart upload that becomes visible
only when it is completed: a reader sees the old object or the new one, never half of one.
Failures of the store (no connection, a timeout, a 5xx, refused credentials, no bucket) are
``StoreUnavailableError``: workers retry the task, the API answers 503.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
)

from service.errors import NotFoundError, StoreUnavailableError
from service.settings import Settings, require_s3_settings
from service.storage.disposition import content_disposition
from service.storage.file_store import CHUNK_BYTES, StoredFile, checked_key, file_checksum

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

SHA256_META = "sha256"
_MISSING_KEY = frozenset({"NoSuchKey", "404", "NotFound"})
_MISSING_BUCKET = frozenset({"NoSuchBucket"})
_REFUSED = frozenset(
    {
        "403",
        "AccessDenied",
        "Forbidden",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
    }
)


class S3FileStore:
    """Files as objects under ``prefix`` in one bucket; keys are checked as in the local store."""

    def __init__(
        self,
        *,
        client: S3Client,
        bucket: str,
        prefix: str = "",
        endpoint: str = "AWS S3",
        multipart_bytes: int = 16 * 1024 * 1024,
        presigner: S3Client | None = None,
    ) -> None:
        self._client = client
        self._presigner = presigner or client
        self._bucket = bucket
        self._prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self._endpoint = endpoint
        self._multipart_bytes = multipart_bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> S3FileStore:
        """The bucket, credentials, timeouts and retries of ``BENCHDOCS_S3_*``."""
        require_s3_settings(settings, needed_by="the S3 file store")
        assert settings.s3_bucket is not None and settings.s3_secret_key is not None
        config = Config(
            region_name=settings.s3_region,
            signature_version="s3v4",
            s3={"addressing_style": settings.s3_addressing_style},
            connect_timeout=settings.s3_connect_timeout_seconds,
            read_timeout=settings.s3_read_timeout_seconds,
            retries={"max_attempts": settings.s3_max_attempts, "mode": "standard"},
            max_pool_connections=settings.s3_max_pool_connections,
            # Checksums only where S3 requires them: since boto3 1.36 every upload otherwise
            # carries a CRC trailer that several S3-compatible stores refuse. Integrity is kept
            # by the sha256 each object records, which the migration reads back.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        # A session of its own: boto3's default session is shared and not thread-safe.
        session = boto3.session.Session(
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=settings.s3_secret_key.get_secret_value(),
            region_name=settings.s3_region,
        )
        client = session.client("s3", endpoint_url=settings.s3_endpoint_url, config=config)
        presigner = None
        if settings.s3_public_endpoint_url:
            presigner = session.client(
                "s3", endpoint_url=settings.s3_public_endpoint_url, config=config
            )
        return cls(
            client=client,
            bucket=settings.s3_bucket,
            prefix=settings.s3_key_prefix,
            endpoint=settings.s3_endpoint_url or f"AWS S3 ({settings.s3_region})",
            multipart_bytes=settings.s3_multipart_bytes,
            presigner=presigner,
        )

    @property
    def bucket(self) -> str:
        """The bucket's name."""
        return self._bucket

    @property
    def prefix(self) -> str:
        """What every object key of this store starts with ("" or ending in ``/``)."""
        return self._prefix

    def object_key(self, key: str) -> str:
        """The bucket's key of a store key (checked: no absolute path, no ``..``)."""
        return self._prefix + "/".join(checked_key(key).parts)

    # -- writing ---------------------------------------------------------------------------

    def put(self, key: str, data: bytes) -> StoredFile:
        """Write atomically: one PUT, or a multipart upload completed only once all is sent."""
        sha256 = hashlib.sha256(data).hexdigest()
        view = memoryview(data)
        offset = 0

        def read(size: int) -> bytes:
            nonlocal offset
            piece = bytes(view[offset : offset + size])
            offset += len(piece)
            return piece

        self._upload(key, read, size=len(data), sha256=sha256)
        return StoredFile(key=key, size_bytes=len(data), sha256=sha256)

    def put_file(self, key: str, path: Path) -> StoredFile:
        """Copy a local file in parts (never whole in memory), with its sha256 in the metadata."""
        size, sha256 = file_checksum(path)
        with path.open("rb") as handle:
            self._upload(key, handle.read, size=size, sha256=sha256)
        return StoredFile(key=key, size_bytes=size, sha256=sha256)

    def _upload(self, key: str, read: Callable[[int], bytes], *, size: int, sha256: str) -> None:
        object_key = self.object_key(key)
        metadata = {SHA256_META: sha256}
        with self._translated(key):
            if size <= self._multipart_bytes:
                self._client.put_object(
                    Bucket=self._bucket, Key=object_key, Body=read(size), Metadata=metadata
                )
                return
            upload_id = self._client.create_multipart_upload(
                Bucket=self._bucket, Key=object_key, Metadata=metadata
            )["UploadId"]
        try:
            parts: list[CompletedPartTypeDef] = []
            while piece := read(self._multipart_bytes):
                with self._translated(key):
                    sent = self._client.upload_part(
                        Bucket=self._bucket,
                        Key=object_key,
                        UploadId=upload_id,
                        PartNumber=len(parts) + 1,
                        Body=piece,
                    )
                parts.append({"ETag": sent["ETag"], "PartNumber": len(parts) + 1})
            with self._translated(key):
                self._client.complete_multipart_upload(
                    Bucket=self._bucket,
                    Key=object_key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
        except BaseException:
            # Nothing was visible; drop the parts sent so far (best effort: the store may be
            # what failed, and a bucket lifecycle rule cleans up what is left).
            with suppress(BotoCoreError, ClientError):
                self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=object_key, UploadId=upload_id
                )
            raise

    # -- reading ---------------------------------------------------------------------------

    def get(self, key: str) -> bytes:
        """Read a stored file whole (small files; ``stream`` for anything sent on)."""
        with self._translated(key):
            body = self._client.get_object(Bucket=self._bucket, Key=self.object_key(key))["Body"]
            try:
                return body.read()
            finally:
                body.close()

    def exists(self, key: str) -> bool:
        """Whether an object is stored under the key."""
        return self._head(key) is not None

    def stored(self, key: str) -> StoredFile | None:
        """What the bucket holds under the key: size and recorded sha256 ("" if none), or None."""
        head = self._head(key)
        if head is None:
            return None
        sha256 = str(head.get("Metadata", {}).get(SHA256_META, ""))
        return StoredFile(key=key, size_bytes=int(head["ContentLength"]), sha256=sha256)

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            with self._translated(key):
                head = self._client.head_object(Bucket=self._bucket, Key=self.object_key(key))
        except NotFoundError:
            return None
        return dict(head)

    def stream(self, key: str, *, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The object in pieces of at most ``chunk_bytes``; NotFoundError before the first."""
        with self._translated(key):
            body = self._client.get_object(Bucket=self._bucket, Key=self.object_key(key))["Body"]
        return self._pieces(key, body, chunk_bytes)

    def _pieces(self, key: str, body: Any, chunk_bytes: int) -> Iterator[bytes]:
        try:
            while True:
                with self._translated(key):
                    piece: bytes = body.read(chunk_bytes)
                if not piece:
                    return
                yield piece
        finally:
            body.close()

    def list_keys(self) -> Iterator[str]:
        """Every store key in the bucket under this store's prefix."""
        paginator = self._client.get_paginator("list_objects_v2")
        with self._translated(self._prefix or "/"):
            for page in paginator.paginate(Bucket=self._bucket, Prefix=self._prefix):
                for item in page.get("Contents", []):
                    yield item["Key"][len(self._prefix) :]

    def delete(self, key: str) -> None:
        """Remove an object; removing one that is not there is not an error."""
        with self._translated(key):
            self._client.delete_object(Bucket=self._bucket, Key=self.object_key(key))

    def presigned_url(
        self, key: str, *, file_name: str, content_type: str, fallback_name: str, seconds: int
    ) -> str:
        """A GET address valid for ``seconds`` that downloads the file under its own name."""
        with self._translated(key):
            return self._presigner.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self._bucket,
                    "Key": self.object_key(key),
                    "ResponseContentDisposition": content_disposition(file_name, fallback_name),
                    "ResponseContentType": content_type,
                    "ResponseCacheControl": "private, no-store",
                },
                ExpiresIn=seconds,
            )

    def check(self) -> None:
        """The endpoint answers, the bucket exists and the credentials are accepted."""
        with self._translated(None):
            self._client.head_bucket(Bucket=self._bucket)

    # -- errors ----------------------------------------------------------------------------

    @contextmanager
    def _translated(self, key: str | None) -> Iterator[None]:
        """The client's errors as benchdocs' own, each naming the endpoint and bucket."""
        where = f"bucket {self._bucket!r} at {self._endpoint}"
        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in _MISSING_BUCKET or (key is None and status == 404):
                raise StoreUnavailableError(f"{where}: the bucket does not exist") from exc
            if code in _MISSING_KEY or status == 404:
                raise NotFoundError(f"no stored file {key!r}") from exc
            if code in _REFUSED or status == 403:
                raise StoreUnavailableError(
                    f"{where}: the credentials were refused ({code or status})"
                ) from exc
            message = error.get("Message", "")
            raise StoreUnavailableError(
                f"{where}: the store answered {status} {code} {message}".rstrip()
            ) from exc
        except (EndpointConnectionError, ConnectTimeoutError) as exc:
            raise StoreUnavailableError(f"{where}: the endpoint cannot be reached ({exc})") from exc
        except NoCredentialsError as exc:
            raise StoreUnavailableError(f"{where}: no credentials ({exc})") from exc
        except BotoCoreError as exc:
            raise StoreUnavailableError(f"{where}: {exc}") from exc

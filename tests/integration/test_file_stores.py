"""One contract, two stores: the local directory and an S3 bucket on a real SeaweedFS server.

Every assertion here runs against both. Then what only a network store can do wrong: a large
object streams with bounded memory, and a stopped server is named, answered with 503 and
loses nothing.
"""

from __future__ import annotations

import hashlib
import re
import threading
import tracemalloc
import uuid
from pathlib import Path

import pytest

from service.errors import NotFoundError, StoreUnavailableError
from service.settings import Settings
from service.storage.configured import open_file_store
from service.storage.file_store import FileStore, LocalFileStore
from service.storage.s3_file_store import S3FileStore
from tests.conftest import STORES, TEST_BUCKET
from tests.integration.s3_server import S3Server, free_port

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
SWEDISH_KEY = "möten/Benchmarking 2/Åre kommun – Presentation 🎉👩🏽‍💼.pptx"
UNSAFE_KEYS = ["../utanför.txt", "/etc/passwd", "a/../../b", "a\\b", "a\x00b", "", "."]


def s3_store(server: S3Server, *, bucket: str = TEST_BUCKET, **overrides: object) -> S3FileStore:
    """A store on the test server under a prefix of its own (parts of 5 MiB, the least S3 takes)."""
    arguments: dict[str, object] = {
        "client": server.client(),
        "bucket": bucket,
        "prefix": f"contract-{uuid.uuid4().hex[:10]}/",
        "endpoint": server.url,
        "multipart_bytes": 5 * MIB,
    }
    arguments.update(overrides)
    return S3FileStore(**arguments)  # type: ignore[arg-type]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> FileStore:
    if request.param == "local":
        return LocalFileStore(tmp_path / "files")
    return s3_store(request.getfixturevalue("s3_server"))


# -- the contract -------------------------------------------------------------------------------


def test_a_file_put_is_read_back_with_its_size_and_sha256(store: FileStore) -> None:
    data = "Syfte och mål – åäö ÅÄÖ 🎉".encode() * 1000

    stored = store.put("meetings/2/agenda.docx", data)

    assert (stored.key, stored.size_bytes) == ("meetings/2/agenda.docx", len(data))
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert store.get("meetings/2/agenda.docx") == data
    assert store.exists("meetings/2/agenda.docx")


def test_a_stream_comes_in_pieces_no_larger_than_asked(store: FileStore) -> None:
    data = bytes(range(256)) * (10 * 1024 + 17)  # 2.5 MiB and a bit
    store.put("stor.bin", data)

    pieces = list(store.stream("stor.bin", chunk_bytes=MIB))

    assert [len(p) for p in pieces] == [MIB, MIB, len(data) - 2 * MIB]
    assert b"".join(pieces) == data


def test_a_second_put_replaces_the_file(store: FileStore) -> None:
    store.put("brev.docx", b"first version")

    store.put("brev.docx", b"second")

    assert store.get("brev.docx") == b"second"


def test_delete_removes_and_deleting_nothing_is_no_error(store: FileStore) -> None:
    store.put("borta.txt", b"x")

    store.delete("borta.txt")
    store.delete("borta.txt")
    store.delete("aldrig/funnits.txt")

    assert not store.exists("borta.txt")
    with pytest.raises(NotFoundError):
        store.get("borta.txt")


def test_a_missing_key_is_not_found_before_any_piece_is_asked_for(store: FileStore) -> None:
    with pytest.raises(NotFoundError, match=r"saknas\.txt"):
        store.get("saknas.txt")
    with pytest.raises(NotFoundError, match=r"saknas\.txt"):
        store.stream("saknas.txt")  # not iterated: the call itself says so
    assert not store.exists("saknas.txt")


@pytest.mark.parametrize("key", UNSAFE_KEYS, ids=repr)
def test_an_unsafe_key_is_refused_by_every_method(store: FileStore, key: str) -> None:
    for attempt in (
        lambda: store.put(key, b"x"),
        lambda: store.get(key),
        lambda: store.exists(key),
        lambda: store.stream(key),
        lambda: store.delete(key),
    ):
        with pytest.raises(ValueError, match="unsafe file key"):
            attempt()


def test_swedish_letters_and_emoji_in_keys_round_trip(store: FileStore) -> None:
    data = "Åre kommun – vår presentation 👩🏽‍💼".encode()

    store.put(SWEDISH_KEY, data)

    assert store.exists(SWEDISH_KEY)
    assert store.get(SWEDISH_KEY) == data
    assert b"".join(store.stream(SWEDISH_KEY)) == data
    assert not store.exists(SWEDISH_KEY.replace("Åre", "Are"))
    if isinstance(store, S3FileStore):
        assert list(store.list_keys()) == [SWEDISH_KEY]
    store.delete(SWEDISH_KEY)
    assert not store.exists(SWEDISH_KEY)


def test_check_passes_on_a_working_store(store: FileStore) -> None:
    store.check()


def test_a_concurrent_reader_never_sees_part_of_a_file(store: FileStore) -> None:
    # Over 5 MiB: the S3 store sends it as a multipart upload, part by part.
    size = 6 * MIB + 123
    versions = [bytes([65 + n]) * size for n in range(2)]
    seen: list[str] = []
    problems: list[str] = []
    writing = threading.Event()
    writing.set()

    def read() -> None:
        while writing.is_set():
            try:
                got = store.get("samma.bin")
            except NotFoundError:
                seen.append("none")  # before the first write completes: fine
                continue
            if got in versions:
                seen.append(chr(got[0]))
            else:
                problems.append(f"{len(got)} bytes, starting {got[:1]!r}, ending {got[-1:]!r}")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for round_ in range(8):
            store.put("samma.bin", versions[round_ % 2])
    finally:
        writing.clear()
        reader.join()

    assert problems == []
    assert {"A", "B"} & set(seen), seen  # the reader did read while the writer wrote


# -- large files: memory stays bounded ----------------------------------------------------------


def test_a_large_file_streams_with_bounded_memory(store: FileStore) -> None:
    size = 48 * MIB
    data = bytes(range(256)) * (size // 256)
    expected = hashlib.sha256(data).hexdigest()
    store.put("stor/mötespaket.pdf", data)
    del data

    tracemalloc.start()
    try:
        digest = hashlib.sha256()
        received = 0
        for piece in store.stream("stor/mötespaket.pdf"):
            digest.update(piece)
            received += len(piece)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (received, digest.hexdigest()) == (size, expected)
    # One piece (1 MiB) and the client's buffers, not the 48 MiB file.
    assert peak < 6 * MIB, f"peak {peak / MIB:.1f} MiB while streaming {size // MIB} MiB"


# -- the S3 store's own failures ----------------------------------------------------------------


def test_check_names_a_missing_bucket(s3_server: S3Server) -> None:
    store = s3_store(s3_server, bucket="finns-inte-" + uuid.uuid4().hex[:8])

    with pytest.raises(StoreUnavailableError, match=r"finns-inte-.*the bucket does not exist"):
        store.check()


def test_check_names_refused_credentials(s3_server: S3Server, tmp_path: Path) -> None:
    settings = s3_server.settings(Settings(), bucket=TEST_BUCKET)
    wrong = settings.model_copy(update={"s3_secret_key": settings.s3_secret_key.__class__("fel")})

    with pytest.raises(StoreUnavailableError, match="credentials were refused"):
        open_file_store(wrong).check()


def test_check_names_an_endpoint_nobody_answers_at() -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    settings = Settings(
        file_store="s3",
        s3_endpoint_url=nobody,
        s3_bucket="benchdocs",
        s3_access_key="nyckel",
        s3_secret_key="hemlig",  # type: ignore[arg-type]
        s3_connect_timeout_seconds=1,
        s3_max_attempts=1,
    )

    with pytest.raises(
        StoreUnavailableError, match=re.escape(nobody) + ": the endpoint cannot be reached"
    ):
        open_file_store(settings).check()


def test_the_factory_keeps_the_local_directory_by_default(tmp_path: Path) -> None:
    store = open_file_store(Settings(file_store_dir=tmp_path / "filer"))

    store.put("a.txt", b"lokalt")

    assert isinstance(store, LocalFileStore)
    assert (tmp_path / "filer" / "a.txt").read_bytes() == b"lokalt"


def test_a_stopped_server_is_named_and_nothing_stored_is_lost(own_s3_server: S3Server) -> None:
    store = s3_store(own_s3_server, bucket="egen", prefix="")
    saved = {f"möte/{n}/fil-{n}.docx": f"innehåll {n} åäö".encode() * 100 for n in range(5)}
    for key, data in saved.items():
        store.put(key, data)

    own_s3_server.stop()

    with pytest.raises(
        StoreUnavailableError, match=re.escape(own_s3_server.url) + ".*cannot be reached"
    ):
        store.check()
    with pytest.raises(StoreUnavailableError):
        store.get("möte/0/fil-0.docx")
    with pytest.raises(StoreUnavailableError):
        store.put("möte/ny.docx", b"skrivs inte")
    own_s3_server.restart()
    store.check()
    assert {key: store.get(key) for key in saved} == saved
    assert not store.exists("möte/ny.docx")

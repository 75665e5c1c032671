"""Twenty participants at once, for a bounded time, against ``benchdocs serve``.

Each reads who they are, their documents, and uploads its organisation's checklist with fresh
random scores, again and again. Afterwards every organisation's stored scores must equal those
of its last accepted upload (the highest upload id the database holds for it), no request may
have answered a 5xx, and no accepted upload may be missing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field

import openpyxl
from sqlalchemy import func, select

from drills.harness import DrillError, Stage, Tally
from service.access.tokens import issue_token
from service.batches.document_maker import DocumentMaker
from service.cli.local_cluster import free_port
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentKind
from tests.integration.test_checklist_upload import fill, statement_rows
from tests.tools.private_services import PrivatePostgres

PARTICIPANTS = 20
SECONDS = 60.0
SHEET = "BM 2"
API = "/api/v1"


@dataclass
class Load:
    """What the participants sent and were answered."""

    statuses: Counter[int] = field(default_factory=Counter)
    sent: dict[str, dict[str, int]] = field(default_factory=dict)  # sha256 -> scores
    accepted: int = 0
    seconds: dict[str, list[float]] = field(default_factory=dict)  # per request kind
    lock: threading.Lock = field(default_factory=threading.Lock)


def participants_20(stage: Stage, _pg: PrivatePostgres) -> Tally:
    """20 participants for ``SECONDS``: nothing lost, scores equal the last accepted upload."""
    port = free_port()
    stage.command("serve", "--host", "127.0.0.1", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    if stage.wait_for(lambda: _answers(f"{base}/healthz"), 60.0) is None:
        raise DrillError("benchdocs serve did not answer within 60 s")
    meeting = stage.meeting_id()
    with stage.runtime.sessions() as session:
        organisations = list(session.scalars(select(m.Organisation.id).order_by(m.Organisation.id)))
    maker = DocumentMaker(stage.runtime.sessions, stage.runtime.templates)
    blanks = {
        org: maker.make(DocumentKind.CHECKLIST, meeting_id=meeting, organisation_id=org).data
        for org in organisations
    }
    tokens = {}
    for org in organisations:
        with unit_of_work(stage.runtime.sessions) as session:
            tokens[org] = issue_token(
                session,
                organisation_id=org,
                valid_for=dt.timedelta(days=1),
                label="drill",
                now=dt.datetime.now(dt.UTC),
            ).token
    load = Load()
    until = time.monotonic() + SECONDS
    threads = [
        threading.Thread(
            target=_participant,
            args=(base, organisations[i % len(organisations)], tokens, blanks, load, until, i),
            daemon=True,
        )
        for i in range(PARTICIPANTS)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 120)
    elapsed = time.monotonic() - started
    return _check(stage, organisations, load, elapsed)


def _answers(url: str) -> bool:
    return _call(url, {}, timeout=2.0) == 200


def _call(
    url: str, headers: dict[str, str], *, body: bytes | None = None, timeout: float = 60.0
) -> int:
    """The answer's status (0: no answer); a body is POSTed."""
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            answer.read()
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        refused.read()
        return int(refused.code)
    except OSError:
        return 0


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), boundary


def _participant(
    base: str,
    org: int,
    tokens: dict[int, str],
    blanks: dict[int, bytes],
    load: Load,
    until: float,
    seed: int,
) -> None:
    chance = random.Random(seed)  # noqa: S311 - test data, not secrets
    headers = {"Authorization": f"Bearer {tokens[org]}"}
    refs = list(statement_rows(openpyxl.load_workbook(io.BytesIO(blanks[org]))[SHEET]))
    while time.monotonic() < until:
        for kind, path in (("me", f"{API}/me"), ("documents", f"{API}/documents")):
            begun = time.monotonic()
            _count(load, _call(base + path, headers), kind, time.monotonic() - begun)
        scores = {ref: chance.randint(1, 3) for ref in refs}
        data = fill(blanks[org], scores=dict(scores))
        with load.lock:
            load.sent[hashlib.sha256(data).hexdigest()] = scores
        body, boundary = _multipart("checklista.xlsx", data)
        begun = time.monotonic()
        status = _call(
            f"{base}{API}/organisations/{org}/checklist-uploads",
            {**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
            body=body,
        )
        _count(load, status, "upload", time.monotonic() - begun)
        if status == 201:
            with load.lock:
                load.accepted += 1


def _count(load: Load, status: int, kind: str, seconds: float) -> None:
    with load.lock:
        load.statuses[status] += 1
        load.seconds.setdefault(kind, []).append(seconds)


def _percentiles(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"


def _check(stage: Stage, organisations: list[int], load: Load, elapsed: float) -> Tally:
    tally = Tally("20 participants", recovery_seconds=elapsed)
    upload = m.Upload
    wrong = []
    with stage.runtime.sessions() as session:
        stored = session.scalar(
            select(func.count()).select_from(upload).where(upload.file_name == "checklista.xlsx")
        )
        for org in organisations:
            last = session.execute(
                select(upload.sha256, upload.round_id)
                .where(upload.organisation_id == org, upload.file_name == "checklista.xlsx")
                .order_by(upload.id.desc())
                .limit(1)
            ).first()
            if last is None:
                continue
            scores = dict(
                session.execute(
                    select(m.ChecklistQuestion.ref, m.Score.value)
                    .join(m.Score, m.Score.question_id == m.ChecklistQuestion.id)
                    .where(m.Score.organisation_id == org, m.Score.round_id == last.round_id)
                ).all()
            )
            sent = load.sent.get(last.sha256)
            if sent is None or any(scores.get(ref) != value for ref, value in sent.items()):
                wrong.append(org)
    errors = sum(n for status, n in load.statuses.items() if status >= 500)
    tally.wanted = load.accepted
    tally.done = int(stored or 0)
    tally.lost = max(0, load.accepted - tally.done)
    tally.failed = errors
    tally.passed = not wrong and errors == 0 and tally.lost == 0 and load.accepted > 0
    requests = sum(load.statuses.values())
    tally.note = (
        f"{requests} requests in {elapsed:.0f} s, answers {dict(load.statuses)}; "
        f"uploads accepted {load.accepted}; "
        + "; ".join(f"{kind} {_percentiles(times)}" for kind, times in load.seconds.items())
        + "; organisations whose scores differ from their last "
        f"accepted upload: {wrong or 'none'}"
    )
    return tally

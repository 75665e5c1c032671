"""Plan a regeneration: which document slots to check, and which of them changed and why.

A slot is (meeting, organisation, kind, format). A run checks, for each meeting in scope,
every (kind, format) that the meeting has any document of, for every current organisation of
the network when the kind is made per organisation (so a newly added organisation gets its
documents). Each slot is compared with its latest done version in two steps:

1. the data stamp (``stamps``), from a handful of bulk queries: equal to the stamp stored with
   the latest version means unchanged, without building any context;
2. otherwise the real fingerprint: the context is built and digested; equal to the latest
   version's fingerprint means unchanged (and the newly verified stamp is stored on that
   version, so the next run takes step 1 again), different means the slot is re-rendered.

Packs (``catalogue.PACKS``: the meeting pack, the archives) have no context: each is compared
by the fingerprint of the files it gathers (``service.batches.packs.gather``), and is made
again too when a document it gathers is re-rendered by the same run (its worker then waits
for that document).

Stamps and contexts are read in one snapshot (``stamps.consistent_read``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from service.batches.packs import REASON_INPUTS, gather, takes_in
from service.batches.template_library import active_version
from service.change_detection.fingerprints import (
    REASON_NEW,
    document_inputs,
    explain,
    renderer_identity,
    template_sha256,
)
from service.change_detection.stamps import consistent_read, load_digests
from service.database import models as m
from service.database.facts.loaders import LOADERS
from service.database.session import unit_of_work
from service.documents.catalogue import PACKS, output_spec, spec_for
from service.domain.kinds import DocumentKind, DocumentStatus
from service.errors import GenerationError, NotFoundError

log = logging.getLogger(__name__)

_DOC = m.GeneratedDocument
_IN_FLIGHT = (DocumentStatus.PENDING, DocumentStatus.QUEUED, DocumentStatus.RUNNING)
# Loaded ORM objects are dropped every so many contexts, so a long check keeps memory flat.
_CONTEXTS_PER_SESSION_CLEAR = 200


@dataclass(frozen=True)
class PlannedChange:
    """A slot whose document must be rendered again, and why."""

    document_id: int | None  # the slot's latest version, None when new
    meeting_id: int
    organisation_id: int | None
    kind: DocumentKind
    format: str
    reasons: tuple[str, ...]  # e.g. ("template changed",), ("data changed: scores",), ("new",)
    description: str  # e.g. "deck (pptx) for Borås stad, Benchmarking 2"


@dataclass(frozen=True)
class RegenerationPlan:
    """What a check of some meetings found."""

    checked: int
    unchanged: int
    changes: list[PlannedChange]
    failures: list[tuple[str, str]]  # (description, reason): contexts that could not be built
    # Slots left alone because a newer request for them is still pending, queued or running.
    in_progress: int = 0
    # How many slots needed their context built (their stamp had changed or was missing).
    contexts_built: int = 0


@dataclass(frozen=True)
class _Slot:
    meeting_id: int
    organisation_id: int | None
    kind: DocumentKind
    format: str


@dataclass(frozen=True)
class _Latest:
    id: int
    fingerprint: str | None
    inputs: dict[str, Any] | None


@dataclass
class _Scope:
    """Everything about the meetings in scope, read in bulk."""

    meetings: dict[int, tuple[int, str]]  # meeting id -> (network id, title)
    organisations: dict[int, list[tuple[int, str]]]  # network id -> [(id, name)] by id
    slots: list[_Slot]
    latest: dict[_Slot, _Latest]
    in_flight: set[_Slot]
    names: dict[int, str] = field(default_factory=dict)  # organisation id -> name


def active_meeting_ids(session: Session, *, today: dt.date, days_after: int) -> list[int]:
    """Meetings dated ``today - days_after`` or later that have any generated document."""
    since = today - dt.timedelta(days=days_after)
    has_documents = select(_DOC.id).where(_DOC.meeting_id == m.Meeting.id).exists()
    return list(
        session.scalars(
            select(m.Meeting.id)
            .where(m.Meeting.date >= since, has_documents)
            .order_by(m.Meeting.date, m.Meeting.id)
        )
    )


def describe(
    kind: DocumentKind, file_format: str, *, organisation: str | None, meeting: str
) -> str:
    """``deck (pptx) for Borås stad, Benchmarking 2``, or ``agenda (docx) for Benchmarking 2``."""
    if organisation is None:
        return f"{kind.value} ({file_format}) for {meeting}"
    return f"{kind.value} ({file_format}) for {organisation}, {meeting}"


def plan_regeneration(
    sessions: sessionmaker[Session], templates_dir: Path, *, meeting_ids: Sequence[int]
) -> RegenerationPlan:
    """Check every slot of these meetings against its latest version; nothing is rendered.

    The only write is the verified stamp stored on versions found unchanged the slow way.
    """
    with consistent_read(sessions) as session:
        scope = _load_scope(session, meeting_ids)
        templates = _template_digests(session, scope.slots, templates_dir)
        renderers = {slot.format: renderer_identity(slot.format) for slot in scope.slots}
        networks = {network for network, _ in scope.meetings.values()}
        digests = load_digests(session, networks)
        unchanged = in_progress = 0
        changes: list[PlannedChange] = []
        failures: list[tuple[str, str]] = []
        to_verify: dict[tuple[int, int | None, DocumentKind], list[tuple[_Slot, str]]] = (
            defaultdict(list)
        )
        pack_slots: list[_Slot] = []
        for slot in scope.slots:
            if slot in scope.in_flight:
                in_progress += 1
                continue
            if slot.kind in PACKS:
                pack_slots.append(slot)
                continue
            template = templates[slot.kind]
            if isinstance(template, Exception):
                failures.append((_description(scope, slot), str(template)))
                continue
            spec = spec_for(slot.kind)
            network = scope.meetings[slot.meeting_id][0]
            stamp = digests.stamp(
                spec,
                network_id=network,
                organisation_id=slot.organisation_id,
                template_sha256=template,
                renderer=renderers[slot.format],
            )
            latest = scope.latest.get(slot)
            if latest is not None and latest.inputs and latest.inputs.get("stamp") == stamp:
                unchanged += 1
            else:
                key = (slot.meeting_id, slot.organisation_id, slot.kind)
                to_verify[key].append((slot, stamp))
        verified: list[tuple[int, dict[str, Any]]] = []
        for built, ((meeting_id, organisation_id, kind), slots) in enumerate(to_verify.items()):
            if built and built % _CONTEXTS_PER_SESSION_CLEAR == 0:
                session.expunge_all()
            try:
                facts = LOADERS[kind](
                    session, meeting_id=meeting_id, organisation_id=organisation_id
                )
                context = spec_for(kind).build_context(facts)
            except (GenerationError, NotFoundError) as exc:
                failures.extend((_description(scope, slot), str(exc)) for slot, _ in slots)
                continue
            for slot, stamp in slots:
                template = templates[slot.kind]
                assert isinstance(template, str)
                inputs = document_inputs(
                    template_sha256=template,
                    context=context,
                    file_format=slot.format,
                    stamp=stamp,
                    renderer=renderers[slot.format],
                )
                latest = scope.latest.get(slot)
                if latest is not None and latest.fingerprint == inputs.fingerprint:
                    unchanged += 1
                    verified.append((latest.id, {**(latest.inputs or {}), "stamp": stamp}))
                    continue
                changes.append(
                    PlannedChange(
                        document_id=latest.id if latest else None,
                        meeting_id=slot.meeting_id,
                        organisation_id=slot.organisation_id,
                        kind=slot.kind,
                        format=slot.format,
                        reasons=explain(latest.inputs or {}, inputs) if latest else (REASON_NEW,),
                        description=_description(scope, slot),
                    )
                )
        unchanged += _plan_packs(session, scope, pack_slots, changes, failures)
    if verified:
        _store_stamps(sessions, verified)
    return RegenerationPlan(
        checked=len(scope.slots),
        unchanged=unchanged,
        changes=changes,
        failures=failures,
        in_progress=in_progress,
        contexts_built=len(to_verify),
    )


def _plan_packs(
    session: Session,
    scope: _Scope,
    slots: Sequence[_Slot],
    changes: list[PlannedChange],
    failures: list[tuple[str, str]],
) -> int:
    """Add the packs whose files changed, or that gather a document changed now; unchanged."""
    unchanged = 0
    order = list(PACKS)
    # The meeting's archive holds the meeting pack: packs are checked in PACKS order.
    for slot in sorted(
        slots, key=lambda s: (order.index(s.kind), s.meeting_id, s.organisation_id or 0)
    ):
        try:
            inputs = gather(
                session, slot.kind, meeting_id=slot.meeting_id, organisation_id=slot.organisation_id
            )
        except (GenerationError, NotFoundError) as exc:
            failures.append((_description(scope, slot), str(exc)))
            continue
        latest = scope.latest.get(slot)
        fed = any(
            change.meeting_id == slot.meeting_id
            and takes_in(slot.kind, slot.organisation_id, change.kind, change.organisation_id)
            for change in changes
        )
        if latest is not None and latest.fingerprint == inputs.fingerprint and not fed:
            unchanged += 1
            continue
        changes.append(
            PlannedChange(
                document_id=latest.id if latest else None,
                meeting_id=slot.meeting_id,
                organisation_id=slot.organisation_id,
                kind=slot.kind,
                format=slot.format,
                reasons=(REASON_INPUTS,) if latest else (REASON_NEW,),
                description=_description(scope, slot),
            )
        )
    return unchanged


def _load_scope(session: Session, meeting_ids: Sequence[int]) -> _Scope:
    wanted = sorted(set(meeting_ids))
    meetings = {
        row.id: (row.network_id, row.title)
        for row in session.execute(
            select(m.Meeting.id, m.Meeting.network_id, m.Meeting.title).where(
                m.Meeting.id.in_(wanted)
            )
        )
    }
    organisations: dict[int, list[tuple[int, str]]] = defaultdict(list)
    names: dict[int, str] = {}
    for row in session.execute(
        select(m.Organisation.id, m.Organisation.network_id, m.Organisation.name)
        .where(m.Organisation.network_id.in_({network for network, _ in meetings.values()}))
        .order_by(m.Organisation.id)
    ):
        organisations[row.network_id].append((row.id, row.name))
        names[row.id] = row.name
    pairs = session.execute(
        select(_DOC.meeting_id, _DOC.kind, _DOC.format)
        .where(_DOC.meeting_id.in_(list(meetings)))
        .distinct()
    ).all()
    slots: list[_Slot] = []
    for meeting_id, kind, file_format in sorted(pairs, key=lambda p: (p[0], p[1].value, p[2])):
        if output_spec(kind).per_organisation:
            network = meetings[meeting_id][0]
            slots.extend(
                _Slot(meeting_id, org, kind, file_format) for org, _ in organisations[network]
            )
        else:
            slots.append(_Slot(meeting_id, None, kind, file_format))
    latest, newest_done = _latest_versions(session, list(meetings))
    in_flight = _in_flight(session, list(meetings), newest_done)
    return _Scope(
        meetings=meetings,
        organisations=dict(organisations),
        slots=slots,
        latest=latest,
        in_flight=in_flight,
        names=names,
    )


def _latest_versions(
    session: Session, meeting_ids: list[int]
) -> tuple[dict[_Slot, _Latest], dict[_Slot, int]]:
    """The newest done row of every slot of these meetings, in one query."""
    slot_columns = (_DOC.meeting_id, _DOC.organisation_id, _DOC.kind, _DOC.format)
    ranked = (
        select(
            _DOC.id,
            func.row_number().over(partition_by=slot_columns, order_by=_DOC.id.desc()).label("n"),
        )
        .where(_DOC.meeting_id.in_(meeting_ids), _DOC.status == DocumentStatus.DONE)
        .subquery()
    )
    rows = session.execute(
        select(*slot_columns, _DOC.id, _DOC.fingerprint, _DOC.inputs)
        .join(ranked, ranked.c.id == _DOC.id)
        .where(ranked.c.n == 1)
    )
    latest: dict[_Slot, _Latest] = {}
    for meeting_id, organisation_id, kind, file_format, doc_id, fingerprint, inputs in rows:
        slot = _Slot(meeting_id, organisation_id, kind, file_format)
        latest[slot] = _Latest(id=doc_id, fingerprint=fingerprint, inputs=inputs)
    return latest, {slot: found.id for slot, found in latest.items()}


def _in_flight(
    session: Session, meeting_ids: list[int], newest_done: dict[_Slot, int]
) -> set[_Slot]:
    """Slots with a request newer than their latest version that is not finished yet."""
    rows = session.execute(
        select(_DOC.meeting_id, _DOC.organisation_id, _DOC.kind, _DOC.format, func.max(_DOC.id))
        .where(_DOC.meeting_id.in_(meeting_ids), _DOC.status.in_(_IN_FLIGHT))
        .group_by(_DOC.meeting_id, _DOC.organisation_id, _DOC.kind, _DOC.format)
    )
    busy = set()
    for meeting_id, organisation_id, kind, file_format, newest in rows:
        slot = _Slot(meeting_id, organisation_id, kind, file_format)
        if newest > newest_done.get(slot, 0):
            busy.add(slot)
    return busy


def _template_digests(
    session: Session, slots: Sequence[_Slot], templates_dir: Path
) -> dict[DocumentKind, str | Exception]:
    """Each kind's template digest, or the error that makes every slot of it fail.

    A kind with an active uploaded version has that version's digest; others the built-in's.
    """
    digests: dict[DocumentKind, str | Exception] = {}
    by_file: dict[str, str | Exception] = {}
    for kind in {slot.kind for slot in slots if slot.kind not in PACKS}:
        active = active_version(session, kind)
        if active is not None:
            digests[kind] = active.sha256
            continue
        file_name = spec_for(kind).template_file
        if file_name not in by_file:
            try:
                by_file[file_name] = template_sha256(templates_dir / file_name)
            except OSError as exc:
                by_file[file_name] = GenerationError(
                    f"template {file_name!r} cannot be read in {templates_dir}: "
                    f"{exc.strerror or exc}"
                )
        digests[kind] = by_file[file_name]
    return digests


def _description(scope: _Scope, slot: _Slot) -> str:
    organisation = (
        scope.names.get(slot.organisation_id, f"organisation {slot.organisation_id}")
        if slot.organisation_id is not None
        else None
    )
    return describe(
        slot.kind,
        slot.format,
        organisation=organisation,
        meeting=scope.meetings[slot.meeting_id][1],
    )


def _store_stamps(
    sessions: sessionmaker[Session], verified: list[tuple[int, dict[str, Any]]]
) -> None:
    """Remember stamps verified against a version's fingerprint: the next check is cheap."""
    with unit_of_work(sessions) as session:
        session.execute(
            update(_DOC),
            [{"id": doc_id, "inputs": inputs} for doc_id, inputs in verified],
        )

"""Keep documents' stale marks true when data they were made from changes (an upload, say).

A document is stale exactly while its current inputs differ from those it was rendered from.
Exact, not a guess: each candidate's context is built again in the caller's transaction and
its digest compared with the one stored when the document was made; a differing digest marks
it (keeping the first moment it went stale), an equal one clears an earlier mark, so scores
changed from A to B and back to A leave the document as fresh as it was, with no render (the
nightly run compares the same digest and agrees). Candidates are the latest versions of the
organisation's slots whose kind shows that data of its own organisation, and of every slot in
its network whose kind shows it for other organisations (the organiser's checklist shows who
has submitted scores); see ``DocumentSpec.reads_own_organisation``. A document made before
fingerprints were recorded is marked, as it cannot be checked, and is never cleared.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from service.change_detection.fingerprints import context_digest
from service.database import models as m
from service.database.facts.loaders import LOADERS
from service.documents.catalogue import CATALOGUE, PrivateData, spec_for
from service.domain.kinds import DocumentKind, DocumentStatus
from service.errors import GenerationError, NotFoundError

_DOC = m.GeneratedDocument
SCORES_ONLY = frozenset({PrivateData.SCORES})


@dataclass(frozen=True)
class StaleMarks:
    """What one change did to the stale marks of the documents it may have altered."""

    marked: int  # went stale now
    cleared: int  # were stale and match their inputs again


def mark_stale(
    session: Session,
    *,
    organisation_id: int,
    now: dt.datetime,
    changed: Collection[PrivateData] = SCORES_ONLY,
) -> StaleMarks:
    """Mark stale the latest documents whose context differs now, clear those that match again.

    ``changed`` names the organisation's data that changed (by default its scores). Call it
    after the change is flushed, inside the same transaction.
    """
    network_id = session.scalar(
        select(m.Organisation.network_id).where(m.Organisation.id == organisation_id)
    )
    if network_id is None:
        return StaleMarks(0, 0)
    session.flush()
    data = frozenset(changed)
    own_kinds = [k for k, spec in CATALOGUE.items() if spec.reads_own_organisation & data]
    other_kinds = [k for k, spec in CATALOGUE.items() if spec.reads_other_organisations & data]
    candidates = _latest_candidates(
        session, network_id, organisation_id, own_kinds=own_kinds, other_kinds=other_kinds
    )
    by_context: dict[tuple[int, int | None, DocumentKind], list[tuple[int, str | None, bool]]] = (
        defaultdict(list)
    )
    for doc_id, meeting_id, org_id, kind, stored, was_stale in candidates:
        by_context[(meeting_id, org_id, kind)].append((doc_id, stored, was_stale))
    marked: list[int] = []
    cleared: list[int] = []
    for (meeting_id, org_id, kind), rows in by_context.items():
        try:
            facts = LOADERS[kind](session, meeting_id=meeting_id, organisation_id=org_id)
            digest: str | None = context_digest(spec_for(kind).build_context(facts)).sha256
        except (GenerationError, NotFoundError):
            digest = None  # it cannot be made as it was: it is stale
        for doc_id, stored, was_stale in rows:
            current = digest is not None and stored == digest
            if current and was_stale:
                cleared.append(doc_id)
            elif not current and not was_stale:
                marked.append(doc_id)
    for ids, value in ((marked, now), (cleared, None)):
        if ids:
            session.execute(
                update(_DOC)
                .where(_DOC.id.in_(ids))
                .values(stale_since=value)
                .execution_options(synchronize_session=False)
            )
    return StaleMarks(marked=len(marked), cleared=len(cleared))


def _latest_candidates(
    session: Session,
    network_id: int,
    organisation_id: int,
    *,
    own_kinds: list[DocumentKind],
    other_kinds: list[DocumentKind],
) -> list[tuple[int, int, int | None, DocumentKind, str | None, bool]]:
    """The latest done version of each slot the change may have altered, stale or not."""
    slot = (_DOC.meeting_id, _DOC.organisation_id, _DOC.kind, _DOC.format)
    wanted = or_(
        (_DOC.organisation_id == organisation_id) & _DOC.kind.in_(own_kinds),
        _DOC.kind.in_(other_kinds),
    )
    ranked = (
        select(
            _DOC.id,
            func.row_number().over(partition_by=slot, order_by=_DOC.id.desc()).label("n"),
        )
        .join(m.Meeting, m.Meeting.id == _DOC.meeting_id)
        .where(m.Meeting.network_id == network_id, _DOC.status == DocumentStatus.DONE, wanted)
        .subquery()
    )
    rows = session.execute(
        select(
            _DOC.id,
            _DOC.meeting_id,
            _DOC.organisation_id,
            _DOC.kind,
            _DOC.inputs,
            _DOC.stale_since.is_not(None),
        )
        .join(ranked, ranked.c.id == _DOC.id)
        .where(ranked.c.n == 1)
    ).all()
    return [
        (doc_id, meeting_id, org_id, kind, (inputs or {}).get("context"), bool(was_stale))
        for doc_id, meeting_id, org_id, kind, inputs, was_stale in rows
    ]


def mark_packs_stale(
    session: Session, *, meeting_id: int, organisation_id: int, now: dt.datetime
) -> int:
    """Mark stale the packs a deck sent back for the meeting changes; how many were marked.

    Packs have no context to compare: a new deck changes the meeting pack and the archives
    that gather it (the meeting's, and the organisation's own) for sure. The nightly run
    makes them again (``service.batches.packs``); the mark says so until then.
    """
    meeting_wide = [DocumentKind.MEETING_PACK, DocumentKind.MEETING_ARCHIVE]
    result = session.execute(
        update(_DOC)
        .where(
            _DOC.meeting_id == meeting_id,
            _DOC.status == DocumentStatus.DONE,
            _DOC.stale_since.is_(None),
            or_(
                _DOC.kind.in_(meeting_wide),
                (_DOC.kind == DocumentKind.ORGANISATION_ARCHIVE)
                & (_DOC.organisation_id == organisation_id),
            ),
        )
        .values(stale_since=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)

"""A render worker keeps network-wide facts between documents, by data revision.

Through the real render path (``RenderJob.run`` in one job, as a worker process runs them):
every document made from kept facts (the agenda's delegations, the network's checklist,
its transferable initiatives)
equals the one made afresh, the kept facts are used, and a committed change between two
documents is in every document made after it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.batches.control import create_batch
from service.batches.document_maker import DocumentMaker
from service.batches.pdf_step import Step
from service.batches.render_job import RenderJob
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentKind
from service.runtime import Runtime, build_runtime
from service.settings import Settings

pytestmark = pytest.mark.integration


def _made(
    runtime: Runtime,
    job: RenderJob,
    kind: DocumentKind,
    meeting: int,
    organisations: list[int],
) -> dict[int, tuple[bytes, bytes]]:
    """Each organisation's document made by the job: {organisation: (stored, made afresh)}."""
    with unit_of_work(runtime.sessions) as session:
        batch = create_batch(
            session, meeting_id=meeting, kinds=[kind], organisation_ids=organisations
        )
        documents = {d.organisation_id: d.id for d in batch.documents}
    fresh = DocumentMaker(runtime.sessions, runtime.templates)
    made = {}
    for organisation, document_id in documents.items():
        job.run(document_id, step=Step.RENDER)
        with runtime.sessions() as session:
            key = session.get(m.GeneratedDocument, document_id).file_key
        made[organisation] = (
            runtime.files.get(key),
            fresh.make(kind, meeting_id=meeting, organisation_id=organisation).data,
        )
    return made


def _rename_last_participant(session: Session, organisations: list[int]) -> None:
    participant = session.scalars(
        select(m.Participant).where(m.Participant.organisation_id == organisations[-1])
    ).first()
    assert participant is not None
    participant.name = "Åsa Ändrad-Öberg"


def _reword_first_question(session: Session, organisations: list[int]) -> None:
    question = session.scalars(select(m.ChecklistQuestion).order_by(m.ChecklistQuestion.id)).first()
    assert question is not None
    question.text = "Har ni en ändrad fråga? 🙂"


def _retitle_a_transferable_initiative(session: Session, organisations: list[int]) -> None:
    initiative = session.scalars(
        select(m.ImprovementInitiative)
        .where(
            m.ImprovementInitiative.transferable.is_(True),
            m.ImprovementInitiative.organisation_id.in_(organisations),
        )
        .order_by(m.ImprovementInitiative.id)
    ).first()
    assert initiative is not None
    initiative.title = "Ett nytt <initiativ> & {{ titel }}"


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        # Every organisation's agenda lists every delegation.
        (DocumentKind.ORGANISATION_AGENDA, _rename_last_participant),
        # Every organisation's checklist asks the network's questions.
        (DocumentKind.CHECKLIST, _reword_first_question),
        # Every organisation's letter lists the network's transferable initiatives.
        (DocumentKind.FEEDBACK_LETTER, _retitle_a_transferable_initiative),
    ],
)
def test_documents_from_kept_facts_equal_fresh_ones_and_show_a_change_made_between(
    sample_imported: Settings,
    kind: DocumentKind,
    change: Callable[[Session, list[int]], None],
) -> None:
    runtime = build_runtime(sample_imported)
    job = RenderJob(
        sessions=runtime.sessions,
        files=runtime.files,
        maker=DocumentMaker(runtime.sessions, runtime.templates),
    )
    try:
        with runtime.sessions() as session:
            meeting = session.scalars(select(m.Meeting).where(m.Meeting.ref == "bm2")).one()
            meeting_id = meeting.id
            organisations = list(
                session.scalars(
                    select(m.Organisation.id)
                    .where(m.Organisation.network_id == meeting.network_id)
                    .order_by(m.Organisation.id)
                )
            )

        first = _made(runtime, job, kind, meeting_id, organisations)
        assert all(stored == fresh for stored, fresh in first.values())
        assert job.shared_facts.hits >= len(organisations) - 1

        with unit_of_work(runtime.sessions) as session:
            change(session, organisations)
        second = _made(runtime, job, kind, meeting_id, organisations)
        # Made afresh after the change, so the change is in every one; and kept facts gave
        # the same bytes.
        assert all(stored == fresh for stored, fresh in second.values())
        assert all(second[o][0] != first[o][0] for o in organisations)
    finally:
        job.keeper.stop()
        runtime.close()

"""A render worker keeps the network-wide agenda between documents, by data revision.

Through the real render path (``RenderJob.run`` in one job, as a worker process runs them):
every organisation agenda made from the kept facts equals the one made afresh, the kept
facts are used, and a committed change between two documents (a participant renamed; every
organisation's agenda lists every delegation) is in every document made after it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from service.batches.control import create_batch
from service.batches.document_maker import DocumentMaker
from service.batches.pdf_step import Step
from service.batches.render_job import RenderJob
from service.database import models as m
from service.database.session import unit_of_work
from service.domain.kinds import DocumentKind
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.integration.test_every_document import docx_text

pytestmark = pytest.mark.integration

KIND = DocumentKind.ORGANISATION_AGENDA


def _agendas(runtime: Runtime, job: RenderJob, meeting: int, organisations: list[int]) -> dict:
    """Each organisation's agenda made by the job: {organisation: (stored, made afresh)}."""
    with unit_of_work(runtime.sessions) as session:
        batch = create_batch(
            session, meeting_id=meeting, kinds=[KIND], organisation_ids=organisations
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
            fresh.make(KIND, meeting_id=meeting, organisation_id=organisation).data,
        )
    return made


def test_agendas_from_kept_facts_equal_fresh_ones_and_show_a_change_made_between(
    sample_imported: Settings,
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
            organisations = list(
                session.scalars(
                    select(m.Organisation.id)
                    .where(m.Organisation.network_id == meeting.network_id)
                    .order_by(m.Organisation.id)
                )
            )
            last = session.scalars(
                select(m.Participant).where(m.Participant.organisation_id == organisations[-1])
            ).first()
            assert last is not None
            meeting_id, participant_id, old_name = meeting.id, last.id, last.name

        first = _agendas(runtime, job, meeting_id, organisations)
        assert all(stored == fresh for stored, fresh in first.values())
        assert job.shared_facts.hits >= len(organisations) - 1
        assert old_name in docx_text(first[organisations[0]][0])

        with unit_of_work(runtime.sessions) as session:
            session.execute(
                update(m.Participant)
                .where(m.Participant.id == participant_id)
                .values(name="Åsa Ändrad-Öberg")
            )
        second = _agendas(runtime, job, meeting_id, organisations)
        assert all(stored == fresh for stored, fresh in second.values())
        for stored, _fresh in second.values():
            assert "Åsa Ändrad-Öberg" in docx_text(stored)
            assert old_name not in docx_text(stored)
    finally:
        job.keeper.stop()
        runtime.close()

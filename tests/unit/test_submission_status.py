"""The status rule over plain rows: delegation, checklist, deck and the deadline in local time."""

from __future__ import annotations

import datetime as dt

import pytest

from service.database import models as m
from service.database.submission_status import build_submission_status
from service.documents.organiser_checklist import OrganisationStatusFacts, presentation_status
from service.domain.deadlines import is_on_time, local_date
from service.domain.delegation import delegation_status
from service.domain.kinds import ParticipantRole as Role
from service.domain.kinds import UploadKind
from service.uploads.stored_uploads import safe_file_name

STOCKHOLM = "Europe/Stockholm"
MEETING_DAY = dt.date(2019, 9, 26)  # deadline 19 September


def organisation(org_id: int, *roles: Role) -> m.Organisation:
    org = m.Organisation(id=org_id, ref=f"org{org_id}", name=f"Organisation {org_id}")
    org.participants = [
        m.Participant(ref=f"p{i}", name=f"Person {i}", role=role) for i, role in enumerate(roles)
    ]
    return org


def upload(
    upload_id: int,
    org_id: int,
    kind: UploadKind,
    at: dt.datetime,
    *,
    meeting_id: int | None = 1,
    round_id: int | None = None,
) -> m.Upload:
    return m.Upload(
        id=upload_id,
        organisation_id=org_id,
        kind=kind,
        meeting_id=meeting_id,
        round_id=round_id,
        file_key=f"uploads/{upload_id}",
        file_name=f"file{upload_id}",
        content_type="application/octet-stream",
        size_bytes=upload_id * 100,
        sha256=f"{upload_id:064x}",
        uploaded_at=at,
        uploaded_by=f"uploader {upload_id}",
    )


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


MEETING = m.Meeting(id=1, ref="bm2", title="Benchmarking 2", date=MEETING_DAY, number=2)
ROUND = m.AssessmentRound(id=7, ref="sa_bm2", label="BM 2", meeting_id=1)


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        (utc(2019, 9, 19, 21, 59), dt.date(2019, 9, 19)),  # summer time, UTC+2
        (utc(2019, 9, 19, 22, 0), dt.date(2019, 9, 20)),
        (utc(2019, 12, 1, 22, 59), dt.date(2019, 12, 1)),  # winter time, UTC+1
        (utc(2019, 12, 1, 23, 0), dt.date(2019, 12, 2)),
        (dt.datetime(2019, 9, 19, 22, 0), dt.date(2019, 9, 20)),  # naive = UTC (SQLite)
    ],
)
def test_the_local_date_is_the_date_in_sweden(moment: dt.datetime, day: dt.date) -> None:
    assert local_date(moment, STOCKHOLM) == day


def test_the_deadline_day_itself_is_on_time() -> None:
    deadline = dt.date(2019, 9, 19)

    assert is_on_time(dt.datetime(2019, 9, 19, 21, 59, 59, tzinfo=dt.UTC), deadline, STOCKHOLM)
    assert not is_on_time(utc(2019, 9, 19, 22, 0), deadline, STOCKHOLM)


@pytest.mark.parametrize(
    ("roles", "missing"),
    [
        ((Role.STRATEG, Role.CHEF, Role.POLITIKER, Role.CONTROLLER), ()),
        ((Role.CHEF, Role.CHEF, Role.CONTROLLER), (Role.POLITIKER, Role.STRATEG)),
        ((), (Role.POLITIKER, Role.CHEF, Role.STRATEG)),
    ],
)
def test_a_delegation_is_complete_with_politiker_chef_and_strateg(
    roles: tuple[Role, ...], missing: tuple[Role, ...]
) -> None:
    status = delegation_status(roles)

    assert status.missing_roles == missing
    assert status.complete is (not missing)


def test_status_per_organisation_from_loaded_rows() -> None:
    complete = organisation(1, Role.POLITIKER, Role.CHEF, Role.STRATEG)
    partial = organisation(2, Role.CHEF)
    silent = organisation(3, Role.POLITIKER, Role.CHEF, Role.STRATEG)
    uploads = [
        upload(10, 1, UploadKind.DECK, utc(2019, 9, 10, 8, 0)),
        upload(11, 1, UploadKind.DECK, utc(2019, 9, 18, 8, 0)),  # the latest counts
        upload(12, 1, UploadKind.CHECKLIST, utc(2019, 9, 12, 9, 0), round_id=7),
        upload(13, 2, UploadKind.DECK, utc(2019, 9, 20, 8, 0)),  # late
        upload(14, 3, UploadKind.DECK, utc(2019, 9, 1, 8, 0), meeting_id=99),  # other meeting
        upload(15, 3, UploadKind.CHECKLIST, utc(2019, 4, 1, 8, 0), round_id=6),  # other round
    ]

    status = build_submission_status(
        meeting=MEETING,
        assessment_round=ROUND,
        organisations=[complete, partial, silent],
        uploads=uploads,
        scored_organisation_ids={1, 2},
        timezone=STOCKHOLM,
    )

    first, second, third = status.organisations
    assert status.deadline == dt.date(2019, 9, 19)
    assert first.delegation.complete and first.checklist.via == "upload"
    assert first.checklist.at == utc(2019, 9, 12, 9, 0)
    assert first.deck is not None
    assert (first.deck.upload_id, first.deck.versions, first.deck.on_time) == (11, 2, True)
    assert first.deck.by == "uploader 11"
    assert second.delegation.missing_roles == (Role.POLITIKER, Role.STRATEG)
    assert (second.checklist.via, second.checklist.at) == ("api", None)
    assert second.deck is not None and second.deck.on_time is False
    assert second.deck.local_date == dt.date(2019, 9, 20)
    assert (third.checklist.submitted, third.deck) == (False, None)
    summary = status.summary
    assert (summary.organisations, summary.delegations_complete) == (3, 2)
    assert (summary.checklists_submitted, summary.decks_submitted) == (2, 2)
    assert (summary.decks_on_time, summary.decks_late) == (1, 1)


def test_without_a_round_no_checklist_counts_as_submitted() -> None:
    status = build_submission_status(
        meeting=MEETING,
        assessment_round=None,
        organisations=[organisation(1)],
        uploads=[upload(12, 1, UploadKind.CHECKLIST, utc(2019, 9, 12), round_id=7)],
        scored_organisation_ids={1},
        timezone=STOCKHOLM,
    )

    assert status.organisations[0].checklist.submitted is False


def test_an_override_moves_the_deadline() -> None:
    meeting = m.Meeting(id=1, ref="bm2", title="BM2", date=MEETING_DAY, number=2)
    meeting.upload_deadline_override = dt.date(2019, 9, 21)

    status = build_submission_status(
        meeting=meeting,
        assessment_round=None,
        organisations=[organisation(1)],
        uploads=[upload(1, 1, UploadKind.DECK, utc(2019, 9, 20, 12))],
        scored_organisation_ids=(),
        timezone=STOCKHOLM,
    )

    assert status.deadline == dt.date(2019, 9, 21)
    assert status.organisations[0].deck is not None and status.organisations[0].deck.on_time


@pytest.mark.parametrize(
    ("org", "tracked", "shown"),
    [
        (OrganisationStatusFacts("A"), False, "–"),
        (OrganisationStatusFacts("A"), True, "saknas"),
        (
            OrganisationStatusFacts(
                "A", presentation_uploaded_on=dt.date(2019, 9, 18), presentation_on_time=True
            ),
            True,
            "i tid (18 september 2019)",
        ),
        (
            OrganisationStatusFacts(
                "A", presentation_uploaded_on=dt.date(2019, 9, 20), presentation_on_time=False
            ),
            True,
            "sent (20 september 2019)",
        ),
    ],
)
def test_the_organiser_checklist_shows_the_presentation_status(
    org: OrganisationStatusFacts, tracked: bool, shown: str
) -> None:
    assert presentation_status(org, tracked=tracked) == shown


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("Askersund BM2 ifylld.xlsx", "Askersund BM2 ifylld.xlsx"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\sofia\\Skrivbord\\Checklista Örebro.xlsx", "Checklista Örebro.xlsx"),
        ('bad"name\r\n<script>.pptx', "bad_name_script_.pptx"),
        ("...", "fallback.xlsx"),
        (None, "fallback.xlsx"),
        ("a" * 300 + ".xlsx", "a" * 115 + ".xlsx"),
    ],
)
def test_file_names_are_reduced_to_one_harmless_segment(given: str | None, safe: str) -> None:
    assert safe_file_name(given, default="fallback.xlsx") == safe

"""The data stamp is conservative: whatever changes a document's context changes its stamp.

The nightly check trusts an unchanged stamp without building the context, so a loader that
reads a row outside the buckets its kind's stamp covers would let a change go unnoticed. On
the sample programme, every column of every table (found from the models, so a new column is
covered without touching this test) is changed in turn, rows are deleted and inserted, and
after each change every document of every meeting is compared: where the stamp stayed the
same, the context must have stayed the same too.

SQLite only: the property is about which rows the loaders read, not about the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.change_detection.fingerprints import context_digest, value_digest
from service.change_detection.stamps import NOT_STAMPED, load_digests, stamped_tables
from service.database import models as m
from service.database.facts.loaders import LOADERS
from service.database.session import unit_of_work
from service.documents.catalogue import CATALOGUE, DocumentSpec, PrivateData
from service.domain.kinds import (
    AttendanceStatus,
    DocumentKind,
    DocumentStatus,
    MessageKind,
    PortalRole,
    UploadKind,
)
from service.errors import GenerationError, NotFoundError
from service.intake.sample import sample_database

pytestmark = pytest.mark.integration

TABLES = {table.name: table for table in m.Base.metadata.sorted_tables}
# Tables whose rows belong to one organisation: probe two of them (usually two organisations).
PRIVATE_TABLES = {
    "participant",
    "score",
    "improvement_initiative",
    "indicator",
    "indicator_measurement",
    "leadership_culture_analysis",
    "continuation_plan",
    "plan_activity",
    "upload",
    "attendance",
    "feedback_letter",
}

DocKey = tuple[int, int | None, DocumentKind]  # meeting, organisation, kind


@dataclass(frozen=True)
class Observation:
    """Each document's stamp, and (where asked for) its context digest or the error."""

    stamps: dict[DocKey, str]
    contexts: dict[DocKey, str]
    buckets: str  # a digest of every bucket's digest: did any bucket see the change?


@dataclass
class Sample:
    sessions: sessionmaker[Session]
    documents: list[tuple[DocKey, DocumentSpec, int]]  # key, spec, network id
    baseline: Observation

    def observe(self, session: Session, *, contexts_for: set[DocKey] | None = None) -> Observation:
        networks = {network for _, _, network in self.documents}
        digests = load_digests(session, networks)
        stamps = {
            key: digests.stamp(
                spec,
                network_id=network,
                organisation_id=key[1],
                template_sha256="template",
                renderer="renderer",
            )
            for key, spec, network in self.documents
        }
        wanted = set(stamps) if contexts_for is None else contexts_for
        contexts = {
            key: _context(session, key, spec) for key, spec, _ in self.documents if key in wanted
        }
        buckets = value_digest([sorted(digests.shared.items()), sorted(digests.private.items())])
        return Observation(stamps=stamps, contexts=contexts, buckets=buckets)


def _context(session: Session, key: DocKey, spec: DocumentSpec) -> str:
    meeting_id, organisation_id, kind = key
    try:
        facts = LOADERS[kind](session, meeting_id=meeting_id, organisation_id=organisation_id)
        return context_digest(spec.build_context(facts)).sha256
    except (GenerationError, NotFoundError) as exc:
        return f"error: {type(exc).__name__}: {exc}"


@pytest.fixture(scope="module")
def sample() -> Iterator[Sample]:
    """The sample programme with a row in every table a document could conceivably read."""
    with sample_database() as sessions:
        with unit_of_work(sessions) as session:
            _add_rows_the_sample_lacks(session)
        with sessions() as session:
            meetings = session.execute(select(m.Meeting.id, m.Meeting.network_id)).all()
            organisations = session.execute(
                select(m.Organisation.id, m.Organisation.network_id)
            ).all()
            documents: list[tuple[DocKey, DocumentSpec, int]] = []
            for meeting_id, network_id in meetings:
                for spec in CATALOGUE.values():
                    targets = (
                        [org for org, net in organisations if net == network_id]
                        if spec.per_organisation
                        else [None]
                    )
                    documents.extend(
                        ((meeting_id, org, spec.kind), spec, network_id) for org in targets
                    )
            built = Sample(sessions, documents, Observation({}, {}, ""))
            built.baseline = built.observe(session)
        yield built


def _add_rows_the_sample_lacks(session: Session) -> None:
    """Uploads, tokens, snapshots and documents, so that their columns are probed too."""
    meeting = session.scalars(select(m.Meeting).where(m.Meeting.ref == "bm2")).one()
    organisations = session.scalars(select(m.Organisation).order_by(m.Organisation.id)).all()
    assessment_round = session.scalars(
        select(m.AssessmentRound).where(m.AssessmentRound.meeting_id == meeting.id)
    ).one()
    for org, days_before in ((organisations[0], 10), (organisations[3], 2)):
        session.add(
            m.Upload(
                organisation_id=org.id,
                kind=UploadKind.DECK,
                meeting_id=meeting.id,
                file_key=f"uploads/{org.id}/deck.pptx",
                file_name="deck.pptx",
                content_type="application/octet-stream",
                size_bytes=100,
                sha256="0" * 64,
                uploaded_at=dt.datetime.combine(
                    meeting.date - dt.timedelta(days=days_before), dt.time(12), tzinfo=dt.UTC
                ),
                uploaded_by="organiser",
            )
        )
    session.add(
        m.Upload(
            organisation_id=organisations[1].id,
            kind=UploadKind.CHECKLIST,
            meeting_id=meeting.id,
            round_id=assessment_round.id,
            file_key="uploads/checklist.xlsx",
            file_name="checklist.xlsx",
            content_type="application/octet-stream",
            size_bytes=100,
            sha256="1" * 64,
            uploaded_at=dt.datetime(2019, 9, 1, 8, tzinfo=dt.UTC),
            uploaded_by="organiser",
        )
    )
    session.add(
        m.AccessToken(
            organisation_id=organisations[0].id,
            token_sha256="2" * 64,
            label="delegationen",
            expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        )
    )
    session.add(
        m.ScoreSnapshot(
            round_id=assessment_round.id,
            organisation_id=organisations[0].id,
            scores=[{"question_ref": "Q01", "value": 1, "comment": None}],
        )
    )
    batch = m.Batch(meeting_id=meeting.id, requested_kinds=["deck"])
    session.add(batch)
    session.flush()
    template = m.DocumentTemplate(kind=DocumentKind.DECK, file_name="deck.pptx", sha256="3" * 64)
    session.add(template)
    session.flush()
    session.add(
        m.GeneratedDocument(
            batch_id=batch.id,
            meeting_id=meeting.id,
            organisation_id=organisations[0].id,
            kind=DocumentKind.DECK,
            format="pptx",
            status=DocumentStatus.DONE,
            template_id=template.id,
            file_key="meetings/x/deck.pptx",
            file_name="deck.pptx",
            fingerprint="4" * 64,
            inputs={"stamp": "5" * 64},
        )
    )
    session.add(m.RegenerationRun(run_key="manual:probe", trigger="manual"))
    # The portal's own rows, and a template version (templates reach documents by their hash,
    # in the fingerprint, not through the stamp).
    user = m.OrganiserUser(username="anna", display_name="Anna", password_hash="$argon2id$x")
    session.add(user)
    session.flush()
    session.add(
        m.PortalSession(
            cookie_sha256="6" * 64,
            role=PortalRole.ORGANISER,
            user_id=user.id,
            csrf_token="c" * 43,
            expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        )
    )
    session.add(m.LoginAttempt(username="anna", client="127.0.0.1", succeeded=True))
    session.add(m.AccessibilityReport(page="/mina-dokument", description="Kontrasten är låg."))
    version = m.TemplateVersion(
        kind=DocumentKind.DECK,
        number=1,
        file_name="deck.pptx",
        file_key="templates/deck/1.pptx",
        size_bytes=100,
        sha256="7" * 64,
        uploaded_by="Anna",
    )
    session.add(version)
    session.flush()
    session.add(
        m.ActiveTemplate(
            kind=DocumentKind.DECK, template_version_id=version.id, activated_by="Anna"
        )
    )
    # E-mail: an edited message template, a message, and a participant who opted out.
    session.add(
        m.MessageTemplate(
            kind=MessageKind.INVITATION, subject="Välkommen", body="Hej!", updated_by="Anna"
        )
    )
    session.add(
        m.OutboxMessage(
            kind=MessageKind.INVITATION,
            purpose="invitation:probe",
            meeting_id=meeting.id,
            organisation_id=organisations[0].id,
            participant_id=organisations[0].participants[0].id,
            recipient_email="anna@example.se",
            subject="Inbjudan",
            body_text="Hej",
            body_html="<p>Hej</p>",
            message_id="<probe@benchdocs>",
        )
    )
    session.add(m.ReminderOptOut(participant_id=organisations[0].participants[0].id))
    # Attendance of two organisations' participants, and a draft and a released letter.
    for org, status in ((organisations[1], AttendanceStatus.ATTENDED), (organisations[2], None)):
        for participant in org.participants[:2]:
            session.add(
                m.Attendance(
                    meeting_id=meeting.id,
                    participant_id=participant.id,
                    status=status or AttendanceStatus.ABSENT,
                    special_needs="Hörslinga",
                )
            )
    session.add(
        m.FeedbackLetter(
            meeting_id=meeting.id, organisation_id=organisations[1].id, noted="Bra", ideas=["Idé"]
        )
    )
    session.add(
        m.FeedbackLetter(
            meeting_id=meeting.id,
            organisation_id=organisations[2].id,
            noted="Tydligt",
            ideas=[],
            released_at=dt.datetime(2019, 10, 1, 8, tzinfo=dt.UTC),
            released_by="organiser",
        )
    )


# -- changes to try ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One change to the data, described for the failure message."""

    what: str
    statements: list[Any]
    # False for an inserted copy, which nothing may refer to (a checklist no network uses).
    of_a_stamped_row: bool = True


def changes_of(session: Session, table: Table) -> list[Change]:
    """The changes tried on a table; each is checked on its own.

    Every column is changed (in every row of one organisation, for a table of organisations'
    private data, else in one row); for private data also every column at once in the rows of
    each organisation in turn, since who an organisation is (host, mentor, author of the
    feedback) decides which documents show its rows. Rows are also deleted and copied.
    """
    (pk,) = table.primary_key.columns
    rows = list(session.execute(select(table).order_by(pk)).mappings())
    if not rows:
        return []
    if table.name not in PRIVATE_TABLES:
        first = rows[0]
        shared = [
            _update(session, table, [first], [column], f"row {first[pk.name]}")
            for column in table.columns
            if not column.primary_key
        ]
        return [*filter(None, shared), *_delete_and_copy(table, first)]
    by_organisation: dict[int, list[Any]] = {}
    for row in rows:
        by_organisation.setdefault(_organisation_of(session, table, row), []).append(row)
    first_org, first_rows = next(iter(by_organisation.items()))
    changes: list[Change | None] = [
        _update(session, table, first_rows, [column], f"organisation {first_org}'s rows")
        for column in table.columns
        if not column.primary_key
    ]
    plain = [c for c in table.columns if not (c.primary_key or c.foreign_keys or c.name == "ref")]
    changes.extend(
        _update(session, table, org_rows, plain, f"organisation {org}'s rows")
        for org, org_rows in by_organisation.items()
    )
    changes.append(
        Change(
            f"{table.name}: organisation {first_org}'s rows deleted",
            [delete(table).where(pk.in_([row[pk.name] for row in first_rows]))],
        )
    )
    return [*filter(None, changes), *_delete_and_copy(table, rows[-1])]


def _update(
    session: Session, table: Table, rows: list[Any], columns: list[Column[Any]], which: str
) -> Change | None:
    (pk,) = table.primary_key.columns
    statements = []
    for row in rows:
        values = {}
        for column in columns:
            value = _changed_value(session, column, row[column.name])
            if value is not _UNCHANGEABLE:
                values[column.name] = value
        if values:
            statements.append(update(table).where(pk == row[pk.name]).values(values))
    if not statements:
        return None  # nothing else to point at (the sample has one network, one checklist)
    names = ", ".join(c.name for c in columns) if len(columns) < 4 else "every column"
    return Change(f"{table.name}.{names} changed in {which}", statements)


def _delete_and_copy(table: Table, row: Any) -> list[Change]:
    (pk,) = table.primary_key.columns
    probe = row[pk.name]
    copy = {
        name: (f"{value}-kopia" if name == "ref" else value)
        for name, value in row.items()
        if name != pk.name
    }
    deleted = Change(f"{table.name} row {probe} deleted", [delete(table).where(pk == probe)])
    if not pk.autoincrement or not isinstance(pk.type, Integer):
        return [deleted]  # a natural key (active_template's kind): a copy needs a new one
    return [
        deleted,
        Change(f"{table.name} row {probe} copied", [insert(table).values(copy)], False),
    ]


def _organisation_of(session: Session, table: Table, row: Any) -> int:
    """The organisation a private row belongs to, through its parents where it has none."""
    if "organisation_id" in row:
        return int(row["organisation_id"])
    if table.name == "indicator_measurement":
        indicator = session.get_one(m.Indicator, row["indicator_id"])
        return session.get_one(m.ImprovementInitiative, indicator.initiative_id).organisation_id
    if table.name == "indicator":
        return session.get_one(m.ImprovementInitiative, row["initiative_id"]).organisation_id
    if table.name == "attendance":
        return session.get_one(m.Participant, row["participant_id"]).organisation_id
    return session.get_one(m.ContinuationPlan, row["plan_id"]).organisation_id


_UNCHANGEABLE = object()


def _changed_value(session: Session, column: Column[Any], value: Any) -> Any:
    """A different value of the column's type (another existing row for a foreign key)."""
    if column.foreign_keys:
        (foreign_key,) = column.foreign_keys
        target = foreign_key.column
        others = session.scalars(select(target).where(target != value).order_by(target)).first()
        return _UNCHANGEABLE if others is None else others
    kind = column.type
    if isinstance(kind, Enum):
        members = [e for e in kind.enums if e != getattr(value, "value", value)]
        return members[0]
    if isinstance(kind, Boolean):
        return not value
    if isinstance(kind, Integer):
        return 1 if value is None else value + 1
    if isinstance(kind, Float):
        return 1.5 if value is None else value + 1.5
    if isinstance(kind, DateTime):
        base = value or dt.datetime(2019, 9, 1, tzinfo=dt.UTC)
        return base + dt.timedelta(days=3, hours=1)
    if isinstance(kind, Date):
        return dt.date(2019, 9, 1) if value is None else value + dt.timedelta(days=1)
    if isinstance(kind, String):  # Text is a String; Time is not
        text = "ändrad" if value is None else f"{value} ändrad"
        if kind.length and len(text) > kind.length:
            text = text[: kind.length - 1] + ("x" if text[kind.length - 1] != "x" else "y")
        return text
    if isinstance(kind, JSON):
        return _changed_json(value)
    if column.type.python_type is dt.time:
        return dt.time(12) if value is None else dt.time((value.hour + 1) % 24, value.minute)
    raise AssertionError(f"no way to change a {kind!r} column ({column})")


def _changed_json(value: Any) -> Any:
    if isinstance(value, list):
        return [*value, "ändrad"] if not value or isinstance(value[0], str) else value[1:]
    if isinstance(value, dict) and value:
        key = next(iter(value))
        first = value[key]
        if isinstance(first, list):
            return {**value, key: [*first, "ändrad"]}
        return {**value, key: f"{first} ändrad"}
    return {"ändrad": ["ändrad"]}


# -- the property -----------------------------------------------------------------------------


def test_every_table_is_either_stamped_or_declared_unread() -> None:
    assert stamped_tables() | NOT_STAMPED == set(TABLES)
    assert not stamped_tables() & NOT_STAMPED


@pytest.mark.parametrize("table_name", sorted(TABLES))
def test_a_change_that_alters_a_context_always_alters_its_stamp(
    sample: Sample, table_name: str
) -> None:
    table = TABLES[table_name]
    with sample.sessions() as session:
        changes = changes_of(session, table)
    assert changes, f"the sample has no {table_name} row to change"
    tried = 0
    for change in changes:
        with sample.sessions() as session:
            try:
                for statement in change.statements:
                    session.execute(statement)
            except IntegrityError:
                session.rollback()  # a unique key or a foreign key refused it: nothing to check
                continue
            tried += 1
            observed = sample.observe(session, contexts_for=set())
            stamps = observed.stamps
            # An unchanged stamp is the only case that skips the context: check exactly those.
            same_stamp = {
                key for key, stamp in stamps.items() if sample.baseline.stamps[key] == stamp
            }
            after = sample.observe(session, contexts_for=same_stamp).contexts
            session.rollback()
        missed = sorted(
            (key for key in same_stamp if after[key] != sample.baseline.contexts[key]),
            key=str,
        )
        assert not missed, (
            f"{change.what}: the context of {len(missed)} document(s) changed but not their "
            f"stamp, e.g. {_describe(missed[0])}; declare what the loader reads in DocumentSpec."
            "reads_own_organisation / reads_other_organisations, or bucket the table in stamps.py"
        )
        if table_name in stamped_tables() and change.of_a_stamped_row:
            assert observed.buckets != sample.baseline.buckets, f"{change.what}: no bucket saw it"
    assert tried, f"no change of {table_name} could be made"


def _describe(key: DocKey) -> str:
    meeting_id, organisation_id, kind = key
    return f"{kind.value} of meeting {meeting_id}, organisation {organisation_id}"


def test_the_probe_is_sharp_another_organisations_delegation_shows_in_its_agenda(
    sample: Sample,
) -> None:
    """Guards the test itself: a change in one organisation reaches another's documents."""
    with sample.sessions() as session:
        first, second = session.scalars(
            select(m.Organisation.id).order_by(m.Organisation.id).limit(2)
        )
        session.execute(
            update(m.Participant)
            .where(m.Participant.organisation_id == first)
            .values(name="Någon Annan")
        )
        after = sample.observe(session)
        session.rollback()

    changed = {
        key for key, digest in after.contexts.items() if digest != sample.baseline.contexts[key]
    }
    theirs = {(kind, org) for _, org, kind in changed if org not in (first, None)}
    assert (DocumentKind.ORGANISATION_AGENDA, second) in theirs
    assert all(kind in _showing(PrivateData.PARTICIPANTS) for kind, _ in theirs)
    assert all(after.stamps[key] != sample.baseline.stamps[key] for key in changed)


def _showing(data: PrivateData) -> set[DocumentKind]:
    return {kind for kind, spec in CATALOGUE.items() if data in spec.reads_other_organisations}


def test_a_score_of_one_organisation_leaves_the_others_stamps_of_their_own_kinds_alone(
    sample: Sample,
) -> None:
    """The stamp is not merely conservative: one organisation's scores do not re-check all."""
    with sample.sessions() as session:
        first = session.scalars(select(m.Organisation.id).order_by(m.Organisation.id)).first()
        session.execute(
            update(m.Score).where(m.Score.organisation_id == first).values(comment="ny kommentar")
        )
        stamps = sample.observe(session, contexts_for=set()).stamps
        session.rollback()

    moved = {key for key, stamp in stamps.items() if stamp != sample.baseline.stamps[key]}
    assert {org for _, org, _ in moved} == {first, None}
    assert {kind for _, org, kind in moved if org is None} == _showing(PrivateData.SCORES)
    assert {kind for _, org, kind in moved if org == first} == {
        kind
        for kind, spec in CATALOGUE.items()
        if spec.per_organisation and PrivateData.SCORES in spec.reads_own_organisation
    }

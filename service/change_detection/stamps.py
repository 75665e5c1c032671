"""Data stamps: a cheap digest of every row a document could show, computed before its context.

Building one document's context costs a few milliseconds of ORM loading; a night over
10,000 documents cannot afford that for each. A stamp instead hashes, with one Core query per
table for all networks at once, the rows the loaders can read, in buckets:

- the network's shared bucket: the network, its groups, milestones, organisations (their own
  columns: other organisations' names appear in documents), meetings with their agenda items,
  organiser checklist items and feedback, assessment rounds, and the checklists they use;
- one bucket per organisation and kind of private data (``PrivateData``): participants (with
  their attendance at meetings), scores, initiatives with indicators and measurements,
  analyses, plans, uploads, feedback letters.

A document's stamp covers the shared bucket, its own organisation's buckets of the private
data its kind shows (``DocumentSpec.reads_own_organisation``), the buckets of every
organisation for the private data of others its kind shows (``reads_other_organisations``),
the template's digest and the renderer. If the
stamp equals the one stored with the slot's latest version, nothing the document could show
has changed. A different stamp proves nothing: the planner then computes the real context
fingerprint. ``tests/integration/test_stamp_coverage.py`` checks that the buckets are
conservative: a change that alters a document's context always alters its stamp.

A stamp and the context it vouches for must come from the same data, so both are read in one
snapshot (``consistent_read``).
"""

from __future__ import annotations

import hashlib
import itertools
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, select, text
from sqlalchemy.orm import Session, sessionmaker

from service.change_detection.fingerprints import value_digest
from service.database import models as m
from service.documents.catalogue import DocumentSpec, PrivateData
from service.errors import NotFoundError

# Bump when the bucketing changes: every stored stamp then differs once, and is verified.
STAMP_SCHEME = 1
EVERY_KIND_OF_DATA = frozenset(PrivateData)
_EMPTY = hashlib.sha256(b"").hexdigest()


def _table(model: type[m.Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


# Shared tables, each with the expression that names its network and the joins it needs.
_SHARED: tuple[tuple[Table, Any, tuple[tuple[Table, Any], ...]], ...] = (
    (_table(m.Network), m.Network.id, ()),
    (_table(m.Group), m.Group.network_id, ()),
    (_table(m.Milestone), m.Milestone.network_id, ()),
    (_table(m.Organisation), m.Organisation.network_id, ()),
    (_table(m.Meeting), m.Meeting.network_id, ()),
    (
        _table(m.AgendaItem),
        m.Meeting.network_id,
        ((_table(m.Meeting), m.AgendaItem.meeting_id == m.Meeting.id),),
    ),
    (
        _table(m.OrganiserChecklistItem),
        m.Meeting.network_id,
        ((_table(m.Meeting), m.OrganiserChecklistItem.meeting_id == m.Meeting.id),),
    ),
    (
        _table(m.MeetingFeedback),
        m.Meeting.network_id,
        ((_table(m.Meeting), m.MeetingFeedback.meeting_id == m.Meeting.id),),
    ),
    (_table(m.AssessmentRound), m.AssessmentRound.network_id, ()),
)

# Checklists are shared between networks: hashed once each, by checklist id.
_CHECKLIST: tuple[tuple[Table, Any, tuple[tuple[Table, Any], ...]], ...] = (
    (_table(m.Checklist), m.Checklist.id, ()),
    (_table(m.ChecklistArea), m.ChecklistArea.checklist_id, ()),
    (
        _table(m.ChecklistQuestion),
        m.ChecklistArea.checklist_id,
        ((_table(m.ChecklistArea), m.ChecklistQuestion.area_id == m.ChecklistArea.id),),
    ),
)

# Private tables: the kind of data, the expression naming the organisation, the joins.
_PRIVATE: tuple[tuple[PrivateData, Table, Any, tuple[tuple[Table, Any], ...]], ...] = (
    (PrivateData.PARTICIPANTS, _table(m.Participant), m.Participant.organisation_id, ()),
    (
        PrivateData.PARTICIPANTS,
        _table(m.Attendance),
        m.Participant.organisation_id,
        ((_table(m.Participant), m.Attendance.participant_id == m.Participant.id),),
    ),
    (PrivateData.SCORES, _table(m.Score), m.Score.organisation_id, ()),
    (
        PrivateData.INITIATIVES,
        _table(m.ImprovementInitiative),
        m.ImprovementInitiative.organisation_id,
        (),
    ),
    (
        PrivateData.INITIATIVES,
        _table(m.Indicator),
        m.ImprovementInitiative.organisation_id,
        (
            (
                _table(m.ImprovementInitiative),
                m.Indicator.initiative_id == m.ImprovementInitiative.id,
            ),
        ),
    ),
    (
        PrivateData.INITIATIVES,
        _table(m.IndicatorMeasurement),
        m.ImprovementInitiative.organisation_id,
        (
            (_table(m.Indicator), m.IndicatorMeasurement.indicator_id == m.Indicator.id),
            (
                _table(m.ImprovementInitiative),
                m.Indicator.initiative_id == m.ImprovementInitiative.id,
            ),
        ),
    ),
    (
        PrivateData.ANALYSES,
        _table(m.LeadershipCultureAnalysis),
        m.LeadershipCultureAnalysis.organisation_id,
        (),
    ),
    (PrivateData.PLANS, _table(m.ContinuationPlan), m.ContinuationPlan.organisation_id, ()),
    (
        PrivateData.PLANS,
        _table(m.PlanActivity),
        m.ContinuationPlan.organisation_id,
        ((_table(m.ContinuationPlan), m.PlanActivity.plan_id == m.ContinuationPlan.id),),
    ),
    (PrivateData.UPLOADS, _table(m.Upload), m.Upload.organisation_id, ()),
    (PrivateData.LETTERS, _table(m.FeedbackLetter), m.FeedbackLetter.organisation_id, ()),
)

# Tables no document shows: the coverage test checks that changing them changes no context.
NOT_STAMPED = frozenset(
    {
        "generated_document",
        "batch",
        "document_template",
        "regeneration_run",
        "access_token",
        "score_snapshot",
        # The portal's accounts, sessions and reports.
        "organiser_user",
        "portal_session",
        "login_attempt",
        "accessibility_report",
        # Templates reach a document through their hash in its fingerprint, not its data.
        "template_version",
        "active_template",
        # E-mail: messages say what documents hold, documents never show messages.
        "outbox_message",
        "message_template",
        "reminder_opt_out",
        # The counter the stamped tables' triggers bump (``DigestCache``).
        "data_revision",
    }
)


def stamped_tables() -> frozenset[str]:
    """Names of every table that goes into some bucket."""
    groups = (_SHARED, _CHECKLIST)
    names = {table.name for group in groups for table, _, _ in group}
    return frozenset(names | {table.name for _, table, _, _ in _PRIVATE})


@dataclass
class NetworkDigests:
    """Bucket digests of some networks, and the stamps built from them."""

    shared: dict[int, str]  # network id -> digest of its shared bucket
    organisations: dict[int, list[int]]  # network id -> its organisations' ids, ascending
    private: dict[tuple[int, PrivateData], str]  # (organisation id, data) -> digest
    _others: dict[tuple[int, frozenset[PrivateData]], str] = field(default_factory=dict)

    def stamp(
        self,
        spec: DocumentSpec,
        *,
        network_id: int,
        organisation_id: int | None,
        template_sha256: str,
        renderer: str,
    ) -> str:
        """The stamp of one document slot of this network."""
        own = (
            [
                self.private.get((organisation_id, data), _EMPTY)
                for data in sorted(spec.reads_own_organisation)
            ]
            if organisation_id is not None
            else None
        )
        return value_digest(
            [
                STAMP_SCHEME,
                self.shared[network_id],
                organisation_id,
                own,
                self._others_digest(network_id, spec.reads_other_organisations),
                template_sha256,
                renderer,
            ]
        )

    def _others_digest(self, network_id: int, data: frozenset[PrivateData]) -> str | None:
        if not data:
            return None
        key = (network_id, data)
        cached = self._others.get(key)
        if cached is None:
            kinds = sorted(data)
            cached = value_digest(
                [
                    [org, [self.private.get((org, kind), _EMPTY) for kind in kinds]]
                    for org in self.organisations.get(network_id, [])
                ]
            )
            self._others[key] = cached
        return cached


def load_digests(
    session: Session,
    network_ids: Collection[int],
    *,
    organisation_ids: Collection[int] | None = None,
    every_organisation: frozenset[PrivateData] = EVERY_KIND_OF_DATA,
) -> NetworkDigests:
    """Digest the buckets of these networks: one query per table, Core rows only.

    Private data in ``every_organisation`` is digested for every organisation of the networks;
    the rest only for ``organisation_ids`` (None: for every organisation too).
    """
    networks = sorted(set(network_ids))
    shared = {network: hashlib.sha256() for network in networks}
    checklists: dict[int, set[int]] = {network: set() for network in networks}
    organisations: dict[int, list[int]] = {network: [] for network in networks}
    if not networks:
        return NetworkDigests(shared={}, organisations={}, private={})
    for table, network_of, joins in _SHARED:
        rows = session.execute(_rows(table, network_of, joins, network_of.in_(networks)))
        for network, group in itertools.groupby(rows, key=lambda row: row[0]):
            batch = [tuple(row)[1:] for row in group]
            shared[network].update(f"\x1e{table.name}\x1f{batch!r}".encode())
            if table.name == "organisation":
                organisations[network] = sorted(row[0] for row in batch)
            elif table.name in ("network", "assessment_round"):
                index = _column_index(table, "checklist_id")
                checklists[network].update(row[index] for row in batch if row[index] is not None)
    checklist_digests = _checklist_digests(session, set().union(*checklists.values()))
    for network in networks:
        for checklist_id in sorted(checklists[network]):
            shared[network].update(f"\x1echecklist:{checklist_digests[checklist_id]}".encode())
    private = _private_digests(session, networks, organisation_ids, every_organisation)
    return NetworkDigests(
        shared={network: hasher.hexdigest() for network, hasher in shared.items()},
        organisations=organisations,
        private=private,
    )


def _column_index(table: Table, name: str) -> int:
    return list(table.c.keys()).index(name)


def _rows(
    table: Table,
    key: Any,
    joins: Iterable[tuple[Table, Any]],
    where: ColumnElement[bool],
    *,
    second_key: Any = None,
) -> Select[Any]:
    """Rows of a table with the bucket key(s) first, ordered so buckets come out whole."""
    keys = [key] if second_key is None else [key, second_key]
    source: Any = table
    for other, on in joins:
        source = source.join(other, on)
    return (
        select(*keys, *table.c)
        .select_from(source)
        .where(where)
        .order_by(*keys, *table.primary_key.columns)
    )


def _checklist_digests(session: Session, checklist_ids: set[int]) -> dict[int, str]:
    hashers = {checklist: hashlib.sha256() for checklist in checklist_ids}
    if not hashers:
        return {}
    for table, checklist_of, joins in _CHECKLIST:
        rows = session.execute(_rows(table, checklist_of, joins, checklist_of.in_(hashers)))
        for checklist, group in itertools.groupby(rows, key=lambda row: row[0]):
            batch = [tuple(row)[1:] for row in group]
            hashers[checklist].update(f"\x1e{table.name}\x1f{batch!r}".encode())
    return {checklist: hasher.hexdigest() for checklist, hasher in hashers.items()}


def _private_digests(
    session: Session,
    networks: Sequence[int],
    organisation_ids: Collection[int] | None,
    every_organisation: frozenset[PrivateData],
    kinds: frozenset[PrivateData] = EVERY_KIND_OF_DATA,
) -> dict[tuple[int, PrivateData], str]:
    hashers: dict[tuple[int, PrivateData], Any] = defaultdict(hashlib.sha256)
    in_networks = select(m.Organisation.id).where(m.Organisation.network_id.in_(networks))
    for data, table, organisation_of, joins in _PRIVATE:
        if data not in kinds and data not in every_organisation:
            continue
        if data in every_organisation or organisation_ids is None:
            where = organisation_of.in_(in_networks.scalar_subquery())
        elif organisation_ids:
            where = organisation_of.in_(sorted(set(organisation_ids)))
        else:
            continue
        rows = session.execute(_rows(table, organisation_of, joins, where))
        for organisation, group in itertools.groupby(rows, key=lambda row: row[0]):
            batch = [tuple(row)[1:] for row in group]
            hashers[(organisation, data)].update(f"\x1e{table.name}\x1f{batch!r}".encode())
    return {key: hasher.hexdigest() for key, hasher in hashers.items()}


def meeting_network(session: Session, meeting_id: int) -> int:
    """The network a meeting belongs to."""
    network_id = session.scalar(select(m.Meeting.network_id).where(m.Meeting.id == meeting_id))
    if network_id is None:
        raise NotFoundError(f"meeting {meeting_id} not found")
    return network_id


def document_stamp(
    session: Session,
    spec: DocumentSpec,
    *,
    meeting_id: int,
    organisation_id: int | None,
    template_sha256: str,
    renderer: str,
) -> str:
    """The stamp of one document, reading only the buckets it covers (the render job's)."""
    return document_stamps(
        session,
        spec,
        meeting_id=meeting_id,
        organisation_id=organisation_id,
        template_sha256=template_sha256,
        renderers=[renderer],
    )[0]


def document_stamps(
    session: Session,
    spec: DocumentSpec,
    *,
    meeting_id: int,
    organisation_id: int | None,
    template_sha256: str,
    renderers: Sequence[str],
    cache: DigestCache | None = None,
) -> list[str]:
    """One document's stamp for each renderer, from one read of its buckets (an Office file
    and the PDF converted from it share their data and template, not their renderer).

    With a ``cache``, the network-wide buckets come from it when the snapshot's data revision
    is the one they were read at; only the document's own rows are read then.
    """
    network_id = (
        cache.network_of(session, meeting_id)
        if cache is not None
        else meeting_network(session, meeting_id)
    )
    own_organisation = [organisation_id] if organisation_id is not None else []
    if cache is not None:
        digests = cache.digests(session, network_id, spec, own_organisation)
    else:
        digests = load_digests(
            session,
            [network_id],
            organisation_ids=own_organisation,
            every_organisation=spec.reads_other_organisations,
        )
    return [
        digests.stamp(
            spec,
            network_id=network_id,
            organisation_id=organisation_id,
            template_sha256=template_sha256,
            renderer=renderer,
        )
        for renderer in renderers
    ]


# The triggers migrations 0008 and 0009 made: two per stamped table on PostgreSQL (a deferred
# row trigger bumping at commit, a statement trigger for TRUNCATE), one per table and kind of
# write on SQLite.
_TRIGGER_COUNT = {
    "postgresql": (
        "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal"
        " AND tgname LIKE 'data\\_revision\\_%' ESCAPE '\\'",
        2,
    ),
    "sqlite": (
        "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
        " AND name LIKE 'data\\_revision\\_%' ESCAPE '\\'",
        3,
    ),
}


# Keys of ``Session.info``: set by ``consistent_read`` on its session, and the revision read
# in it (one snapshot: read once, however many documents and caches ask).
_SNAPSHOT = "benchdocs.snapshot"
_SNAPSHOT_REVISION = "benchdocs.snapshot_revision"


def data_revision(session: Session) -> tuple[str, int] | None:
    """The snapshot's data revision (epoch, counter); None when it cannot vouch for the data.

    None when no write has made the row yet, on a database without the triggers, or when a
    stamped table lost its triggers (a SQLite migration that copies a table drops them).
    In a ``consistent_read`` session it is read once: the snapshot does not move.
    """
    if not session.info.get(_SNAPSHOT):
        return _read_data_revision(session)
    if _SNAPSHOT_REVISION not in session.info:
        session.info[_SNAPSHOT_REVISION] = _read_data_revision(session)
    revision: tuple[str, int] | None = session.info[_SNAPSHOT_REVISION]
    return revision


def _read_data_revision(session: Session) -> tuple[str, int] | None:
    dialect = session.get_bind().dialect.name
    if dialect not in _TRIGGER_COUNT:
        return None
    count_sql, per_table = _TRIGGER_COUNT[dialect]
    row = session.execute(
        text(
            f"SELECT epoch, revision, ({count_sql}) FROM data_revision WHERE id = 1"  # noqa: S608
        )
    ).one_or_none()
    if row is None or row[2] != per_table * len(stamped_tables()):
        return None
    return (str(row[0]), int(row[1]))


@dataclass
class DigestCache:
    """Network-wide stamp digests of one database, kept while its data revision stays put.

    One per worker process (``RenderJob``), bound to its one database. The revision is read
    in the document's snapshot, and the triggers bump it in the same transaction as any write
    to a stamped row (on PostgreSQL as it commits), so digests read at the same revision are
    digests of the same rows: a
    change made during a batch and undone has moved the revision twice, and misses the cache.
    Read it only in snapshots that write nothing (``consistent_read``): a revision number
    that a rolled-back write used is used again by the next write, so only committed
    revisions name one state of the data.
    """

    _revision: tuple[str, int] | None = None
    _networks: dict[tuple[int, frozenset[PrivateData]], NetworkDigests] = field(
        default_factory=dict
    )
    # Organisations' own buckets read ahead for a chunk of documents (``read_own``): the
    # digests, and which (organisation, data) were read (a bucket without rows has none).
    _own: dict[tuple[int, PrivateData], str] = field(default_factory=dict)
    _own_read: set[tuple[int, PrivateData]] = field(default_factory=set)
    _meeting_networks: dict[int, int] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0

    def _at_revision(self, session: Session) -> tuple[str, int] | None:
        """The snapshot's revision; what was kept at another one is forgotten."""
        revision = data_revision(session)
        if revision is None or revision != self._revision:
            self._networks.clear()
            self._own.clear()
            self._own_read.clear()
            self._meeting_networks.clear()
            self._revision = revision
        return revision

    def network_of(self, session: Session, meeting_id: int) -> int:
        """The meeting's network (``meeting_network``), kept at this revision."""
        if self._at_revision(session) is None:
            return meeting_network(session, meeting_id)
        if meeting_id not in self._meeting_networks:
            self._meeting_networks[meeting_id] = meeting_network(session, meeting_id)
        return self._meeting_networks[meeting_id]

    def read_own(
        self,
        session: Session,
        network_id: int,
        organisation_ids: Collection[int],
        kinds: frozenset[PrivateData],
    ) -> None:
        """Read these organisations' own buckets of ``kinds`` now, one query per kind of data,
        and keep them at this revision: the chunk's documents that follow read none."""
        if self._at_revision(session) is None or not kinds:
            return
        wanted = sorted(
            {
                organisation
                for organisation in organisation_ids
                if any((organisation, data) not in self._own_read for data in kinds)
            }
        )
        if not wanted:
            return
        self._own.update(_private_digests(session, [network_id], wanted, frozenset(), kinds=kinds))
        self._own_read.update((organisation, data) for organisation in wanted for data in kinds)

    def digests(
        self,
        session: Session,
        network_id: int,
        spec: DocumentSpec,
        own_organisation: list[int],
    ) -> NetworkDigests:
        """The network's shared buckets and others' private data (cached), and the document's
        own organisation's buckets of the data its kind shows (kept at this revision too)."""
        others = spec.reads_other_organisations
        revision = self._at_revision(session)
        key = (network_id, others)
        cached = self._networks.get(key) if revision is not None else None
        if cached is None:
            self.misses += 1
            cached = load_digests(
                session, [network_id], organisation_ids=[], every_organisation=others
            )
            if revision is not None:
                self._networks[key] = cached
        else:
            self.hits += 1
        own_kinds = spec.reads_own_organisation - others
        if revision is None:
            own = (
                _private_digests(
                    session, [network_id], own_organisation, frozenset(), kinds=own_kinds
                )
                if own_organisation and own_kinds
                else {}
            )
        else:  # read once per revision (ahead for a chunk, or now)
            self.read_own(session, network_id, own_organisation, own_kinds)
            own = {
                (organisation, data): self._own[(organisation, data)]
                for organisation in own_organisation
                for data in own_kinds
                if (organisation, data) in self._own
            }
        return NetworkDigests(
            shared=cached.shared,
            organisations=cached.organisations,
            private={**cached.private, **own},
            _others=cached._others,
        )


@contextmanager
def consistent_read(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A read-only session whose queries all see one snapshot of the database.

    A stamp vouches for a context only if both were read from the same data: otherwise a
    change that lands between them, and is undone later, would be missed.
    """
    with sessions() as session:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        elif dialect == "sqlite":
            connection = session.connection()
            # pysqlite opens no transaction for SELECTs, so each would see the latest data;
            # an explicit BEGIN makes the first read fix a snapshot (WAL) until rollback.
            if not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
                connection.exec_driver_sql("BEGIN")
        session.info[_SNAPSHOT] = True
        try:
            yield session
        finally:
            session.rollback()
            session.info.pop(_SNAPSHOT, None)
            session.info.pop(_SNAPSHOT_REVISION, None)

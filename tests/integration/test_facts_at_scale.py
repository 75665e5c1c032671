"""A document's facts and stamp cost the same number of SQL statements at any network size.

The sample programme is grown to 10 and to 60 organisations (each clone with its own
participants and initiatives), and every kind's facts loader and stamp run against both
with a counter on ``before_cursor_execute``: a loader that reads per organisation (an agenda
lazy-loading each organisation's participants, say) makes the counts differ.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from service.change_detection.revision_cache import RevisionCache
from service.change_detection.stamps import consistent_read, document_stamps
from service.database import models as m
from service.database.facts.loaders import LOADERS
from service.database.facts.meeting_documents import load_feedback_letter_facts
from service.database.facts.records import load_deck_facts
from service.database.session import make_engine, make_session_factory, migrate, unit_of_work
from service.documents.catalogue import CATALOGUE
from service.intake.programme_import import import_programme
from service.intake.sample import SAMPLE_PROGRAMME
from service.settings import Settings

SIZES = (10, 60)


def make_programme(organisations: int) -> bytes:
    """The sample programme with its organisations cloned, participants and initiatives too."""
    sample = json.loads(SAMPLE_PROGRAMME.read_text(encoding="utf-8"))
    result = copy.deepcopy(sample)
    originals = sample["organisations"]
    for n in range(len(originals), organisations):
        source = originals[n % len(originals)]
        clone = f"{source['id']}_{n}"
        result["organisations"].append(
            {**source, "id": clone, "name": f"{source['name']} {n}", "contact_person_id": None}
        )
        for person in sample["participants"]:
            if person["organisation_id"] == source["id"]:
                result["participants"].append(
                    {
                        **person,
                        "id": f"{person['id']}_{n}",
                        "organisation_id": clone,
                        "email": f"{n}.{person['email']}" if person.get("email") else None,
                    }
                )
        for assessment in result["self_assessments"]:
            assessment["scores"][clone] = assessment["scores"][source["id"]]
        for initiative in sample["improvement_initiatives"]:
            if initiative["organisation_id"] == source["id"]:
                result["improvement_initiatives"].append(
                    {
                        **initiative,
                        "id": f"{initiative['id']}_{n}",
                        "organisation_id": clone,
                        "owner_participant_id": None,
                    }
                )
    return json.dumps(result, ensure_ascii=False).encode()


class Network:
    """A database holding one grown network, and the ids a document needs."""

    def __init__(self, directory: Path, organisations: int) -> None:
        self.engine = make_engine(f"sqlite:///{directory / f'network-{organisations}.sqlite3'}")
        migrate(self.engine)
        self.sessions: sessionmaker[Session] = make_session_factory(self.engine)
        with unit_of_work(self.sessions) as session:
            import_programme(session, make_programme(organisations), max_bytes=100_000_000)
        with self.sessions() as session:
            self.meeting = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
            self.askersund = session.scalars(
                select(m.Organisation.id).where(m.Organisation.ref == "askersund")
            ).one()
            self.size = len(session.scalars(select(m.Organisation.id)).all())

    def statements(self, read: Callable[[Session], object]) -> int:
        """How many SQL statements ``read`` sends, in a fresh session."""
        with self.sessions() as session, counted(self.engine) as count:
            read(session)
        return count[0]


@contextmanager
def counted(engine: Engine) -> Iterator[list[int]]:
    count = [0]

    def one_more(*_: Any) -> None:
        count[0] += 1

    event.listen(engine, "before_cursor_execute", one_more)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", one_more)


def test_the_networks_have_the_sizes_asked_for(networks: dict[int, Network]) -> None:
    assert {size: network.size for size, network in networks.items()} == {10: 10, 60: 60}


@pytest.mark.parametrize("kind", list(CATALOGUE), ids=lambda kind: kind.value)
def test_a_kinds_facts_take_as_many_statements_at_60_organisations_as_at_10(
    networks: dict[int, Network], kind: Any
) -> None:
    spec = CATALOGUE[kind]

    def load(network: Network) -> Callable[[Session], object]:
        return lambda session: LOADERS[kind](
            session,
            meeting_id=network.meeting,
            organisation_id=network.askersund if spec.per_organisation else None,
        )

    counts = {size: network.statements(load(network)) for size, network in networks.items()}

    assert counts[10] == counts[60], counts


@pytest.mark.parametrize("kind", list(CATALOGUE), ids=lambda kind: kind.value)
def test_a_kinds_stamp_takes_as_many_statements_at_60_organisations_as_at_10(
    networks: dict[int, Network], kind: Any
) -> None:
    spec = CATALOGUE[kind]

    def stamp(network: Network) -> Callable[[Session], object]:
        return lambda session: document_stamps(
            session,
            spec,
            meeting_id=network.meeting,
            organisation_id=network.askersund if spec.per_organisation else None,
            template_sha256="0" * 64,
            renderers=["r"],
        )

    counts = {size: network.statements(stamp(network)) for size, network in networks.items()}

    assert counts[10] == counts[60], counts


@pytest.fixture
def sample_engine(sample_imported: Settings) -> Iterator[Engine]:
    engine = make_engine(sample_imported.database_url)
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    "load", [load_deck_facts, load_feedback_letter_facts], ids=["deck", "feedback_letter"]
)
def test_an_organisations_facts_take_as_many_statements_however_many_initiatives_it_has(
    sample_engine: Engine, load: Callable[..., object]
) -> None:
    engine = sample_engine
    sessions = make_session_factory(engine)
    with sessions() as session:
        meeting = session.scalars(select(m.Meeting.id).where(m.Meeting.ref == "bm2")).one()
        askersund = session.scalars(
            select(m.Organisation.id).where(m.Organisation.ref == "askersund")
        ).one()

    def statements() -> int:
        with sessions() as session, counted(engine) as count:
            load(session, meeting_id=meeting, organisation_id=askersund)
        return count[0]

    before = statements()
    with unit_of_work(sessions) as session:
        for n in range(4):
            session.add(
                m.ImprovementInitiative(
                    organisation_id=askersund,
                    ref=f"extra-{n}",
                    title=f"Fler mätningar {n} 🌿",
                    indicators=[
                        m.Indicator(
                            name=f"Andel {k}",
                            measurements=[
                                m.IndicatorMeasurement(
                                    date=dt.date(2020 + j, 1, 1),
                                    is_baseline=j == 0,
                                    value_women=40.0 + j,
                                    value_men=60.0 - j,
                                )
                                for j in range(3)
                            ],
                        )
                        for k in range(3)
                    ],
                )
            )
    assert statements() == before


# -- the network's own rows, read once and kept by revision --------------------------------------

# The tables that hold an organisation's own rows (what ``own_rows`` reads network-wide), and
# those read once for all of a meeting's documents (rounds, the meeting's feedback).
OWN_TABLES = (
    "organisation",
    "assessment_round",
    "meeting_feedback",
    "score",
    "improvement_initiative",
    "indicator",
    "indicator_measurement",
    "continuation_plan",
    "plan_activity",
    "leadership_culture_analysis",
    "feedback_letter",
    "participant",
)


def _per_organisation_kinds() -> list[Any]:
    return [kind for kind, spec in CATALOGUE.items() if spec.per_organisation]


def test_an_organisations_facts_are_the_same_read_alone_or_with_its_whole_network(
    sample_engine: Engine,
) -> None:
    """Every per-organisation kind, every meeting and organisation of the sample: the facts
    found among the network's kept rows equal the facts read for the organisation alone
    (rounds without scores, organisations without plans or letters included)."""
    sessions = make_session_factory(sample_engine)
    with sessions() as session:
        meetings = session.scalars(select(m.Meeting.id).order_by(m.Meeting.id)).all()
        organisations = session.scalars(select(m.Organisation.id).order_by(m.Organisation.id)).all()
    shared: RevisionCache[Any] = RevisionCache(max_entries=512)
    compared = 0
    for kind in _per_organisation_kinds():
        for meeting in meetings:
            for organisation in organisations:
                with sessions() as session:
                    alone = LOADERS[kind](session, meeting_id=meeting, organisation_id=organisation)
                with consistent_read(sessions) as session:
                    kept = LOADERS[kind](
                        session, meeting_id=meeting, organisation_id=organisation, shared=shared
                    )
                assert kept == alone, (kind, meeting, organisation)
                compared += 1
    assert compared == len(_per_organisation_kinds()) * len(meetings) * len(organisations)
    assert shared.hits > compared  # the network's rows were found, not read each time


@pytest.mark.parametrize("kind", _per_organisation_kinds(), ids=lambda kind: kind.value)
def test_a_networks_next_document_reads_none_of_its_own_rows(
    networks: dict[int, Network], kind: Any
) -> None:
    """With the worker's facts kept by revision, the first organisation's document reads the
    network's own rows; the next organisation's reads none of those tables again (only its
    meeting and network, found in the session once per chunk)."""
    network = networks[60]
    shared: RevisionCache[Any] = RevisionCache(max_entries=512)
    with network.sessions() as session:
        first, second = session.scalars(
            select(m.Organisation.id).order_by(m.Organisation.id).limit(2)
        ).all()
    with consistent_read(network.sessions) as session:
        LOADERS[kind](session, meeting_id=network.meeting, organisation_id=first, shared=shared)
    with consistent_read(network.sessions) as session, logged(network.engine) as statements:
        LOADERS[kind](session, meeting_id=network.meeting, organisation_id=second, shared=shared)

    own = [
        statement
        for statement in statements
        if any(f"FROM {table} " in f"{statement} " for table in OWN_TABLES)
    ]
    assert own == []


@contextmanager
def logged(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def one_more(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", one_more)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", one_more)


class NeverVouches:
    """Facts kept by nothing: as a worker's cache is when a stamped table lost its triggers."""

    def __init__(self) -> None:
        self.asked: list[Any] = []

    def vouches(self, session: Session) -> bool:
        return False

    def get(self, session: Session, key: Any, build: Callable[[], Any]) -> Any:
        self.asked.append(key)
        return build()


@pytest.mark.parametrize("kind", _per_organisation_kinds(), ids=lambda kind: kind.value)
def test_without_a_revision_to_vouch_a_document_reads_only_its_own_rows(
    networks: dict[int, Network], kind: Any
) -> None:
    """Kept facts that nothing vouches for are built for every document: the whole network's
    own rows are then not read for each (one organisation's are, as alone)."""
    network = networks[60]
    shared = NeverVouches()

    def load(with_shared: Any) -> Callable[[Session], object]:
        return lambda session: LOADERS[kind](
            session, meeting_id=network.meeting, organisation_id=network.askersund, **with_shared
        )

    assert network.statements(load({"shared": shared})) == network.statements(load({}))
    assert not [key for key in shared.asked if isinstance(key, tuple) and key[0] == "own"]

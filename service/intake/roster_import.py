"""Roster import: match a spreadsheet of organisations and participants against a network.

A preview says, per organisation and participant, what applying would do (create, update with
each field's old and new value, unchanged, not in file, remove) and gives a digest of that plan
and of the network's current organisations and participants. Apply with that digest does
exactly what was previewed, or refuses with 409 if anything changed in between; it stores all
or nothing in the caller's transaction. The file format is docs/roster-format.md.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.database import models as m
from service.domain.kinds import ParticipantRole
from service.errors import ConflictError, Problem
from service.file_safety.file_inspection import FileType, UploadLimits, inspect_upload
from service.intake.entities import get_entity, slug
from service.intake.roster_columns import Col
from service.intake.roster_format import (
    Finding,
    OrganisationEntry,
    ParticipantEntry,
    Roster,
    parse_roster,
    read_table,
    same_text,
)


class Action(StrEnum):
    """What applying a roster does to one organisation or participant."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    NOT_IN_FILE = "not_in_file"  # stored, not in the file: kept
    REMOVE = "remove"  # stored, not in the file, and the request asked to remove such


@dataclass(frozen=True)
class FieldChange:
    """One field's stored value and the file's value."""

    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class OrganisationStep:
    """What happens to one organisation; ``rows`` are the file rows that name it."""

    action: Action
    ref: str
    name: str
    id: int | None
    rows: tuple[int, ...]
    changes: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class ParticipantStep:
    """What happens to one participant; ``matched_by`` says how the row found a stored one."""

    action: Action
    organisation_ref: str
    ref: str
    name: str
    id: int | None
    row: int | None
    matched_by: str | None = None  # "ref", "email" or "name"
    changes: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class RosterPlan:
    """The whole plan of a roster for one network, with the digest to apply it by."""

    network_id: int
    network_ref: str
    source: str
    remove_missing: bool
    organisations: tuple[OrganisationStep, ...]
    participants: tuple[ParticipantStep, ...]
    warnings: tuple[Problem, ...]
    digest: str
    applied: bool = False

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """How many organisations and participants each action touches."""
        return {
            "organisations": _count(s.action for s in self.organisations),
            "participants": _count(s.action for s in self.participants),
        }


def _count(actions: Iterable[Action]) -> dict[str, int]:
    counts = dict.fromkeys((a.value for a in Action), 0)
    for action in actions:
        counts[action.value] += 1
    return counts


@dataclass(frozen=True)
class RosterUpload:
    """A roster file as sent, and whether participants missing from it are to be removed."""

    data: bytes
    file_name: str
    remove_missing: bool = False


def read_roster(data: bytes, *, file_name: str, limits: UploadLimits) -> Roster:
    """Pass the file through the upload gate, then read it; file-level faults raise."""
    inspected = inspect_upload(
        data, file_name=file_name, accepted={FileType.XLSX, FileType.CSV}, limits=limits
    )
    is_xlsx = inspected.file_type == FileType.XLSX
    # A CSV file's text was decoded by the gate, under the one CSV policy: not decoded twice.
    table = read_table(
        inspected.data, file_type="xlsx" if is_xlsx else "csv", csv_text=inspected.csv
    )
    return parse_roster(table)


def preview_roster(
    session: Session, network_id: int, upload: RosterUpload, *, limits: UploadLimits
) -> RosterPlan:
    """What applying the roster would do; changes nothing. Every bad row is refused at once."""
    network = get_entity(session, m.Network, network_id)
    roster = read_roster(upload.data, file_name=upload.file_name, limits=limits)
    plan, _ = _plan(session, network, roster, remove_missing=upload.remove_missing)
    return plan


def apply_roster(
    session: Session,
    network_id: int,
    upload: RosterUpload,
    *,
    limits: UploadLimits,
    expected_digest: str | None = None,
) -> RosterPlan:
    """Apply the roster in the caller's transaction; 409 if it no longer matches the preview."""
    get_entity(session, m.Network, network_id)
    # One roster at a time per network (PostgreSQL; SQLite has one writer anyway).
    network = session.scalars(
        select(m.Network).where(m.Network.id == network_id).with_for_update()
    ).one()
    roster = read_roster(upload.data, file_name=upload.file_name, limits=limits)
    plan, work = _plan(session, network, roster, remove_missing=upload.remove_missing)
    if expected_digest is not None and expected_digest != plan.digest:
        raise ConflictError(
            f"the roster's plan for network {network.id} is not the one previewed: its "
            "organisations or participants changed since, or the file or remove_missing "
            f"differ (digest now {plan.digest}, previewed {expected_digest}); preview again"
        )
    _execute(session, network, work)
    return replace(plan, applied=True)


# ---------------------------------------------------------------------------------------------
# Planning.

_ORG_FIELDS: Mapping[Col, str] = {
    Col.ORGANISATION: "name",
    Col.TYPE: "type",
    Col.COUNTY: "county",
    Col.PROGRAMME_ROLE: "programme_role",
    Col.GROUP: "group",
}
_PERSON_FIELDS: Mapping[Col, str] = {
    Col.NAME: "name",
    Col.ROLE: "role",
    Col.TITLE: "title",
    Col.EMAIL: "email",
    Col.PHONE: "phone",
}


@dataclass
class _OrgWork:
    step: OrganisationStep
    stored: m.Organisation | None
    values: dict[str, object]  # attribute -> value to set (all of them for a new one)


@dataclass
class _PersonWork:
    step: ParticipantStep
    stored: m.Participant | None
    organisation: _OrgWork | None  # None: a stored participant whose organisation is stored
    values: dict[str, object]


@dataclass
class _Work:
    organisations: list[_OrgWork] = field(default_factory=list)
    participants: list[_PersonWork] = field(default_factory=list)


@dataclass
class _Planner:
    """Matches a roster against one network's stored organisations and participants."""

    session: Session
    network: m.Network
    roster: Roster
    remove_missing: bool
    problems: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    def problem(self, at: tuple[int, int], place: str, message: str) -> None:
        self.problems.append(Finding(at[0], at[1], Problem(place, message)))

    def warn(self, at: tuple[int, int], place: str, message: str) -> None:
        self.warnings.append(Finding(at[0], at[1], Problem(place, message)))


def _plan(
    session: Session, network: m.Network, roster: Roster, *, remove_missing: bool
) -> tuple[RosterPlan, _Work]:
    planner = _Planner(session, network, roster, remove_missing)
    organisations = list(
        session.scalars(
            select(m.Organisation)
            .where(m.Organisation.network_id == network.id)
            .order_by(m.Organisation.id)
        )
    )
    people = list(
        session.scalars(
            select(m.Participant)
            .join(m.Organisation, m.Participant.organisation_id == m.Organisation.id)
            .where(m.Organisation.network_id == network.id)
            .order_by(m.Participant.id)
        )
    )
    work = _Work()
    matched = _match_organisations(planner, organisations, work)
    _match_participants(planner, organisations, people, matched, work)
    roster.refuse_if_problems(planner.problems)
    warnings = tuple(f.problem for f in sorted((*roster.warnings, *planner.warnings)))
    org_steps = tuple(w.step for w in work.organisations)
    person_steps = tuple(w.step for w in work.participants)
    digest = _digest(
        network=network,
        remove_missing=remove_missing,
        steps=(org_steps, person_steps, warnings),
        organisations=organisations,
        people=people,
    )
    plan = RosterPlan(
        network_id=network.id,
        network_ref=network.ref,
        source=roster.description,
        remove_missing=remove_missing,
        organisations=org_steps,
        participants=person_steps,
        warnings=warnings,
        digest=digest,
    )
    return plan, work


def _free_ref(base: str, taken: set[str]) -> str:
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}-{number}", number + 1
    taken.add(candidate)
    return candidate


def _group_finder(planner: _Planner) -> dict[str, m.Group]:
    found: dict[str, m.Group] = {}
    for group in planner.network.groups:
        found.setdefault(same_text(group.name), group)
    for group in planner.network.groups:
        found.setdefault(group.ref.casefold(), group)
    for group in planner.network.groups:
        found[group.ref] = group
    return found


def _match_organisations(
    planner: _Planner, organisations: Sequence[m.Organisation], work: _Work
) -> dict[str, _OrgWork]:
    """The work for each organisation of the file, by its key in the roster."""
    by_ref = {o.ref: o for o in organisations}
    by_name: dict[str, list[m.Organisation]] = defaultdict(list)
    for organisation in organisations:
        by_name[same_text(organisation.name)].append(organisation)
    groups = _group_finder(planner)
    taken = set(by_ref) | {e.ref for e in planner.roster.organisations if e.ref}
    claimed: dict[int, OrganisationEntry] = {}
    result: dict[str, _OrgWork] = {}
    for entry in planner.roster.organisations:
        at = entry.positions.get(Col.ORGANISATION, (entry.rows[0], 0))
        place = entry.places.get(Col.ORGANISATION, "")
        stored: m.Organisation | None = None
        namesakes = by_name.get(same_text(entry.name), [])
        if entry.ref is not None:
            stored = by_ref.get(entry.ref)
            ref = entry.ref
            if stored is None and namesakes:
                planner.warn(
                    at,
                    place,
                    f"organisation {namesakes[0].ref!r} has this name too; a new organisation "
                    f"{ref!r} is made because the Organisation-id differs",
                )
        elif len(namesakes) > 1:
            planner.problem(
                at,
                place,
                f"{entry.name!r} is the name of stored organisations "
                f"{', '.join(repr(o.ref) for o in namesakes)}; add the Organisation-id column",
            )
            continue
        elif namesakes:
            stored = namesakes[0]
            ref = stored.ref
        else:
            ref = _free_ref(slug(entry.name) or "organisation", taken)
        taken.add(ref)
        if stored is not None:
            first = claimed.setdefault(stored.id, entry)
            if first is not entry:
                planner.problem(
                    at,
                    place,
                    f"the same stored organisation {stored.ref!r} as row {first.rows[0]}",
                )
                continue
        group_id = _group_of(planner, entry, groups)
        result[entry.key] = _organisation_work(entry, stored, ref, group_id, planner, work)
    for organisation in organisations:
        if organisation.id not in claimed:
            step = OrganisationStep(
                Action.NOT_IN_FILE, organisation.ref, organisation.name, organisation.id, ()
            )
            work.organisations.append(_OrgWork(step, organisation, {}))
    return result


def _group_of(
    planner: _Planner, entry: OrganisationEntry, groups: Mapping[str, m.Group]
) -> int | None:
    text = entry.fields.get(Col.GROUP)
    if text is None:
        return None
    group = groups.get(text) or groups.get(text.casefold()) or groups.get(same_text(text))
    if group is None:
        known = ", ".join(f"{g.ref} ({g.name})" for g in planner.network.groups)
        planner.problem(
            entry.positions[Col.GROUP],
            entry.places[Col.GROUP],
            f"unknown group {text!r}; network {planner.network.ref!r} has "
            + (f"the groups {known}" if known else "no groups"),
        )
        return None
    return group.id


def _organisation_work(
    entry: OrganisationEntry,
    stored: m.Organisation | None,
    ref: str,
    group_id: int | None,
    planner: _Planner,
    work: _Work,
) -> _OrgWork:
    groups = {g.id: g.ref for g in planner.network.groups}
    new_values: dict[str, object] = {}
    changes: list[FieldChange] = []
    for column, attribute in _ORG_FIELDS.items():
        if column not in entry.fields:
            continue  # the file has no such column: the stored value stays
        if attribute == "group":
            old_id = stored.group_id if stored is not None else None
            if old_id != group_id or stored is None:
                new_values["group_id"] = group_id
            if old_id != group_id:
                changes.append(
                    FieldChange(
                        "group",
                        groups.get(old_id) if old_id else None,
                        groups.get(group_id) if group_id else None,
                    )
                )
            continue
        new = entry.fields[column]
        old = getattr(stored, attribute) if stored is not None else None
        if stored is None or old != new:
            new_values[attribute] = new
        if old != new:
            changes.append(FieldChange(attribute, old, new))
    if stored is None:
        new_values.update(ref=ref, network_id=planner.network.id)
        action = Action.CREATE
    else:
        action = Action.UPDATE if changes else Action.UNCHANGED
    step = OrganisationStep(
        action, ref, entry.name, stored.id if stored else None, entry.rows, tuple(changes)
    )
    org_work = _OrgWork(step, stored, new_values)
    work.organisations.append(org_work)
    return org_work


def _match_participants(
    planner: _Planner,
    organisations: Sequence[m.Organisation],
    people: Sequence[m.Participant],
    matched: Mapping[str, _OrgWork],
    work: _Work,
) -> None:
    stored_of: dict[int, list[m.Participant]] = defaultdict(list)
    for person in people:
        stored_of[person.organisation_id].append(person)
    org_refs = {o.id: o.ref for o in organisations}
    by_email: dict[str, list[m.Participant]] = defaultdict(list)
    for person in people:
        if person.email:
            by_email[person.email.casefold()].append(person)
    entries_of: dict[str, list[ParticipantEntry]] = defaultdict(list)
    for entry in planner.roster.participants:
        entries_of[entry.organisation_key].append(entry)
    removed: list[m.Participant] = []
    for key, org_work in matched.items():
        organisation = org_work.stored
        stored = stored_of.get(organisation.id, []) if organisation is not None else []
        entries = entries_of.get(key, [])
        found = _find_stored(planner, entries, stored)
        taken = {p.ref for p in stored} | {e.ref for e in entries if e.ref}
        for entry in entries:
            match, how = found.get(entry.row, (None, None))
            if match is None and entry.email:
                elsewhere = [p for p in by_email.get(entry.email.casefold(), []) if p not in stored]
                if elsewhere:
                    other = elsewhere[0]
                    planner.warn(
                        (entry.row, entry.positions[Col.EMAIL]),
                        entry.places[Col.EMAIL],
                        f"is also the e-mail address of {other.name!r} ({other.ref}) of "
                        f"organisation {org_refs.get(other.organisation_id)!r}; a new "
                        "participant is made here",
                    )
            work.participants.append(_participant_work(entry, match, how, org_work, taken))
        claimed = {id(p) for p, _ in found.values() if p is not None}
        for person in stored:
            if id(person) in claimed:
                continue
            action = Action.REMOVE if planner.remove_missing else Action.NOT_IN_FILE
            step = ParticipantStep(
                action, org_work.step.ref, person.ref, person.name, person.id, None
            )
            work.participants.append(_PersonWork(step, person, None, {}))
            if action == Action.REMOVE:
                removed.append(person)
    _removal_warnings(planner, organisations, removed)


def _find_stored(
    planner: _Planner, entries: Sequence[ParticipantEntry], stored: Sequence[m.Participant]
) -> dict[int, tuple[m.Participant | None, str | None]]:
    """Each row's stored participant: by id; else by e-mail, then by name among the rest."""
    by_ref = {p.ref: p for p in stored}
    by_email: dict[str, list[m.Participant]] = defaultdict(list)
    by_name: dict[str, list[m.Participant]] = defaultdict(list)
    for person in stored:
        if person.email:
            by_email[person.email.casefold()].append(person)
        by_name[same_text(person.name)].append(person)
    found: dict[int, tuple[m.Participant | None, str | None]] = {}
    claimed: dict[int, ParticipantEntry] = {}

    def claim(entry: ParticipantEntry, person: m.Participant, how: str, column: Col) -> None:
        first = claimed.setdefault(person.id, entry)
        if first is not entry:
            planner.problem(
                (entry.row, entry.positions[column]),
                entry.places[column],
                f"the same stored participant {person.ref!r} ({person.name}) as row {first.row}",
            )
            return
        found[entry.row] = (person, how)

    def pick(
        entry: ParticipantEntry, candidates: Sequence[m.Participant], column: Col, what: str
    ) -> m.Participant | None:
        open_ = [p for p in candidates if p.id not in claimed]
        if len(open_) > 1:
            planner.problem(
                (entry.row, entry.positions[column]),
                entry.places[column],
                f"matches stored participants {', '.join(repr(p.ref) for p in open_)} by "
                f"{what}; add the Deltagar-id column to say which",
            )
            return None
        return open_[0] if open_ else (candidates[0] if candidates else None)

    later: list[ParticipantEntry] = []
    for entry in entries:
        if entry.ref is not None:
            if (hit := by_ref.get(entry.ref)) is not None:
                claim(entry, hit, "ref", Col.PARTICIPANT_REF)
        elif entry.email and (hits := by_email.get(entry.email.casefold())):
            if (hit := pick(entry, hits, Col.EMAIL, "e-mail address")) is not None:
                claim(entry, hit, "email", Col.EMAIL)
        else:
            later.append(entry)
    for entry in later:  # by name only among those that no id or e-mail address claimed
        hits = [p for p in by_name.get(same_text(entry.name), []) if p.id not in claimed]
        if hits and (hit := pick(entry, hits, Col.NAME, "name")) is not None:
            claim(entry, hit, "name", Col.NAME)
    return found


def _participant_work(
    entry: ParticipantEntry,
    stored: m.Participant | None,
    how: str | None,
    org_work: _OrgWork,
    taken: set[str],
) -> _PersonWork:
    new_values: dict[str, object] = {}
    changes: list[FieldChange] = []
    for column, attribute in _PERSON_FIELDS.items():
        if column not in entry.fields:
            continue
        new = entry.fields[column]
        old_value = getattr(stored, attribute) if stored is not None else None
        old = old_value.value if isinstance(old_value, ParticipantRole) else old_value
        if stored is None or old != new:
            new_values[attribute] = ParticipantRole(new) if column == Col.ROLE and new else new
        if old != new:
            changes.append(FieldChange(attribute, old, new))
    if stored is None:
        ref = (
            entry.ref
            if entry.ref is not None
            else _free_ref(slug(entry.name) or "deltagare", taken)
        )
        taken.add(ref)
        new_values["ref"] = ref
        action = Action.CREATE
    else:
        ref = stored.ref
        action = Action.UPDATE if changes else Action.UNCHANGED
    step = ParticipantStep(
        action,
        org_work.step.ref,
        ref,
        entry.name,
        stored.id if stored else None,
        entry.row,
        how,
        tuple(changes),
    )
    return _PersonWork(step, stored, org_work, new_values)


_AFTER_ROWS = 10**9  # warnings about the stored data come after those about rows


def _removal_warnings(
    planner: _Planner, organisations: Sequence[m.Organisation], removed: Sequence[m.Participant]
) -> None:
    if not removed:
        return
    ids = [p.id for p in removed]
    contacts = {o.contact_participant_id: o for o in organisations}
    owned: dict[int, list[str]] = defaultdict(list)
    for owner_column, one, many in (
        (
            m.ImprovementInitiative.owner_participant_id,
            "improvement initiative",
            "improvement initiatives",
        ),
        (m.PlanActivity.owner_participant_id, "plan activity", "plan activities"),
    ):
        rows = planner.session.execute(
            select(owner_column, func.count()).where(owner_column.in_(ids)).group_by(owner_column)
        )
        for owner, count in rows:
            if owner is not None:
                owned[owner].append(f"{count} {one if count == 1 else many}")
    for person in removed:
        notes = []
        if (organisation := contacts.get(person.id)) is not None:
            notes.append(f"the contact person of {organisation.ref!r}, which will have none")
        if owned.get(person.id):
            notes.append(f"the owner of {' and '.join(owned[person.id])}, which will have none")
        if notes:
            planner.warn(
                (_AFTER_ROWS, 0),
                "file",
                f"participant {person.ref!r} ({person.name}) is removed and is " + "; ".join(notes),
            )


def _digest(
    *,
    network: m.Network,
    remove_missing: bool,
    steps: object,
    organisations: Sequence[m.Organisation],
    people: Sequence[m.Participant],
) -> str:
    """sha256 over the plan and the network's organisations and participants as stored."""
    state = {
        "network": network.id,
        "remove_missing": remove_missing,
        "plan": _plain(steps),
        "organisations": [
            [
                o.id,
                o.ref,
                o.name,
                o.type,
                o.county,
                o.programme_role,
                o.group_id,
                o.contact_participant_id,
            ]
            for o in organisations
        ],
        "participants": [
            [p.id, p.organisation_id, p.ref, p.name, p.role.value, p.title, p.email, p.phone]
            for p in people
        ],
    }
    canonical = json.dumps(state, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _plain(value: object) -> object:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, OrganisationStep | ParticipantStep | FieldChange | Problem):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------------------------------
# Applying.


def _execute(session: Session, network: m.Network, work: _Work) -> None:
    created: dict[int, m.Organisation] = {}
    for org_work in work.organisations:
        if org_work.step.action == Action.CREATE:
            organisation = m.Organisation(**org_work.values)
            session.add(organisation)
            created[id(org_work)] = organisation
        elif org_work.step.action == Action.UPDATE and org_work.stored is not None:
            for attribute, value in org_work.values.items():
                setattr(org_work.stored, attribute, value)
    _flush(session, network)
    for person_work in work.participants:
        action, stored = person_work.step.action, person_work.stored
        if action == Action.CREATE and person_work.organisation is not None:
            org_work = person_work.organisation
            organisation = org_work.stored or created[id(org_work)]
            session.add(m.Participant(organisation_id=organisation.id, **person_work.values))
        elif action == Action.UPDATE and stored is not None:
            for attribute, value in person_work.values.items():
                setattr(stored, attribute, value)
        elif action == Action.REMOVE and stored is not None:
            owner = stored.organisation
            if owner.contact_participant_id == stored.id:
                owner.contact_participant_id = None
            session.delete(stored)
    _flush(session, network)


def _flush(session: Session, network: m.Network) -> None:
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent change took a ref the plan chose
        raise ConflictError(
            f"the roster clashes with a change made to network {network.id} meanwhile; "
            "preview again"
        ) from exc

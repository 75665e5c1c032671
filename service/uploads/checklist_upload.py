"""A filled checklist workbook becomes the organisation's scores for a round, or nothing does.

Order of work: inspect the bytes, read the workbook against what the database expects (the
round's questions in order, the scale, the organisation), and only then write, in the
caller's transaction: the upload row, a snapshot of the scores it replaces, the new scores
(the same rule as ``PUT .../scores``), stale marks on the organisation's documents (set or
cleared), and the file last. Any refusal raises before the first write.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from service.change_detection.staleness import mark_stale
from service.database import models as m
from service.database.facts.records import checklist_facts, round_facts
from service.domain.kinds import UploadKind
from service.domain.movement import (
    Movement,
    RoundSummary,
    Scores,
    compute_movement,
    summarise_round,
)
from service.errors import (
    FileRejectedError,
    InvalidInputError,
    NotFoundError,
    Problem,
    RejectionReason,
)
from service.file_safety.file_inspection import FileType, UploadLimits, inspect_upload
from service.intake import entities
from service.intake.entities import ScoreSheet, ScoresReplace
from service.messages import Param, Quoted, message
from service.storage.file_store import FileStore
from service.uploads.checklist_reader import (
    ChecklistFile,
    ExpectedChecklist,
    ReadScore,
    RoundSheet,
)
from service.uploads.stored_uploads import Uploader, record_upload, store_file

DEFAULT_FILE_NAME = "checklista.xlsx"


@dataclass(frozen=True)
class ChecklistUploadResult:
    """What an accepted checklist changed, and where the organisation now stands."""

    upload: m.Upload
    assessment_round: m.AssessmentRound
    sheet: str
    scores: ScoreSheet
    read: int
    assessed: int
    summary: RoundSummary
    previous_round: m.AssessmentRound | None
    movement: Movement | None  # None without an earlier round that has scores
    areas: tuple[AreaSum, ...]
    previous_snapshot_id: int | None  # None when the round had no scores before
    documents_marked_stale: int
    documents_no_longer_stale: int  # stale before, and their inputs match them again

    @property
    def not_assessed(self) -> int:
        """Questions left empty in the workbook."""
        return self.read - self.assessed


@dataclass(frozen=True)
class AreaSum:
    """One area's summed score now and in the previous round (None: no earlier scores)."""

    ref: str
    name: str
    total: int
    max_total: int
    assessed: int
    question_count: int
    previous_total: int | None

    @property
    def delta(self) -> int | None:
        """Change of the area's sum since the previous round."""
        return None if self.previous_total is None else self.total - self.previous_total


@dataclass(frozen=True)
class ChecklistStanding:
    """Where an organisation stands in a round: sums, per area, and movement since the last."""

    assessment_round: m.AssessmentRound
    summary: RoundSummary
    previous_round: m.AssessmentRound | None
    movement: Movement | None  # None without an earlier round that has scores
    areas: tuple[AreaSum, ...]


def _checklist(session: Session, checklist_id: int) -> m.Checklist:
    """The checklist with its areas and questions in two queries, not one per area."""
    checklist = session.get(
        m.Checklist,
        checklist_id,
        options=[selectinload(m.Checklist.areas).selectinload(m.ChecklistArea.questions)],
    )
    return checklist or entities.get_entity(session, m.Checklist, checklist_id)


def checklist_standing(
    session: Session,
    assessment_round: m.AssessmentRound,
    organisation_id: int,
    scores: Scores,
) -> ChecklistStanding:
    """Sums and movement of ``scores`` in a round, against the network's previous round."""
    checklist = _checklist(session, assessment_round.checklist_id)
    facts = checklist_facts(checklist)
    scale = facts.scale
    previous_round = _previous_round(session, assessment_round)
    previous = round_facts(session, previous_round, organisation_id) if previous_round else None
    areas = []
    for area in facts.areas:
        refs = [q.ref for q in facts.questions if q.area_ref == area.ref]
        values = [v for v in (scores.get(ref) for ref in refs) if v is not None]
        before = (
            [v for v in (previous.scores.get(ref) for ref in refs) if v is not None]
            if previous is not None
            else None
        )
        areas.append(
            AreaSum(
                ref=area.ref,
                name=area.name,
                total=sum(values),
                max_total=len(refs) * scale.maximum,
                assessed=len(values),
                question_count=len(refs),
                previous_total=sum(before) if before is not None else None,
            )
        )
    return ChecklistStanding(
        assessment_round=assessment_round,
        summary=summarise_round(facts.questions, scores, scale),
        previous_round=previous_round,
        movement=(
            compute_movement(facts.questions, previous=previous.scores, current=scores, scale=scale)
            if previous is not None
            else None
        ),
        areas=tuple(areas),
    )


def standing_after_upload(session: Session, upload: m.Upload) -> ChecklistStanding | None:
    """Where the organisation stood right after a checklist upload (None: not a checklist).

    The scores it gave are those the next upload of the round replaced (kept in that upload's
    snapshot); without a later upload they are the round's scores now.
    """
    if upload.kind != UploadKind.CHECKLIST or upload.round_id is None:
        return None
    assessment_round = entities.get_entity(session, m.AssessmentRound, upload.round_id)
    later = session.scalars(
        select(m.ScoreSnapshot)
        .where(
            m.ScoreSnapshot.round_id == upload.round_id,
            m.ScoreSnapshot.organisation_id == upload.organisation_id,
            m.ScoreSnapshot.replaced_by_upload_id > upload.id,
        )
        .order_by(m.ScoreSnapshot.replaced_by_upload_id)
        .limit(1)
    ).first()
    if later is not None:
        scores: Scores = {s["question_ref"]: s["value"] for s in later.scores}
    else:
        scores = entities.read_scores(session, upload.round_id, upload.organisation_id).scores
    return checklist_standing(session, assessment_round, upload.organisation_id, scores)


def upload_checklist(
    session: Session,
    files: FileStore,
    *,
    organisation_id: int,
    data: bytes,
    file_name: str | None,
    round_choice: str | None,
    uploader: Uploader,
    limits: UploadLimits,
    now: dt.datetime,
) -> ChecklistUploadResult:
    """Replace an organisation's scores for one round from its filled checklist workbook."""
    organisation = session.get(m.Organisation, organisation_id)
    if organisation is None:
        raise NotFoundError(
            f"organisation {organisation_id} not found",
            text=message("access.organisation_not_found", id=str(organisation_id)),
        )
    # The gate refuses any type but the accepted one, so the file is now a plain xlsx.
    inspected = inspect_upload(
        data, file_name=file_name or DEFAULT_FILE_NAME, accepted={FileType.XLSX}, limits=limits
    )
    workbook = ChecklistFile.open(inspected.data)
    assessment_round, sheet = _pick_round(session, organisation, workbook, round_choice)
    checklist = _checklist(session, assessment_round.checklist_id)
    facts = checklist_facts(checklist)
    read = workbook.read_scores(
        ExpectedChecklist(
            round_ref=assessment_round.ref,
            organisation_ref=organisation.ref,
            scale_min=checklist.scale_min,
            scale_max=checklist.scale_max,
            question_refs=tuple(q.ref for q in facts.questions),
            organisation_names={
                ref: name
                for ref, name in session.execute(
                    select(m.Organisation.ref, m.Organisation.name).where(
                        m.Organisation.network_id == organisation.network_id
                    )
                )
            },
        )
    )
    replacement = _replacement(read)

    # Two uploads for one organisation at once would both delete and insert its scores.
    session.execute(
        select(m.Organisation.id).where(m.Organisation.id == organisation.id).with_for_update()
    )
    before = entities.read_scores(session, assessment_round.id, organisation.id)
    upload = record_upload(
        session,
        kind=UploadKind.CHECKLIST,
        organisation_id=organisation.id,
        inspected=inspected,
        default_name=DEFAULT_FILE_NAME,
        uploader=uploader,
        now=now,
        meeting_id=assessment_round.meeting_id,
        round_id=assessment_round.id,
    )
    snapshot = _snapshot(session, before, upload_id=upload.id, now=now)
    try:
        sheet_after = entities.replace_scores(
            session, assessment_round.id, organisation.id, replacement
        )
    except InvalidInputError as exc:
        raise _as_cells(exc, read) from exc
    stale = mark_stale(session, organisation_id=organisation.id, now=now)
    store_file(files, upload, inspected.data)

    standing = checklist_standing(session, assessment_round, organisation.id, sheet_after.scores)
    return ChecklistUploadResult(
        upload=upload,
        assessment_round=assessment_round,
        sheet=sheet.sheet,
        scores=sheet_after,
        read=len(read),
        assessed=sum(1 for s in read if s.value is not None),
        summary=standing.summary,
        previous_round=standing.previous_round,
        movement=standing.movement,
        areas=standing.areas,
        previous_snapshot_id=snapshot.id if snapshot else None,
        documents_marked_stale=stale.marked,
        documents_no_longer_stale=stale.cleared,
    )


def find_round(session: Session, network_id: int, choice: str) -> m.AssessmentRound | None:
    """A network's assessment round by id or by ref."""
    query = select(m.AssessmentRound).where(m.AssessmentRound.network_id == network_id)
    by_ref = session.scalars(query.where(m.AssessmentRound.ref == choice)).first()
    if by_ref is not None or not choice.isdigit() or int(choice) > entities.MAX_ID:
        return by_ref
    return session.scalars(query.where(m.AssessmentRound.id == int(choice))).first()


def _pick_round(
    session: Session, organisation: m.Organisation, workbook: ChecklistFile, choice: str | None
) -> tuple[m.AssessmentRound, RoundSheet]:
    """The round asked for, or the workbook's last round sheet (the one to fill in)."""
    if choice is not None:
        assessment_round = find_round(session, organisation.network_id, choice)
        if assessment_round is None:
            text = message(
                "checklist.no_round", round=Quoted(choice), organisation=organisation.name
            )
            raise InvalidInputError([Problem.of("round", text)])
        sheet = next((s for s in workbook.rounds if s.round_ref == assessment_round.ref), None)
        if sheet is None:
            raise FileRejectedError(
                RejectionReason.CONTENT,
                [
                    Problem.of(
                        "file",
                        message(
                            "checklist.no_sheet_for_round",
                            round=Quoted(assessment_round.ref),
                            label=assessment_round.label,
                            sheets=_sheet_names(workbook),
                        ),
                    )
                ],
            )
        return assessment_round, sheet
    sheet = next((s for s in workbook.rounds if s.is_last), None)
    if sheet is None:
        raise FileRejectedError(
            RejectionReason.CONTENT,
            [Problem.of("file", message("checklist.no_sheet_to_fill"))],
        )
    assessment_round = find_round(session, organisation.network_id, sheet.round_ref)
    if assessment_round is None or assessment_round.ref != sheet.round_ref:
        raise FileRejectedError(
            RejectionReason.CONTENT,
            [
                Problem.of(
                    "file",
                    message(
                        "checklist.unknown_round",
                        sheet=Quoted(sheet.sheet),
                        round=Quoted(sheet.round_ref),
                        organisation=organisation.name,
                    ),
                )
            ],
        )
    return assessment_round, sheet


def _sheet_names(workbook: ChecklistFile) -> Param:
    names = tuple(Quoted(s.sheet) for s in workbook.rounds)
    return names or message("checklist.none")


def _replacement(read: list[ReadScore]) -> ScoresReplace:
    """The scores as the API's replace takes them; text rules refused with the cell."""
    cells = {s.question_ref: s.cell for s in read}
    try:
        return ScoresReplace.model_validate(
            {
                "scores": {s.question_ref: s.value for s in read},
                "comments": {s.question_ref: s.comment for s in read if s.comment},
            }
        )
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where, ref = [*error["loc"], "", ""][:2]
            what = message(
                "checklist.what.comment" if where == "comments" else "checklist.what.score"
            )
            location = cells.get(str(ref), "file")
            text = message("checklist.not_stored", what=what, ref=str(ref), error=error["msg"])
            problems.append(Problem.of(location, text))
        raise FileRejectedError(RejectionReason.CONTENT, problems) from exc


def _as_cells(exc: InvalidInputError, read: list[ReadScore]) -> FileRejectedError:
    """A replace refusal (by JSON path such as ``$.scores.Q05``) told by cell."""
    cells = {s.question_ref: s.cell for s in read}
    problems = [
        # The catalogue text, if the refusal has one, goes with the problem to its cell.
        Problem(cells.get(p.location.rsplit(".", 1)[-1], "file"), p.message, p.text)
        for p in exc.problems
    ]
    return FileRejectedError(RejectionReason.CONTENT, problems)


def _snapshot(
    session: Session, before: ScoreSheet, *, upload_id: int, now: dt.datetime
) -> m.ScoreSnapshot | None:
    """Keep the scores about to be replaced; None if the round had none."""
    refs = list(dict.fromkeys([*before.scores, *before.comments]))
    if not refs:
        return None
    snapshot = m.ScoreSnapshot(
        round_id=before.round_id,
        organisation_id=before.organisation_id,
        replaced_at=now,
        replaced_by_upload_id=upload_id,
        scores=[
            {
                "question_ref": ref,
                "value": before.scores.get(ref),
                "comment": before.comments.get(ref),
            }
            for ref in refs
        ],
    )
    session.add(snapshot)
    session.flush()
    return snapshot


def _previous_round(
    session: Session, assessment_round: m.AssessmentRound
) -> m.AssessmentRound | None:
    """The network's latest round held for an earlier meeting (as the deck compares)."""
    if assessment_round.meeting is None:
        return None
    return session.scalars(
        select(m.AssessmentRound)
        .join(m.Meeting, m.AssessmentRound.meeting_id == m.Meeting.id)
        .where(
            m.AssessmentRound.network_id == assessment_round.network_id,
            m.Meeting.date < assessment_round.meeting.date,
        )
        .order_by(m.Meeting.date.desc(), m.AssessmentRound.id.desc())
        .limit(1)
    ).first()


def score_history(session: Session, round_id: int, organisation_id: int) -> list[m.ScoreSnapshot]:
    """The earlier versions of an organisation's scores in a round, newest first."""
    assessment_round = entities.get_entity(session, m.AssessmentRound, round_id)
    organisation = entities.get_entity(session, m.Organisation, organisation_id)
    if organisation.network_id != assessment_round.network_id:
        raise NotFoundError(
            f"organisation {organisation.id} is not in the network of assessment round "
            f"{assessment_round.id}"
        )
    return list(
        session.scalars(
            select(m.ScoreSnapshot)
            .where(
                m.ScoreSnapshot.round_id == assessment_round.id,
                m.ScoreSnapshot.organisation_id == organisation.id,
            )
            .order_by(m.ScoreSnapshot.replaced_at.desc(), m.ScoreSnapshot.id.desc())
        )
    )

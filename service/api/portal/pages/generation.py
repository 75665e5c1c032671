"""Organisers generate a meeting's documents: choose, pre-flight, start, watch, retry, download.

- ``/arrangor/moten/{id}/generera``: which documents, PDF or not, all or some organisations,
  and the pre-flight list (facts the participants' documents lack) before starting. A batch
  that would print organiser placeholders starts only when "Starta ändå" is ticked.
- ``/arrangor/batchar/{id}``: the batch's progress, per document, updating itself (htmx polls
  ``/framsteg`` every two seconds until the batch is complete; without JavaScript the page has
  an "Uppdatera" link). A short summary sits in a polite live region, the table does not.
  Failed documents can be sent again; finished ones download one by one or as zips.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from service.access.visible_documents import Viewer, document_file
from service.api.dependencies import RuntimeDep, SessionDep
from service.api.downloads import PRIVATE_HEADERS, file_response
from service.api.portal.auth import OrganiserFormDep, OrganiserPageDep
from service.api.portal.names import KIND_WORDS, kind_label
from service.api.portal.rendering import NOTICES, page
from service.batches.control import BatchProgress, batch_progress, retry_failed, start_batch
from service.batches.exports import batch_zip, stream_zip
from service.batches.preflight import Gap, PlaceholdersError, preflight
from service.database import models as m
from service.documents.catalogue import (
    PackSpec,
    available_kinds,
    batch_kinds,
    main_format,
    output_spec,
)
from service.domain.kinds import DocumentKind, DocumentStatus
from service.errors import NotFoundError
from service.intake.entities import MAX_ID
from service.storage.disposition import content_disposition

router = APIRouter(include_in_schema=False)

NOTICES.update(
    {
        "startad": "Dokumenten är på väg. Sidan visar hur det går.",
        "skickade-igen": "De misslyckade dokumenten skickades igen.",
        "inget-misslyckat": "Inget dokument hade misslyckats, så inget skickades igen.",
    }
)

# Each kind in words an organiser knows, with a hint of what it is.
FORMAT_WORDS = {
    "pptx": "PowerPoint",
    "docx": "Word",
    "xlsx": "Excel",
    "pdf": "PDF",
    "zip": "Zip",
}
# Status in words and the style that goes with it (never colour alone).
STATUS_WORDS: dict[DocumentStatus, tuple[str, str]] = {
    DocumentStatus.PENDING: ("I kö", "neutral"),
    DocumentStatus.QUEUED: ("I kö", "neutral"),
    DocumentStatus.RUNNING: ("Pågår", "warn"),
    DocumentStatus.DONE: ("Klar", "ok"),
    DocumentStatus.FAILED: ("Misslyckad", "bad"),
}
MEETING_WIDE = "Hela träffen"
_MAX_FIELD = 100
_TEMPLATE_ERROR = re.compile(r"^(template '[^']+' not found|[\w.-]+\.(pptx|docx|xlsx): )")
_PLACEHOLDER = re.compile(r"^\[Fyll i (?P<fact>.+)\]$")


def failure_cause(error: str | None) -> str:
    """Why a document failed, in words an organiser can act on (details shown beside it)."""
    text = error or ""
    if text.startswith("internal error"):
        return (
            "Ett oväntat fel inträffade i tjänsten. Försök igen; händer det igen, kontakta "
            "den som driver tjänsten."
        )
    if " waits for " in text:
        return (
            "Dokumenten som paketet samlar blev inte klara. Försök igen när de är klara "
            "(eller skapa dem först)."
        )
    if text.startswith("stored files are missing"):
        return "Några sparade filer saknas. Skapa dokumenten igen och sedan paketet."
    if re.match(r"^failed \d+ times", text):
        return (
            "Det gick inte trots flera försök, troligen ett tillfälligt fel. Försök igen om "
            "en stund."
        )
    if "PDF" in text or "LibreOffice" in text or "pdftoppm" in text:
        return "PDF-filen kunde inte skapas. Försök igen, eller skapa dokumenten utan PDF."
    if _TEMPLATE_ERROR.match(text):
        return (
            "Mallen för dokumentet har ett fel, så dokumentet kunde inte skapas. Rätta mallen "
            "under Mallar och försök sedan igen."
        )
    if "not found" in text:
        return (
            "Uppgifter som dokumentet behöver finns inte längre, till exempel en borttagen "
            "organisation."
        )
    return (
        "Uppgifterna och mallen passar inte ihop, så dokumentet kunde inte skapas. Rätta "
        "uppgifterna eller mallen och försök sedan igen."
    )


def _parse_id(value: str) -> int:
    """A path's id; anything else (text, out of range) is as absent as an unknown id."""
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise NotFoundError(f"no such id {value[:20]!r}")
    number = int(value)
    if not 1 <= number <= MAX_ID:
        raise NotFoundError(f"no such id {number}")
    return number


def _meeting(session: Session, meeting_id: str) -> m.Meeting:
    meeting = session.get(m.Meeting, _parse_id(meeting_id))
    if meeting is None:
        raise NotFoundError(f"meeting {meeting_id} not found")
    return meeting


def _organisations(session: Session, meeting: m.Meeting) -> list[m.Organisation]:
    return list(
        session.scalars(
            select(m.Organisation)
            .where(m.Organisation.network_id == meeting.network_id)
            .order_by(m.Organisation.name, m.Organisation.id)
        )
    )


async def _form_data(request: Request) -> FormData:
    """The POSTed form (already read, within its limits, by the CSRF check)."""
    return await request.form(max_files=0, max_fields=200)


FormDataDep = Annotated[FormData, Depends(_form_data)]


# -- the form -------------------------------------------------------------------------------


@dataclass(frozen=True)
class KindOption:
    """A kind as the form offers it."""

    value: str
    label: str
    hint: str
    formats: str


@dataclass
class Choice:
    """What the organiser chose, as sent back to the form."""

    kinds: list[DocumentKind] = field(default_factory=list)
    with_pdf: bool = False
    all_organisations: bool = True
    organisation_ids: list[int] = field(default_factory=list)
    allow_placeholders: bool = False


@dataclass(frozen=True)
class FieldError:
    """One problem with the form, and the field the summary links to."""

    field_id: str
    text: str


@dataclass(frozen=True)
class GapGroup:
    """One missing fact and the documents that would print its placeholder."""

    fact: str
    placeholder: str
    documents: list[str]


def _kind_options(*, per_organisation: bool) -> list[KindOption]:
    options = []
    for kind in batch_kinds():
        spec = output_spec(kind)
        if spec.per_organisation != per_organisation:
            continue
        label, hint = KIND_WORDS.get(kind, (kind.value, ""))
        formats = "Blir " + FORMAT_WORDS[main_format(kind)]
        if isinstance(spec, PackSpec):
            file_word = "PDF-fil" if main_format(kind) == "pdf" else "zip-fil"
            formats = f"Blir en {file_word} av dokumenten som är klara eller skapas i samma omgång"
        elif spec.offers_pdf:
            formats += ", och PDF om du väljer det"
        options.append(KindOption(value=kind.value, label=label, hint=hint, formats=formats))
    return options


def gap_groups(gaps: Sequence[Gap], organisation_count: int) -> list[GapGroup]:
    """The gaps per missing fact: which documents would print each placeholder."""
    per_fact: dict[str, dict[DocumentKind, list[str]]] = {}
    for gap in gaps:
        names = per_fact.setdefault(gap.placeholder, {}).setdefault(gap.kind, [])
        if gap.organisation_name:
            names.append(gap.organisation_name)
    groups = []
    for placeholder, kinds in per_fact.items():
        documents = []
        for kind, names in kinds.items():
            label = kind_label(kind)
            if not output_spec(kind).per_organisation:
                documents.append(label)
            elif len(names) == organisation_count and organisation_count > 3:
                documents.append(f"{label} (alla {organisation_count} organisationer)")
            else:
                documents.append(f"{label} ({', '.join(sorted(names))})")
        found = _PLACEHOLDER.match(placeholder)
        fact = found["fact"] if found else placeholder
        groups.append(
            GapGroup(fact=fact[:1].upper() + fact[1:], placeholder=placeholder, documents=documents)
        )
    return groups


def _recent_batches(session: Session, meeting_id: int) -> list[dict[str, Any]]:
    doc = m.GeneratedDocument
    rows = session.execute(
        select(
            m.Batch.id,
            m.Batch.created_at,
            m.Batch.origin,
            func.count(doc.id),
            func.count(doc.id).filter(doc.status == DocumentStatus.DONE),
            func.count(doc.id).filter(doc.status == DocumentStatus.FAILED),
        )
        .join(doc, doc.batch_id == m.Batch.id, isouter=True)
        .where(m.Batch.meeting_id == meeting_id)
        .group_by(m.Batch.id)
        .order_by(m.Batch.id.desc())
        .limit(10)
    ).all()
    return [
        {
            "id": row[0],
            "created_at": row[1],
            "origin": "Arrangör" if row[2] == "organiser" else "Uppdatering",
            "total": row[3],
            "done": row[4],
            "failed": row[5],
        }
        for row in rows
    ]


def _form_page(
    request: Request,
    session: Session,
    caller: Any,
    meeting: m.Meeting,
    *,
    choice: Choice,
    errors: Sequence[FieldError] = (),
    refused_gaps: Sequence[Gap] = (),
    status_code: int = status.HTTP_200_OK,
) -> Response:
    organisations = _organisations(session, meeting)
    gaps = preflight(session, meeting_id=meeting.id)
    context = {
        "meeting": meeting,
        "organisations": organisations,
        "per_organisation_kinds": _kind_options(per_organisation=True),
        "meeting_kinds": _kind_options(per_organisation=False),
        "gap_groups": gap_groups(gaps, len(organisations)),
        "refused_groups": gap_groups(refused_gaps, len(organisations)),
        "choice": choice,
        "chosen_kinds": {k.value for k in choice.kinds},
        "errors": list(errors),
        "batches": _recent_batches(session, meeting.id),
    }
    return page(request, "organiser/generate.html", context, caller=caller, status_code=status_code)


@router.get("/arrangor/moten/{meeting_id}/generera", response_class=HTMLResponse)
def generate_form(
    request: Request, meeting_id: str, caller: OrganiserPageDep, session: SessionDep
) -> Response:
    """The form: documents, PDF, organisations, and what the participants' documents lack."""
    meeting = _meeting(session, meeting_id)
    return _form_page(request, session, caller, meeting, choice=Choice())


def _yes(form: FormData, name: str, field_id: str, label: str) -> tuple[bool, FieldError | None]:
    values = form.getlist(name)
    if not values:
        return False, None
    if any(v != "ja" for v in values):
        return False, FieldError(
            field_id,
            f"{label}: rutan skickade ett värde som inte går att använda. Ladda om sidan "
            "och försök igen.",
        )
    return True, None


def read_choice(
    form: FormData, organisations: Sequence[m.Organisation]
) -> tuple[Choice, list[FieldError]]:
    """The organiser's choice from the form, and every problem with it (in Swedish)."""
    errors: list[FieldError] = []
    choice = Choice()
    known_kinds = {k.value: k for k in batch_kinds()}
    first_kind = f"sort-{available_kinds()[0].value}"
    for value in form.getlist("sort"):
        kind = known_kinds.get(value) if isinstance(value, str) else None
        if kind is None:
            errors.append(
                FieldError(
                    first_kind,
                    "Dokument: ett av de valda dokumenten finns inte. Välj bland dokumenten i "
                    "listan.",
                )
            )
            break
        if kind not in choice.kinds:
            choice.kinds.append(kind)
    if not choice.kinds and not errors:
        errors.append(FieldError(first_kind, "Dokument: välj minst ett dokument att skapa."))
    choice.with_pdf, problem = _yes(form, "pdf", "pdf", "PDF")
    errors.extend([problem] if problem else [])
    scope = form.getlist("omfattning")
    if scope not in (["alla"], ["valda"]):
        errors.append(
            FieldError(
                "omfattning-alla",
                "Organisationer: välj Alla organisationer eller Bara de organisationer jag "
                "kryssar i.",
            )
        )
    choice.all_organisations = scope != ["valda"]
    known_organisations = {str(o.id): o.id for o in organisations}
    first_organisation = f"org-{organisations[0].id}" if organisations else "omfattning-valda"
    for value in form.getlist("organisation"):
        organisation_id = known_organisations.get(value) if isinstance(value, str) else None
        if organisation_id is None:
            errors.append(
                FieldError(
                    first_organisation,
                    "Organisationer: en av de valda organisationerna finns inte i nätverket. "
                    "Välj bland organisationerna i listan.",
                )
            )
            choice.organisation_ids = []
            break
        if organisation_id not in choice.organisation_ids:
            choice.organisation_ids.append(organisation_id)
    if scope == ["alla"] and choice.organisation_ids:
        errors.append(
            FieldError(
                "omfattning-valda",
                "Organisationer: du har kryssat i organisationer men valt Alla organisationer. "
                "Välj Bara de organisationer jag kryssar i, eller ta bort kryssen.",
            )
        )
    wants_organisations = any(output_spec(k).per_organisation for k in choice.kinds)
    if (
        scope == ["valda"]
        and wants_organisations
        and not choice.organisation_ids
        and not any(e.field_id == first_organisation for e in errors)
    ):
        errors.append(
            FieldError(
                first_organisation,
                "Organisationer: kryssa i minst en organisation, eller välj Alla organisationer.",
            )
        )
    choice.allow_placeholders, problem = _yes(form, "starta_anda", "starta_anda", "Starta ändå")
    errors.extend([problem] if problem else [])
    if any(isinstance(v, str) and len(v) > _MAX_FIELD for _, v in form.multi_items()):
        errors.append(
            FieldError(
                first_kind, "Formuläret innehöll för långa värden. Ladda om sidan och försök igen."
            )
        )
    return choice, errors


@router.post("/arrangor/moten/{meeting_id}/generera", response_class=HTMLResponse)
def generate(
    request: Request,
    meeting_id: str,
    caller: OrganiserFormDep,
    session: SessionDep,
    runtime: RuntimeDep,
    form: FormDataDep,
) -> Response:
    """Start a batch and go to its progress; refused (422) with the reasons in Swedish."""
    meeting = _meeting(session, meeting_id)
    organisations = _organisations(session, meeting)
    choice, errors = read_choice(form, organisations)
    if errors:
        return _form_page(
            request,
            session,
            caller,
            meeting,
            choice=choice,
            errors=errors,
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    try:
        batch_id = start_batch(
            runtime.sessions,
            runtime.queue,
            meeting_id=meeting.id,
            kinds=choice.kinds,
            organisation_ids=None if choice.all_organisations else choice.organisation_ids,
            with_pdf=choice.with_pdf,
            allow_placeholders=choice.allow_placeholders,
        )
    except PlaceholdersError as exc:
        refusal = FieldError(
            "starta_anda",
            "De valda dokumenten skulle visa platshållare där uppgifter om träffen saknas "
            "(se listan). Fyll i uppgifterna, eller kryssa i Starta ändå för att skapa "
            "dokumenten med platshållarna.",
        )
        return _form_page(
            request,
            session,
            caller,
            meeting,
            choice=choice,
            errors=[refusal],
            refused_gaps=exc.gaps,
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    return RedirectResponse(
        f"/arrangor/batchar/{batch_id}?klart=startad", status.HTTP_303_SEE_OTHER
    )


# -- the batch ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentRow:
    """One document of the batch as the table shows it."""

    id: int
    organisation: str
    kind: str
    file_format: str
    status: str
    style: str
    done: bool
    cause: str | None
    detail: str | None


@dataclass(frozen=True)
class OrganisationZip:
    """An organisation with finished documents in the batch."""

    id: int
    name: str
    done: int


def _rows(progress: BatchProgress) -> list[DocumentRow]:
    documents = sorted(
        progress.batch.documents,
        key=lambda d: (
            d.organisation is not None,
            d.organisation.name.casefold() if d.organisation else "",
            d.organisation_id or 0,
            batch_kinds().index(d.kind) if d.kind in batch_kinds() else 99,
            d.format != main_format(d.kind),
            d.id,
        ),
    )
    rows = []
    for doc in documents:
        word, style = STATUS_WORDS[doc.status]
        failed = doc.status == DocumentStatus.FAILED
        rows.append(
            DocumentRow(
                id=doc.id,
                organisation=doc.organisation.name if doc.organisation else MEETING_WIDE,
                kind=kind_label(doc.kind),
                file_format=FORMAT_WORDS.get(doc.format, doc.format),
                status=word,
                style=style,
                done=doc.status == DocumentStatus.DONE,
                cause=failure_cause(doc.error) if failed else None,
                detail=(doc.error or None) if failed else None,
            )
        )
    return rows


def _summary(progress: BatchProgress) -> str:
    counts = progress.counts
    done, failed = counts[DocumentStatus.DONE], counts[DocumentStatus.FAILED]
    total = progress.total
    if total == 0:
        return "Körningen har inga dokument."
    if progress.is_complete:
        if failed == 0:
            if total == 1:
                return "Klart: dokumentet är skapat."
            return f"Klart: alla {total} dokument är skapade."
        return f"Färdigt: {done} av {total} dokument är klara och {failed} misslyckades."
    return f"Pågår: {done} av {total} dokument är klara, {failed} misslyckades."


def _batch_context(session: Session, batch_id: str, seen: str | None = None) -> dict[str, Any]:
    progress = batch_progress(session, _parse_id(batch_id))
    batch = progress.batch
    counts = progress.counts
    rows = _rows(progress)
    zips: dict[int, OrganisationZip] = {}
    for doc in batch.documents:
        if doc.organisation is not None and doc.status == DocumentStatus.DONE:
            known = zips.get(doc.organisation.id)
            done = known.done + 1 if known else 1
            zips[doc.organisation.id] = OrganisationZip(
                doc.organisation.id, doc.organisation.name, done
            )
    summary = _summary(progress)
    state = f"{counts[DocumentStatus.DONE]}.{counts[DocumentStatus.FAILED]}.{progress.is_complete}"
    meeting = session.get_one(m.Meeting, batch.meeting_id)
    return {
        "batch": batch,
        "meeting": meeting,
        "kinds": [kind_label(DocumentKind(k)) for k in batch.requested_kinds if k in KIND_WORDS],
        "total": progress.total,
        "done": counts[DocumentStatus.DONE],
        "failed": counts[DocumentStatus.FAILED],
        "running": counts[DocumentStatus.RUNNING],
        "waiting": counts[DocumentStatus.PENDING] + counts[DocumentStatus.QUEUED],
        "finished": progress.finished,
        "complete": progress.is_complete,
        "rows": rows,
        "organisation_zips": sorted(zips.values(), key=lambda z: (z.name.casefold(), z.id)),
        "summary": summary,
        "state": state,
        "summary_changed": seen != state,
    }


@router.get("/arrangor/batchar/{batch_id}", response_class=HTMLResponse)
def batch_page(
    request: Request, batch_id: str, caller: OrganiserPageDep, session: SessionDep
) -> Response:
    """A batch's progress, its documents, retry and downloads."""
    return page(request, "organiser/batch.html", _batch_context(session, batch_id), caller=caller)


@router.get("/arrangor/batchar/{batch_id}/framsteg", response_class=HTMLResponse)
def batch_fragment(
    request: Request,
    batch_id: str,
    caller: OrganiserPageDep,
    session: SessionDep,
    visat: str | None = None,
) -> Response:
    """The progress part of the batch page, for htmx; the summary only when it changed."""
    context = _batch_context(session, batch_id, seen=(visat or "")[:40])
    context["fragment"] = True
    response = page(request, "organiser/batch_progress.html", context, caller=caller)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/arrangor/batchar/{batch_id}/forsok-igen")
def retry(
    batch_id: str, caller: OrganiserFormDep, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Send the batch's failed documents again, then back to its page."""
    del caller
    number = _parse_id(batch_id)
    if session.get(m.Batch, number) is None:
        raise NotFoundError(f"batch {number} not found")
    sent = retry_failed(runtime.sessions, runtime.queue, batch_id=number)
    notice = "skickade-igen" if sent else "inget-misslyckat"
    return RedirectResponse(f"/arrangor/batchar/{number}?klart={notice}", status.HTTP_303_SEE_OTHER)


# -- downloads ------------------------------------------------------------------------------


def _zip_response(
    session: Session, runtime: RuntimeDep, batch_id: str, organisation: str | None
) -> Response:
    number = _parse_id(batch_id)
    organisation_id = _parse_id(organisation) if organisation is not None else None
    found = batch_zip(session, number, organisation_id=organisation_id)
    if not found.members:
        raise NotFoundError(f"batch {number} has no finished document")
    return StreamingResponse(
        stream_zip(found.members, runtime.files),
        media_type="application/zip",
        headers={
            "Content-Disposition": content_disposition(found.file_name, f"dokument-{number}.zip"),
            **PRIVATE_HEADERS,
        },
    )


@router.get("/arrangor/batchar/{batch_id}/zip")
def batch_zip_download(
    batch_id: str, caller: OrganiserPageDep, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Every finished document of the batch in one zip, a folder per organisation."""
    del caller
    return _zip_response(session, runtime, batch_id, None)


@router.get("/arrangor/batchar/{batch_id}/zip/{organisation_id}")
def organisation_zip_download(
    batch_id: str,
    organisation_id: str,
    caller: OrganiserPageDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """One organisation's finished documents of the batch in one zip."""
    del caller
    return _zip_response(session, runtime, batch_id, organisation_id)


@router.get("/arrangor/dokument/{document_id}/fil")
def document_download(
    document_id: str, caller: OrganiserPageDep, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """One finished document's file (an organiser may fetch any)."""
    del caller
    number = _parse_id(document_id)
    found = document_file(
        session,
        runtime.files,
        Viewer(),
        number,
        link_seconds=runtime.settings.s3_presigned_downloads,
    )
    return file_response(found, fallback_name=f"dokument-{number}")

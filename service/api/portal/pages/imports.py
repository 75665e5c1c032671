"""Organisers import a programme or a roster: upload, preview what would change, confirm.

The uploaded file is kept in the file store under its sha256 (``imports/pending/<sha256>``)
while the organiser looks at the preview; the confirmation names that hash and the preview's
digest, so exactly the previewed file is applied, and only if the plan is still the one shown
(the roster's digest covers the network's stored people; the programme's, the stored data the
import meets). Every problem is listed in Swedish by JSON path, row or cell; nothing is stored
while any remains.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.access.portal_sessions import PortalCaller
from service.api.body import UploadForm, read_upload_form
from service.api.dependencies import RuntimeDep, SessionDep
from service.api.ids import fits_id
from service.api.portal.auth import OrganiserFormDep, OrganiserPageDep
from service.api.portal.rendering import NOTICES, page
from service.api.portal.security import verify_csrf
from service.database import models as m
from service.errors import (
    BenchdocsError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    Problem,
)
from service.file_safety.file_inspection import limits_from_settings
from service.intake.programme_preview import apply_previewed_programme, preview_programme
from service.intake.roster_import import RosterUpload, apply_roster, preview_roster
from service.messages import Language, place
from service.observability.metrics import count_refused_upload
from service.runtime import Runtime
from service.storage.file_store import FileStore

router = APIRouter(include_in_schema=False)

NOTICES.update(
    {
        "program-importerat": "Programmet är importerat.",
        "lista-importerad": "Deltagarlistan är importerad.",
    }
)

NEW_PROGRAMME = "nytt"
PENDING = "imports/pending/"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ROSTER_NAME = re.compile(r"\.(xlsx|csv)$", re.IGNORECASE)

ACTION_NAMES = {
    "create": "Läggs till",
    "update": "Ändras",
    "unchanged": "Oförändrad",
    "not_in_file": "Finns inte i filen (behålls)",
    "remove": "Tas bort",
}
FIELD_NAMES = {
    "name": "namn",
    "type": "typ",
    "county": "län",
    "programme_role": "roll i programmet",
    "group": "grupp",
    "role": "roll",
    "title": "titel",
    "email": "e-post",
    "phone": "telefon",
}


@dataclass(frozen=True)
class ShownProblem:
    """One problem as the table shows it: where, and what."""

    where: str
    what: str


# English texts of the import's checks, said in Swedish (what is not here is shown as is).
_SWEDISH: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r".*control character (U\+[0-9A-Fa-f]+).*"),
        r"Innehåller det osynliga styrtecknet \1, som inte är tillåtet.",
    ),
    (re.compile(r"^Field required$"), "Uppgiften saknas."),
    (re.compile(r"^Extra inputs are not permitted$"), "Fältet finns inte i formatet."),
    (re.compile(r"^Input should be a valid date.*"), "Ska vara ett datum (ÅÅÅÅ-MM-DD)."),
    (re.compile(r"^Input should be a valid time.*"), "Ska vara en tid (TT:MM)."),
    (re.compile(r"^Input should be a valid integer.*"), "Ska vara ett heltal."),
    (re.compile(r"^Input should be a valid string.*"), "Ska vara text."),
    (re.compile(r"^Input should be a valid list.*"), "Ska vara en lista."),
    (re.compile(r"^Input should be a valid boolean.*"), "Ska vara sant eller falskt."),
    (re.compile(r"^Input should be (.*)$"), r"Ska vara \1."),
    (re.compile(r"^String should have at most (\d+) characters?$"), r"Får vara högst \1 tecken."),
    (
        re.compile(r"^String should have at least (\d+) characters?$"),
        r"Måste vara minst \1 tecken.",
    ),
    (re.compile(r"^String should match pattern .*"), "Har tecken som inte är tillåtna här."),
    (re.compile(r"^unknown organisation '(.*)'$"), r"Okänd organisation ”\1”."),
    (re.compile(r"^unknown participant '(.*)'$"), r"Okänd deltagare ”\1”."),
    (re.compile(r"^unknown group '(.*)'$"), r"Okänd grupp ”\1”."),
    (re.compile(r"^unknown meeting '(.*)'$"), r"Okänt möte ”\1”."),
    (re.compile(r"^unknown (.*) '(.*)'$"), r"Okänt id ”\2”."),
    (re.compile(r"^duplicate id '(.*)'$"), r"Id ”\1” finns redan tidigare i filen."),
    (re.compile(r"^ends before it starts$"), "Slutar innan det börjar."),
    (
        re.compile(r"^not valid JSON: .* at line (\d+) column (\d+)$"),
        r"Filen är inte giltig JSON (fel på rad \1, tecken \2).",
    ),
    (re.compile(r"^not UTF-8 text.*"), "Filen är inte text i UTF-8."),
    (re.compile(r"^nested too deeply$"), "Filen har för många nivåer."),
    (re.compile(r"^a zip archive .*"), "Filen är ett Office-dokument, inte en programfil i JSON."),
    (
        re.compile(r"^file is (\d+) bytes; the limit is (\d+)$"),
        r"Filen är \1 byte; gränsen är \2 byte.",
    ),
    (
        re.compile(r"^'(.*)' is not a role: use one of (.*)$"),
        r"”\1” är ingen roll. Använd en av: \2.",
    ),
    (re.compile(r"^'(.*)' is not an e-mail address.*"), r"”\1” är ingen e-postadress."),
    (
        re.compile(r"^'(.*)' is not a phone number.*"),
        r"”\1” är inget telefonnummer (6–15 siffror, gärna med +).",
    ),
    (
        re.compile(r"^'(.*)' is not an id: .*"),
        r"”\1” är inget giltigt id: använd bokstäverna a–z, siffror och _ . -",
    ),
    (
        re.compile(r"^'(.*)' is not a programme role.*"),
        r"”\1” är ingen roll i programmet: använd mentor eller benchmarkingorganisation.",
    ),
    (
        re.compile(r"^is (\d+) characters long; at most (\d+) fit$"),
        r"Är \1 tecken lång; högst \2 får plats.",
    ),
    (re.compile(r"^a formula .*"), "Innehåller en formel; skriv in värdet i stället."),
    (re.compile(r"^the column '(.*)' is missing.*"), r"Kolumnen ”\1” saknas."),
    (
        re.compile(r"^no header row .*"),
        "Hittar ingen rubrikrad med kolumner som Organisation, Namn och Roll.",
    ),
    (
        re.compile(r"^a network with id '(.*)' already exists$"),
        r"Ett nätverk med id ”\1” finns redan. Ge programmet ett nytt id.",
    ),
]

_ROW_PLACE = re.compile(r"^row (\d+): column (?:'(.*)'|(\d+))$")
_ROW = re.compile(r"^row (\d+)$")


def swedish_place(location: str) -> str:
    """A problem's place in Swedish: a JSON path as is, a row, a cell."""
    if (found := _ROW_PLACE.match(location)) is not None:
        column = found[2] if found[2] is not None else found[3]
        return f"Rad {found[1]}, kolumn ”{column}”"
    if (found := _ROW.match(location)) is not None:
        return f"Rad {found[1]}"
    if location == "$":
        return "Filen"
    return place(location, Language.SV)


def swedish_problem(problem: Problem) -> ShownProblem:
    """A problem for the table: its Swedish text when it has one, else a translation."""
    text = problem.render(Language.SV)
    if problem.text is None:
        text = text.removeprefix("Value error, ")
        for pattern, replacement in _SWEDISH:
            if pattern.match(text):
                text = pattern.sub(replacement, text, count=1)
                if text.startswith("Ska vara "):
                    text = text.replace("' or '", "' eller '")
                break
    return ShownProblem(swedish_place(problem.location), text)


def _networks(session: Session) -> list[m.Network]:
    return list(session.scalars(select(m.Network).order_by(m.Network.id)))


def _form(
    request: Request,
    caller: PortalCaller,
    session: Session,
    *,
    problems: list[ShownProblem] | None = None,
    heading: str = "",
    chosen: str = "",
    remove_missing: bool = False,
    status_code: int = 200,
) -> Response:
    context = {
        "networks": _networks(session),
        "problems": problems or [],
        "heading": heading,
        "chosen": chosen,
        "remove_missing": remove_missing,
        "new_programme": NEW_PROGRAMME,
    }
    return page(
        request,
        "organiser/import.html",
        context,
        caller=caller,
        status_code=status_code,
    )


def _problems_of(exc: BenchdocsError) -> list[ShownProblem]:
    if isinstance(exc, InvalidInputError):
        return [swedish_problem(p) for p in exc.problems]
    if isinstance(exc, ConflictError):
        return [swedish_problem(Problem("$", str(exc)))]
    return [ShownProblem("Filen", "Filen kunde inte läsas.")]


def _network_id(chosen: str, session: Session) -> int | None:
    """The network a choice names, or None for a new programme; ValueError if neither."""
    if chosen == NEW_PROGRAMME:
        return None
    if chosen.isdigit() and fits_id(chosen) and session.get(m.Network, int(chosen)) is not None:
        return int(chosen)
    raise ValueError(chosen)


@router.get("/arrangor/import", response_class=HTMLResponse)
def import_form(request: Request, caller: OrganiserPageDep, session: SessionDep) -> Response:
    """Choose what to import and the file."""
    return _form(request, caller, session)


def _limit(runtime: Runtime) -> int:
    return max(runtime.settings.max_upload_bytes, runtime.settings.max_import_bytes)


@router.post("/arrangor/import", response_class=HTMLResponse)
async def import_preview(
    request: Request, caller: OrganiserPageDep, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Read the file, show what importing it would change; nothing is stored yet."""
    try:
        form = await read_upload_form(
            request,
            max_bytes=_limit(runtime),
            fields=("csrf_token", "mal", "ta_bort"),
            missing_file=Problem("fil", "Välj en fil att importera."),
        )
    except BenchdocsError as exc:
        # Nothing was stored, so the refusal is shown even before the token could be read.
        problems = _problems_of(exc)
        return await run_in_threadpool(
            lambda: _form(
                request,
                caller,
                session,
                problems=problems,
                heading="Filen kunde inte läsas",
                status_code=422,
            )
        )
    verify_csrf(request, caller, form.fields.get("csrf_token"))
    # Everything after the body is synchronous (database, parsing, the file store, the page):
    # in the thread pool, so the event loop keeps answering other requests meanwhile.
    return await run_in_threadpool(_preview, request, caller, session, runtime, form)


def _preview(
    request: Request, caller: PortalCaller, session: Session, runtime: Runtime, form: UploadForm
) -> Response:
    """The preview of the uploaded file, or the form again with why it cannot be imported."""
    chosen = form.fields.get("mal", "")
    remove_missing = form.fields.get("ta_bort", "") == "ja"
    try:
        network_id = _network_id(chosen, session)
    except ValueError:
        return _form(
            request,
            caller,
            session,
            problems=[
                ShownProblem("Vad vill du importera?", "Välj ett nätverk eller nytt program.")
            ],
            heading="Välj vad du vill importera",
            status_code=422,
        )
    if not form.data:
        return _form(
            request,
            caller,
            session,
            chosen=chosen,
            remove_missing=remove_missing,
            problems=[ShownProblem("Fil", "Välj en fil att importera; filen var tom.")],
            heading="Filen kunde inte läsas",
            status_code=422,
        )
    file_name = form.file_name or "fil"
    settings = runtime.settings
    try:
        if network_id is None:
            if _ROSTER_NAME.search(file_name):
                raise InvalidInputError(
                    [
                        Problem(
                            "fil",
                            "Ett nytt program importeras från en programfil i JSON. "
                            "En deltagarlista (xlsx eller CSV) hör till ett nätverk: "
                            "välj nätverket.",
                        )
                    ]
                )
            preview = preview_programme(session, form.data, max_bytes=settings.max_import_bytes)
            plan = None
        else:
            upload = RosterUpload(
                data=form.data, file_name=file_name, remove_missing=remove_missing
            )
            plan = preview_roster(
                session, network_id, upload, limits=limits_from_settings(settings)
            )
            preview = None
    except (InvalidInputError, ConflictError, NotFoundError) as exc:
        return _form(
            request,
            caller,
            session,
            chosen=chosen,
            remove_missing=remove_missing,
            problems=_problems_of(exc),
            heading="Filen kan inte importeras",
            status_code=422,
        )
    sha256 = hashlib.sha256(form.data).hexdigest()
    runtime.files.put(PENDING + sha256, form.data)
    context = {
        "chosen": chosen,
        "network": session.get(m.Network, network_id) if network_id is not None else None,
        "file_name": file_name,
        "sha256": sha256,
        "remove_missing": remove_missing,
        "programme": preview,
        "plan": plan,
        "digest": preview.digest if preview else plan.digest if plan else "",
        "warnings": [swedish_problem(w) for w in plan.warnings] if plan else [],
        "org_names": {s.ref: s.name for s in plan.organisations} if plan else {},
        "action_names": ACTION_NAMES,
        "field_names": FIELD_NAMES,
    }
    return page(request, "organiser/import_preview.html", context, caller=caller)


def _pending(files: FileStore, sha256: str) -> bytes | None:
    """The previewed file, if it is still kept and is what its name says."""
    if not _SHA256.match(sha256):
        return None
    try:
        data = files.get(PENDING + sha256)
    except NotFoundError:
        return None
    return data if hashlib.sha256(data).hexdigest() == sha256 else None


@router.post("/arrangor/import/bekrafta", response_class=HTMLResponse)
def import_confirm(
    request: Request,
    caller: OrganiserFormDep,
    session: SessionDep,
    runtime: RuntimeDep,
    mal: Annotated[str, Form(max_length=20)] = "",
    fil: Annotated[str, Form(max_length=64)] = "",
    digest: Annotated[str, Form(max_length=64)] = "",
    ta_bort: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Apply exactly the previewed file, if its plan is still the one shown."""
    data = _pending(runtime.files, fil)
    try:
        network_id = _network_id(mal, session)
    except ValueError:
        data = None
    if data is None or not _SHA256.match(digest):
        return _form(
            request,
            caller,
            session,
            problems=[GONE],
            heading="Importen kunde inte göras",
            status_code=status.HTTP_409_CONFLICT,
        )
    try:
        # All or nothing: a refusal rolls back whatever the import had begun to write.
        with session.begin_nested():
            notice = _apply(session, runtime, network_id, data, digest, ta_bort == "ja")
    except ConflictError:
        return _form(
            request,
            caller,
            session,
            chosen=mal,
            problems=[CHANGED],
            heading="Importen kunde inte göras",
            status_code=status.HTTP_409_CONFLICT,
        )
    except InvalidInputError as exc:
        count_refused_upload(exc)
        return _form(
            request,
            caller,
            session,
            chosen=mal,
            problems=_problems_of(exc),
            heading="Filen kan inte importeras",
            status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    return RedirectResponse(f"/arrangor?klart={notice}", status.HTTP_303_SEE_OTHER)


GONE = ShownProblem("Fil", "Förhandsgranskningen finns inte längre. Ladda upp filen igen.")
CHANGED = ShownProblem(
    "Fil",
    "Uppgifterna har ändrats sedan förhandsgranskningen, så ingenting har sparats. Ladda upp "
    "filen igen och granska den nya förhandsgranskningen.",
)


def _apply(
    session: Session,
    runtime: Runtime,
    network_id: int | None,
    data: bytes,
    digest: str,
    remove_missing: bool,
) -> str:
    """Import the previewed file; the key of the start page's notice."""
    settings = runtime.settings
    if network_id is None:
        apply_previewed_programme(
            session, data, max_bytes=settings.max_import_bytes, expected_digest=digest
        )
        return "program-importerat"
    apply_roster(
        session,
        network_id,
        RosterUpload(data=data, file_name=f"lista.{_kind(data)}", remove_missing=remove_missing),
        limits=limits_from_settings(settings),
        expected_digest=digest,
    )
    return "lista-importerad"


def _kind(data: bytes) -> str:
    """The roster's file type by its content (the gate checks it again)."""
    return "xlsx" if data.startswith(b"PK\x03\x04") else "csv"

"""Organisers manage templates: upload, check, preview, activate and roll back versions."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from service.access.portal_sessions import PortalCaller
from service.api.body import UploadForm, read_upload_form
from service.api.dependencies import RuntimeDep, SessionDep
from service.api.downloads import attachment
from service.api.portal.auth import OrganiserFormDep, OrganiserPageDep
from service.api.portal.names import KIND_NAMES
from service.api.portal.rendering import NOTICES, page
from service.api.portal.security import verify_csrf
from service.batches.template_versions import (
    ERROR,
    ActivationRefusedError,
    KindTemplates,
    activate,
    get_version,
    has_errors,
    kind_templates,
    overview,
    preview,
    preview_keys,
    preview_target,
    spec_of,
    upload_version,
)
from service.clock import utcnow
from service.database.session import unit_of_work
from service.documents.catalogue import DocumentSpec
from service.errors import (
    ConfigurationError,
    GenerationError,
    InvalidInputError,
    NotFoundError,
)
from service.file_safety.file_inspection import limits_from_settings
from service.messages import Language
from service.observability.metrics import count_refused_upload
from service.pdf.converter import PdfConverter
from service.pdf.libreoffice import ColdLibreOfficeConverter

router = APIRouter(include_in_schema=False)

FORMAT_NAMES = {"docx": "Word (.docx)", "pptx": "PowerPoint (.pptx)", "xlsx": "Excel (.xlsx)"}
MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "png": "image/png",
}
BUILT_IN = "inbyggd"

NOTICES.update(
    {
        "mall-uppladdad": "Mallen är uppladdad och kontrollerad. Se resultatet nedan.",
        "mall-aktiverad": "Mallen är aktiverad. Nya dokument görs med den.",
        "mall-aterstalld": "Mallen är återställd. Nya dokument görs med den.",
        "forhandsgranskad": "Förhandsgranskningen är klar.",
    }
)

_LOCATION_WORDS = [
    (re.compile(r"word/document\.xml"), "brödtexten"),
    (re.compile(r"word/header\d*\.xml"), "sidhuvudet"),
    (re.compile(r"word/footer\d*\.xml"), "sidfoten"),
    (re.compile(r"\bparagraph\b"), "stycke"),
    (re.compile(r"\btable\b"), "tabell"),
    (re.compile(r"\brow\b"), "rad"),
    (re.compile(r"\bcolumn\b"), "kolumn"),
    (re.compile(r"\bslide\b"), "bild"),
    (re.compile(r"\bshape\b"), "form"),
    (re.compile(r"\bsheet\b"), "blad"),
    (re.compile(r"\bchart\b"), "diagram"),
    (re.compile(r"\bline\b"), "rad"),
]
_MESSAGES: list[tuple[re.Pattern[str], Callable[[Sequence[str | None]], str]]] = [
    (
        re.compile(
            r"unknown variable '([^']+)': '([^']+)' has no '([^']+)'"
            r"(?: \(did you mean '([^']+)'\?\))?"
        ),
        lambda g: (
            f"Okänd variabel ”{g[0]}”: ”{g[1]}” har ingen del som heter ”{g[2]}”"
            + (f" (menade du ”{g[3]}”?)" if g[3] else "")
        ),
    ),
    (
        re.compile(r"unknown variable '([^']+)'(?: \(did you mean '([^']+)'\?\))?"),
        lambda g: f"Okänd variabel ”{g[0]}”" + (f" (menade du ”{g[1]}”?)" if g[1] else ""),
    ),
    (
        re.compile(r"unknown filter '([^']+)'(?: \(did you mean '([^']+)'\?\))?"),
        lambda g: f"Okänt filter ”{g[0]}”" + (f" (menade du ”{g[1]}”?)" if g[1] else ""),
    ),
    (
        re.compile(r"unexpected '([^']+)'"),
        lambda g: (
            f"Oväntat tecken ”{g[0]}”: kontrollera att varje {{{{ … }}}} och {{% … %}} "
            "är hel och skriven på en rad"
        ),
    ),
    (
        re.compile(r"Unexpected end of template"),
        lambda g: "Ett block stängs aldrig: det saknas till exempel {% endif %} eller {% endfor %}",
    ),
    (
        re.compile(r"the file is the same as version (\d+)"),
        lambda g: f"Filen är likadan som version {g[0]}",
    ),
    (
        re.compile(r"the file is the same as the built-in template"),
        lambda g: "Filen är likadan som den inbyggda mallen",
    ),
]


def swedish_location(location: str) -> str:
    """A checker's location in Swedish words: ``brödtexten, stycke 6``."""
    for pattern, word in _LOCATION_WORDS:
        location = pattern.sub(word, location)
    return location


def swedish_problem(text: str) -> tuple[str, bool]:
    """A checker's message in Swedish, and whether it was translated (else it is English)."""
    for pattern, render in _MESSAGES:
        found = pattern.search(text)
        if found:
            return render(found.groups()), True
    return text, False


def _report_rows(report: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for item in report:
        text, translated = swedish_problem(str(item.get("message", "")))
        rows.append(
            {
                "location": swedish_location(str(item.get("location", ""))),
                "problem": text,
                "english": not translated,
                "error": item.get("severity", ERROR) == ERROR,
            }
        )
    return rows


def _kind_view(entry: KindTemplates) -> dict[str, Any]:
    spec = entry.spec
    return {
        "kind": spec.kind.value,
        "name": KIND_NAMES.get(spec.kind, spec.title),
        "format": FORMAT_NAMES.get(spec.office_format, spec.office_format),
        "suffix": spec.office_format,
        "active": entry.active,
        "activated_at": entry.activated_at,
        "activated_by": entry.activated_by,
        "versions": [
            {
                "row": version,
                "report": _report_rows(version.report),
                "errors": sum(1 for item in version.report if item.get("severity") == ERROR),
                "warnings": sum(1 for item in version.report if item.get("severity") != ERROR),
                "usable": not has_errors(version.report),
                "is_active": entry.active is not None and entry.active.id == version.id,
            }
            for version in entry.versions
        ],
    }


def _spec(kind: str) -> DocumentSpec:
    return spec_of(kind)  # NotFoundError -> the portal's 404 page


def _number(text: str) -> int:
    """A version number from the address; anything else is a page that does not exist."""
    if not text.isdigit() or len(text) > 9:
        raise NotFoundError(f"no version {text!r}")
    return int(text)


@router.get("/arrangor/mallar", response_class=HTMLResponse)
def templates_overview(request: Request, caller: OrganiserPageDep, session: SessionDep) -> Response:
    """Every kind with the template it renders with now and its earlier versions."""
    kinds = [_kind_view(entry) for entry in overview(session)]
    return page(request, "organiser/templates.html", {"kinds": kinds}, caller=caller)


def _kind_page(
    request: Request,
    caller: PortalCaller,
    runtime: Any,
    session: Any,
    kind: str,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    entry = kind_templates(session, kind)
    view = _kind_view(entry)
    shown_preview = None
    wanted = request.query_params.get("forhandsgranskning", "")
    if wanted.isdigit() and len(wanted) < 9:
        number = int(wanted)
        if any(v["row"].number == number for v in view["versions"]):
            document_key, image_key = preview_keys(entry.spec.kind, number)
            if runtime.files.exists(document_key):
                _, meeting, _, organisation = preview_target(session, entry.spec)
                shown_preview = {
                    "number": number,
                    "has_image": runtime.files.exists(image_key),
                    "meeting": meeting,
                    "organisation": organisation,
                }
    context = {
        "entry": view,
        "errors": errors or [],
        "preview": shown_preview,
        "max_size": runtime.settings.max_upload_bytes,
    }
    return page(
        request,
        "organiser/template_kind.html",
        context,
        caller=caller,
        status_code=status_code,
    )


@router.get("/arrangor/mallar/{kind}", response_class=HTMLResponse)
def kind_page(
    request: Request, kind: str, caller: OrganiserPageDep, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """A kind's versions, their reports, the upload form, previews and activation."""
    _spec(kind)
    return _kind_page(request, caller, runtime, session, kind)


@router.post("/arrangor/mallar/{kind}", response_class=HTMLResponse)
async def upload_page(
    request: Request,
    kind: str,
    caller: OrganiserPageDep,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    """Upload a new version: the gate, the checker, then back to the kind's page."""
    _spec(kind)  # an unknown kind: 404 before the body is read
    try:
        form = await read_upload_form(
            request, max_bytes=runtime.settings.max_upload_bytes, fields=["csrf_token"]
        )
    except InvalidInputError as exc:
        count_refused_upload(exc)
        # Nothing was read that could change anything: the form is shown again with why.
        messages = [problem.render(Language.SV) for problem in exc.problems]
        return await run_in_threadpool(
            _kind_page, request, caller, runtime, session, kind, errors=messages, status_code=422
        )
    verify_csrf(request, caller, form.fields.get("csrf_token"))
    # The gate, the checker and the page are synchronous (database, parsing, rendering): in the
    # thread pool, so the event loop keeps answering other requests meanwhile.
    return await run_in_threadpool(_store_version, request, caller, runtime, session, kind, form)


def _store_version(
    request: Request,
    caller: PortalCaller,
    runtime: Any,
    session: Any,
    kind: str,
    form: UploadForm,
) -> Response:
    """Store the uploaded version (its own transaction), or show the page again with why."""
    spec = _spec(kind)
    try:
        with unit_of_work(runtime.sessions) as work:
            version = upload_version(
                work,
                files=runtime.files,
                templates_dir=runtime.settings.templates_dir,
                kind=spec.kind,
                data=form.data,
                file_name=form.file_name,
                uploaded_by=caller.user_name or "arrangör",
                limits=limits_from_settings(runtime.settings),
                now=utcnow(),
            )
            number = version.number
    except InvalidInputError as exc:
        count_refused_upload(exc)
        messages = [problem.render(Language.SV) for problem in exc.problems]
        return _kind_page(request, caller, runtime, session, kind, errors=messages, status_code=422)
    return RedirectResponse(
        f"/arrangor/mallar/{spec.kind.value}?klart=mall-uppladdad#version-{number}",
        status.HTTP_303_SEE_OTHER,
    )


def _converter(runtime: Any) -> PdfConverter | None:
    try:
        return ColdLibreOfficeConverter(timeout_seconds=runtime.settings.pdf_timeout_seconds)
    except ConfigurationError:
        return None


@router.post("/arrangor/mallar/{kind}/versioner/{version}/forhandsgranska")
def preview_page(
    request: Request,
    kind: str,
    version: str,
    caller: OrganiserFormDep,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    """Render the document with this version for the first organisation; then show it."""
    spec = _spec(kind)
    number = _number(version)
    try:
        preview(
            runtime.sessions,
            files=runtime.files,
            templates=runtime.templates,
            kind=spec.kind,
            number=number,
            converter=_converter(runtime),
        )
    except ActivationRefusedError:
        raise NotFoundError("a version with errors has no preview") from None
    except GenerationError as exc:
        text = f"Förhandsgranskningen av version {number} misslyckades: {exc}"
        return _kind_page(request, caller, runtime, session, kind, errors=[text], status_code=422)
    return RedirectResponse(
        f"/arrangor/mallar/{spec.kind.value}?klart=forhandsgranskad&forhandsgranskning={number}"
        "#forhandsgranskning",
        status.HTTP_303_SEE_OTHER,
    )


@router.get("/arrangor/mallar/{kind}/versioner/{version}/forhandsgranskning.{suffix}")
def preview_file(
    kind: str,
    version: str,
    suffix: str,
    caller: OrganiserPageDep,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    """The preview document (download) or the PNG of its first page."""
    spec = _spec(kind)
    number = _number(version)
    get_version(session, spec.kind, number)
    document_key, image_key = preview_keys(spec.kind, number)
    if suffix == "png":
        key = image_key
    elif suffix == spec.office_format:
        key = document_key
    else:
        raise NotFoundError(f"no preview .{suffix}")
    data = runtime.files.get(key)
    if suffix == "png":  # shown in the page, not downloaded
        return Response(data, media_type=MEDIA_TYPES[suffix], headers={"Cache-Control": "no-store"})
    name = f"forhandsgranskning-{spec.kind.value}-version-{number}.{suffix}"
    return attachment(data, name=name, content_type=MEDIA_TYPES[suffix], default=name)


@router.get("/arrangor/mallar/{kind}/versioner/{version}/fil")
def version_file(
    kind: str, version: str, caller: OrganiserPageDep, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """The uploaded template file itself."""
    spec = _spec(kind)
    number = _number(version)
    row = get_version(session, spec.kind, number)
    name = f"{spec.kind.value}-version-{number}.{spec.office_format}"
    data = runtime.files.get(row.file_key)
    return attachment(data, name=name, content_type=MEDIA_TYPES[spec.office_format], default=name)


def _chosen(session: Any, spec: DocumentSpec, version: str) -> int | None:
    """The form's version: ``inbyggd`` or the number of an existing version (else 404)."""
    if version == BUILT_IN:
        return None
    return get_version(session, spec.kind, _number(version)).number


@router.get("/arrangor/mallar/{kind}/aktivera", response_class=HTMLResponse)
def confirm_page(
    request: Request,
    kind: str,
    caller: OrganiserPageDep,
    session: SessionDep,
    version: str = "",
) -> Response:
    """Ask before a version (or the built-in template) becomes the one documents use."""
    spec = _spec(kind)
    number = _chosen(session, spec, version)
    entry = _kind_view(kind_templates(session, spec.kind))
    chosen = next((v for v in entry["versions"] if v["row"].number == number), None)
    if chosen is not None and not chosen["usable"]:
        raise NotFoundError("a version with errors cannot be activated")
    newest = entry["versions"][0]["row"].number if entry["versions"] else None
    context = {
        "entry": entry,
        "chosen": chosen,
        "choice": version,
        "rollback": number is None or (newest is not None and number < newest),
    }
    return page(request, "organiser/template_activate.html", context, caller=caller)


@router.post("/arrangor/mallar/{kind}/aktivera")
def activate_page(
    kind: str,
    caller: OrganiserFormDep,
    runtime: RuntimeDep,
    session: SessionDep,
    version: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Activate the confirmed version (or the built-in), then back to the kind's page."""
    spec = _spec(kind)
    number = _chosen(session, spec, version)
    with runtime.sessions() as current:
        active = kind_templates(current, spec.kind).active
        newest = max((v.number for v in kind_templates(current, spec.kind).versions), default=0)
    try:
        with unit_of_work(runtime.sessions) as work:
            activate(
                work,
                kind=spec.kind,
                number=number,
                activated_by=caller.user_name or "arrangör",
                now=utcnow(),
            )
    except ActivationRefusedError:
        raise NotFoundError("a version with errors cannot be activated") from None
    rolled_back = (
        number is None or number < newest or (active is not None and number < active.number)
    )
    notice = "mall-aterstalld" if rolled_back else "mall-aktiverad"
    return RedirectResponse(
        f"/arrangor/mallar/{spec.kind.value}?klart={notice}", status.HTTP_303_SEE_OTHER
    )

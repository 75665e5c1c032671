"""The FastAPI application and the translation of domain errors to HTTP answers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from service import __version__
from service.api.body import BodyTooLargeError
from service.api.ids import ids_in_range
from service.api.language import request_language
from service.api.observability import install_observability
from service.api.portal.setup import (
    error_page,
    install_portal,
    invalid_request_page,
    is_portal_request,
    not_found_page,
)
from service.api.routes import (
    access,
    batches,
    entities,
    messages,
    programmes,
    regenerations,
    roster,
    uploads,
)
from service.api.timing import ServerTimingMiddleware
from service.change_detection.revision_cache import RevisionCache
from service.errors import (
    BenchdocsError,
    ConflictError,
    FileRejectedError,
    InvalidInputError,
    NotFoundError,
    Problem,
    RejectionReason,
    StoreFullError,
    StoreUnavailableError,
)
from service.intake.programme_import import json_path
from service.messages import Language, message, place
from service.observability.log_redaction import install_token_redaction
from service.observability.metrics import count_refused_upload
from service.runtime import Runtime
from service.settings import require_portal_address, require_secret_api_key

log = logging.getLogger(__name__)


_REJECTION_STATUS = {
    RejectionReason.TOO_LARGE: status.HTTP_413_CONTENT_TOO_LARGE,
    RejectionReason.ZIP_BOMB: status.HTTP_413_CONTENT_TOO_LARGE,
    RejectionReason.WRONG_TYPE: status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    RejectionReason.MACROS: status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    RejectionReason.ENCRYPTED: status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
}


def _problem_body(
    problems: list[tuple[str, str]], detail: str = "the request has invalid fields"
) -> dict[str, object]:
    return {
        "detail": detail,
        "errors": [{"path": path, "message": message} for path, message in problems],
    }


def _problems_in(problems: list[Problem], language: Language) -> list[dict[str, str]]:
    """Each problem in the reader's language; a catalogue one also with its code and place."""
    out = []
    for problem in problems:
        entry = {"path": problem.location, "message": problem.render(language)}
        if problem.text is not None:
            entry["code"] = problem.text.code
            entry["place"] = place(problem.location, language)
        out.append(entry)
    return out


def create_app(runtime: Runtime) -> FastAPI:
    """Build the app around an already wired runtime (tests pass their own)."""
    # Settings copied with model_copy skip get_settings' checks: the key is checked here too.
    require_secret_api_key(runtime.settings)
    require_portal_address(runtime.settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        release_observability()
        runtime.close()

    app = FastAPI(
        title="benchdocs",
        version=__version__,
        summary="Documents for SKR's benchmarking meetings, generated from templates.",
        lifespan=lifespan,
        # Before every route's own dependencies: no query ever sees an id past the column.
        dependencies=[Depends(ids_in_range)],
    )
    app.state.runtime = runtime
    app.state.answer_cache = RevisionCache[bytes]()
    install_token_redaction()

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if is_portal_request(request):
            return invalid_request_page(request, exc.errors())
        # The location starts with where the value came from ("body"); a field may itself be
        # called "body" (a message template's), so only the first is dropped.
        problems = [
            (
                json_path(list(err["loc"][1:] if err["loc"][:1] == ("body",) else err["loc"])),
                str(err["msg"]),
            )
            for err in exc.errors()
        ]
        detail = message("upload.invalid").render(request_language(request))
        return JSONResponse(_problem_body(problems, detail), status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(InvalidInputError)
    async def _invalid(request: Request, exc: InvalidInputError) -> JSONResponse:
        problems = [(p.location, p.message) for p in exc.problems]
        if isinstance(exc, BodyTooLargeError):
            body = _problem_body(problems, "the request body is too large")
            return JSONResponse(body, status.HTTP_413_CONTENT_TOO_LARGE)
        language = request_language(request)
        errors = _problems_in(exc.problems, language)
        if isinstance(exc, FileRejectedError):
            count_refused_upload(exc)
            code = _REJECTION_STATUS.get(exc.reason, status.HTTP_422_UNPROCESSABLE_CONTENT)
            reason = message(f"upload.reason.{exc.reason.value}")
            detail = message("upload.refused", reason=reason).render(language)
            return JSONResponse({"detail": detail, "errors": errors}, code)
        detail = message("upload.invalid").render(language)
        return JSONResponse(
            {"detail": detail, "errors": errors}, status.HTTP_422_UNPROCESSABLE_CONTENT
        )

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> Response:
        if is_portal_request(request):
            return not_found_page(request)
        text = exc.text
        detail = text.render(request_language(request)) if text is not None else str(exc)
        return JSONResponse({"detail": detail}, status.HTTP_404_NOT_FOUND)

    @app.exception_handler(ConflictError)
    async def _conflict(_r: Request, exc: ConflictError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status.HTTP_409_CONFLICT)

    @app.exception_handler(StoreFullError)
    async def _store_full(request: Request, exc: StoreFullError) -> Response:
        # 507 Insufficient Storage: nothing was stored; an operator must free space.
        log.error("file store full: %s", exc)
        headers = {"Retry-After": "300"}
        if is_portal_request(request):
            answer = error_page(
                request,
                status.HTTP_507_INSUFFICIENT_STORAGE,
                "Lagringsutrymmet är fullt",
                "Filen kunde inte sparas eftersom lagringsutrymmet är fullt. Ingenting sparades "
                "och inget tidigare har gått förlorat.",
                "Försök igen senare.",
                link=("/", "Till startsidan"),
            )
            answer.headers.update(headers)
            return answer
        detail = message("store.full").render(request_language(request))
        return JSONResponse({"detail": detail}, status.HTTP_507_INSUFFICIENT_STORAGE, headers)

    @app.exception_handler(StoreUnavailableError)
    async def _store_unavailable(request: Request, exc: StoreUnavailableError) -> Response:
        # Passing: the client may try again; the log names the store's own cause.
        log.warning("file store unavailable: %s", exc)
        headers = {"Retry-After": "30"}
        if is_portal_request(request):
            answer = error_page(
                request,
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "Filerna kan inte nås just nu",
                "Filerna kan inte hämtas eller sparas just nu. Ingenting har gått förlorat.",
                "Försök igen om en stund.",
                link=("/", "Till startsidan"),
            )
            answer.headers.update(headers)
            return answer
        detail = message("store.unavailable").render(request_language(request))
        return JSONResponse({"detail": detail}, status.HTTP_503_SERVICE_UNAVAILABLE, headers)

    @app.exception_handler(BenchdocsError)
    async def _other(_r: Request, exc: BenchdocsError) -> JSONResponse:
        log.exception("unhandled benchdocs error", exc_info=exc)
        return JSONResponse({"detail": "internal error"}, status.HTTP_500_INTERNAL_SERVER_ERROR)

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        """Liveness for load balancers and compose health checks."""
        return {"status": "ok", "version": __version__}

    for module in (
        programmes,
        entities,
        batches,
        access,
        uploads,
        roster,
        regenerations,
        messages,
    ):
        app.include_router(module.router, prefix="/api/v1")
    install_portal(app)
    release_observability = install_observability(app, runtime)
    # Added last, so it is outermost and times everything the app does.
    app.add_middleware(ServerTimingMiddleware)
    return app

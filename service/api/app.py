"""The FastAPI application and the translation of domain errors to HTTP answers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from service import __version__
from service.access.log_redaction import install_token_redaction
from service.api.body import BodyTooLargeError
from service.api.routes import (
    access,
    batches,
    entities,
    programmes,
    regenerations,
    roster,
    uploads,
)
from service.errors import (
    BenchdocsError,
    ConflictError,
    FileRejectedError,
    InvalidInputError,
    NotFoundError,
    RejectionReason,
)
from service.intake.programme_import import json_path
from service.runtime import Runtime
from service.settings import require_secret_api_key

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


def create_app(runtime: Runtime) -> FastAPI:
    """Build the app around an already wired runtime (tests pass their own)."""
    # Settings copied with model_copy skip get_settings' checks: the key is checked here too.
    require_secret_api_key(runtime.settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        runtime.close()

    app = FastAPI(
        title="benchdocs",
        version=__version__,
        summary="Documents for SKR's benchmarking meetings, generated from templates.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_token_redaction()

    @app.exception_handler(RequestValidationError)
    async def _validation(_r: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            (json_path([p for p in err["loc"] if p != "body"]), str(err["msg"]))
            for err in exc.errors()
        ]
        return JSONResponse(_problem_body(problems), status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(InvalidInputError)
    async def _invalid(_r: Request, exc: InvalidInputError) -> JSONResponse:
        problems = [(p.location, p.message) for p in exc.problems]
        if isinstance(exc, BodyTooLargeError):
            body = _problem_body(problems, "the request body is too large")
            return JSONResponse(body, status.HTTP_413_CONTENT_TOO_LARGE)
        if isinstance(exc, FileRejectedError):
            code = _REJECTION_STATUS.get(exc.reason, status.HTTP_422_UNPROCESSABLE_CONTENT)
            body = _problem_body(problems, f"the file was refused ({exc.reason.value})")
            return JSONResponse(body, code)
        return JSONResponse(_problem_body(problems), status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(NotFoundError)
    async def _not_found(_r: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status.HTTP_404_NOT_FOUND)

    @app.exception_handler(ConflictError)
    async def _conflict(_r: Request, exc: ConflictError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status.HTTP_409_CONFLICT)

    @app.exception_handler(BenchdocsError)
    async def _other(_r: Request, exc: BenchdocsError) -> JSONResponse:
        log.exception("unhandled benchdocs error", exc_info=exc)
        return JSONResponse({"detail": "internal error"}, status.HTTP_500_INTERNAL_SERVER_ERROR)

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        """Liveness for load balancers and compose health checks."""
        return {"status": "ok", "version": __version__}

    for module in (programmes, entities, batches, access, uploads, roster, regenerations):
        app.include_router(module.router, prefix="/api/v1")
    return app

"""``benchdocs health``: is this process's database, broker and file store usable? (exit 0 or 1)

Meant as a container health check: ``benchdocs health`` checks the components with this
process's settings; ``benchdocs health --url http://127.0.0.1:9101/readyz`` asks a running
process's probe (a worker's) instead, so the check also fails when that process is gone.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Annotated

import typer

from service.cli.base import EXIT_ERROR, console, err_console
from service.observability.readiness import broker_client, secret_words, standard_checker
from service.runtime import build_runtime
from service.settings import get_settings


def register(app: typer.Typer) -> None:
    """Add the command to the main app."""
    app.command("health")(health)


def health(
    url: Annotated[
        str | None,
        typer.Option(help="Ask this /readyz address instead of checking from here."),
    ] = None,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for --url.")] = 5.0,
) -> None:
    """Check readiness: each component's state; exit 1 naming what is missing."""
    if url is not None:
        components, ready = _ask(url, timeout=timeout)
    else:
        settings = get_settings()
        runtime = build_runtime(settings)
        broker = broker_client(
            settings.redis_url, timeout_seconds=settings.readiness_timeout_seconds
        )
        try:
            readiness = standard_checker(
                engine=runtime.engine,
                files=runtime.files,
                broker=broker,
                timeout_seconds=settings.readiness_timeout_seconds,
                secrets=secret_words(settings.database_url, settings.redis_url),
                store_min_free_bytes=settings.store_min_free_bytes,
            ).check()
        finally:
            broker.close()
            runtime.close()
        components = readiness.to_json()["components"]  # type: ignore[assignment]
        ready = readiness.ready
    for name, state in components.items():
        line = f"{name}: {state}"
        (console if state == "ok" else err_console).print(line, markup=False)
    if not ready:
        missing = ", ".join(name for name, state in components.items() if state != "ok")
        err_console.print(f"not ready: {missing or 'no answer'}", markup=False)
        raise typer.Exit(EXIT_ERROR)
    console.print("ready")


def _ask(url: str, *, timeout: float) -> tuple[dict[str, str], bool]:
    """A probe's components and whether it answered 200."""
    if not url.startswith(("http://", "https://")):
        raise typer.BadParameter("expected an http:// or https:// address", param_hint="--url")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - checked scheme
            body, ready = answer.read(), answer.status == 200
    except urllib.error.HTTPError as exc:
        body, ready = exc.read(), False
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return {"probe": f"no answer from {url}: {reason}"}, False
    try:
        components = json.loads(body).get("components", {})
    except (ValueError, AttributeError):
        components = {}
    if not isinstance(components, dict):
        components = {}
    return {str(k): str(v) for k, v in components.items()}, ready

"""docker-compose.yml says only what benchdocs understands: its settings, its commands, options.

Docker does not run here, so the file is read as YAML and checked against the code: every
``BENCHDOCS_*`` variable is a setting, every ``benchdocs`` or ``celery`` command line names
real subcommands and options, the health checks ask the probes the services serve.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest
import typer.main
import yaml
from celery.bin.celery import celery as celery_command

from service.cli.main import app as benchdocs_app
from service.settings import PROJECT_ROOT, Settings
from service.task_queue import WORKER_QUEUES

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
BENCHDOCS_SERVICES = ("api", "worker-render", "worker-pdf", "beat")
# Compose's ${NAME}, ${NAME:-default} and ${NAME:?message}.
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?]([^}]*))?\}")


@cache
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def services() -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"]
    return found


def interpolated(value: str) -> str:
    """A value as compose sees it with no variable set: defaults in place of variables."""
    return INTERPOLATION.sub(lambda match: match.group(2) or "", value)


def setting_names() -> set[str]:
    """Every environment variable Settings reads."""
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(f"BENCHDOCS_{name.upper()}")
        alias = field.validation_alias
        names.update(getattr(alias, "choices", []))
    return names


def benchdocs_command(words: list[str]) -> Any:
    """The click command a ``benchdocs ...`` line runs (subcommand groups followed).

    Typer carries a click of its own, so commands are told apart by what they have.
    """
    command: Any = typer.main.get_command(benchdocs_app)
    for word in words:
        if word.startswith("-") or not hasattr(command, "commands"):
            break
        assert word in command.commands, f"benchdocs has no command {word!r}"
        command = command.commands[word]
    return command


def options_of(command: Any) -> set[str]:
    return {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}


def given_options(words: list[str]) -> dict[str, str | None]:
    """The long options on a command line, each with the word after it (or None)."""
    given: dict[str, str | None] = {}
    for index, word in enumerate(words):
        if word.startswith("--"):
            name, _, inline = word.partition("=")
            follows = words[index + 1] if index + 1 < len(words) else None
            given[name] = inline or (
                None if follows is None or follows.startswith("-") else follows
            )
    return given


def test_the_file_has_the_object_store_and_workers_per_queue() -> None:
    assert set(services()) == {
        *BENCHDOCS_SERVICES,
        "redis",
        "postgres",
        "seaweedfs",
        "s3-bucket",
        "proxy",
    }


@pytest.mark.parametrize("service", BENCHDOCS_SERVICES)
def test_every_benchdocs_variable_is_a_setting(service: str) -> None:
    environment = services()[service]["environment"]
    known = setting_names()

    unknown = sorted(
        name for name in environment if name.startswith("BENCHDOCS_") and name not in known
    )

    assert not unknown, f"{service} sets variables no setting reads: {unknown}"
    assert {"DATABASE_URL", "REDIS_URL"} <= set(environment)


def test_the_variables_compose_reads_are_settings_or_its_own() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    own = {"POSTGRES_PASSWORD", "PDF_WORKER_CONCURRENCY"}

    read = {match.group(1) for match in INTERPOLATION.finditer(text)}

    assert not sorted(read - setting_names() - own)


@pytest.mark.parametrize("service", BENCHDOCS_SERVICES)
def test_every_command_names_real_subcommands_and_options(service: str) -> None:
    words = [interpolated(word) for word in services()[service]["command"]]
    program, arguments = words[0], words[1:]

    if program == "benchdocs":
        command = benchdocs_command(arguments)
    else:
        assert program == "celery" and arguments[:2] == ["-A", "workers.celery_app"]
        command = celery_command.commands[arguments[2]]
    given = given_options(arguments)

    assert set(given) <= options_of(command), (
        f"{service}: {sorted(set(given) - options_of(command))}"
    )
    if "--concurrency" in given:
        assert int(given["--concurrency"] or "") >= 1


def test_the_workers_split_the_queues_by_cost() -> None:
    queues = {
        name: given_options(services()[name]["command"])["--queues"]
        for name in ("worker-render", "worker-pdf")
    }

    assert queues == {"worker-render": "render,mail", "worker-pdf": "pdf"}
    consumed = {q for listed in queues.values() for q in (listed or "").split(",")}
    assert consumed == set(WORKER_QUEUES), "a queue nobody consumes"


def test_the_api_is_healthy_only_when_ready() -> None:
    check = services()["api"]["healthcheck"]["test"]

    assert check[0] == "CMD" and check[-1] == "http://127.0.0.1:8000/readyz"


@pytest.mark.parametrize("service", ["worker-render", "worker-pdf"])
def test_a_worker_is_checked_through_its_own_probe(service: str) -> None:
    definition = services()[service]
    port = definition["environment"]["BENCHDOCS_WORKER_PROBE_PORT"]
    check = definition["healthcheck"]["test"]

    assert check[:3] == ["CMD", "benchdocs", "health"]
    assert given_options(check[2:])["--url"] == f"http://127.0.0.1:{port}/readyz"
    assert {"--url"} <= options_of(benchdocs_command(["health"]))


def test_every_long_running_service_has_a_health_check_and_waits_for_what_it_needs() -> None:
    defined = services()
    for name, definition in defined.items():
        if definition.get("restart") != "no":
            assert "healthcheck" in definition, f"{name} has no health check"
        for needed in definition.get("depends_on", {}):
            assert needed in defined, f"{name} depends on unknown {needed}"


def test_the_benchdocs_services_share_the_bucket_and_no_file_volume() -> None:
    for name in BENCHDOCS_SERVICES:
        environment = services()[name]["environment"]
        volumes = services()[name].get("volumes", [])

        assert environment["BENCHDOCS_FILE_STORE"] == "s3"
        assert environment["BENCHDOCS_S3_ENDPOINT_URL"] == "http://seaweedfs:8333"
        assert not any("/data/files" in volume for volume in volumes), name


def test_the_object_store_sends_no_telemetry_and_serves_s3() -> None:
    command = services()["seaweedfs"]["command"]

    assert "-master.telemetry=false" in command
    assert "-s3" in command and "-s3.port=8333" in command
    declared = set(compose()["volumes"])
    for definition in services().values():
        for volume in definition.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):  # a file of the repository, mounted read-only
                assert (PROJECT_ROOT / source).is_file() and volume.endswith(":ro"), volume
                continue
            assert source in declared

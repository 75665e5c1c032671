"""Settings read once at start-up: production refuses the README's default organiser key."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from service.api.app import create_app
from service.cli.local_cluster import settings_environment
from service.errors import ConfigurationError
from service.runtime import build_runtime
from service.settings import PROJECT_ROOT, Settings, get_settings
from tests.conftest import RecordingQueue

REFUSED = r"BENCHDOCS_API_KEY is the default 'change-me'.*BENCHDOCS_ENVIRONMENT=production"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """A clean BENCHDOCS_ environment; settings are read afresh from it."""
    for name in list(os.environ):
        if name.startswith("BENCHDOCS_") or name in ("DATABASE_URL", "REDIS_URL"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BENCHDOCS_DATABASE_URL", f"sqlite:///{tmp_path / 'benchdocs.sqlite3'}")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_production_refuses_the_default_key_naming_the_variable(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("BENCHDOCS_ENVIRONMENT", "production")

    with pytest.raises(ConfigurationError, match=REFUSED):
        get_settings()


def test_production_starts_with_a_key_of_its_own(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("BENCHDOCS_ENVIRONMENT", "production")
    environment.setenv("BENCHDOCS_API_KEY", "a-long-secret-of-our-own")
    environment.setenv("BENCHDOCS_PARTICIPANT_URL", "https://benchdocs.example.se")

    settings = get_settings()

    assert settings.environment == "production"
    assert settings.api_key.get_secret_value() == "a-long-secret-of-our-own"


def test_production_refuses_to_start_without_the_portal_address_that_e_mail_links_need(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("BENCHDOCS_ENVIRONMENT", "production")
    environment.setenv("BENCHDOCS_API_KEY", "a-long-secret-of-our-own")

    with pytest.raises(ConfigurationError, match="BENCHDOCS_PARTICIPANT_URL is not set"):
        get_settings()


def test_the_demo_runs_with_the_default_key_in_development(
    environment: pytest.MonkeyPatch,
) -> None:
    settings = get_settings()

    assert settings.environment == "development"
    assert settings.api_key.get_secret_value() == "change-me"


def test_an_unknown_environment_is_refused_naming_the_variable(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("BENCHDOCS_ENVIRONMENT", "staging")

    with pytest.raises(ConfigurationError, match="BENCHDOCS_ENVIRONMENT: Input should be"):
        get_settings()


def test_the_app_refuses_to_be_built_with_the_default_key_in_production(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'benchdocs.sqlite3'}"
    # model_copy does not validate: the app must check on its own.
    copied = Settings(database_url=database_url).model_copy(update={"environment": "production"})
    own_key = copied.model_copy(
        update={
            "api_key": SecretStr("a-long-secret-of-our-own"),
            "participant_url": "https://benchdocs.example.se",
        }
    )

    with pytest.raises(ConfigurationError, match=REFUSED):
        create_app(build_runtime(copied, queue=RecordingQueue()))

    assert create_app(build_runtime(own_key, queue=RecordingQueue())).title == "benchdocs"


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "service.cli", "serve", "--port", "0"],
        ["-c", "import workers.celery_app"],
    ],
    ids=["api", "worker-and-beat"],
)
def test_no_process_starts_in_production_with_the_default_key(
    command: list[str], tmp_path: Path
) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "BENCHDOCS_ENVIRONMENT": "production",
        "BENCHDOCS_DATABASE_URL": f"sqlite:///{tmp_path / 'benchdocs.sqlite3'}",
    }

    # If the check were gone, serve would serve: the timeout turns that into a failure.
    started = subprocess.run(
        [sys.executable, *command],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert started.returncode != 0
    assert "BENCHDOCS_API_KEY is the default 'change-me'" in " ".join(started.stderr.split())
    assert not (tmp_path / "benchdocs.sqlite3").exists()  # refused before touching the database


def test_a_child_process_gets_the_same_settings_unset_ones_left_unset(
    environment: pytest.MonkeyPatch,
) -> None:
    settings = get_settings()
    assert settings.participant_url is None

    child = settings_environment(settings)

    assert "BENCHDOCS_PARTICIPANT_URL" not in child  # not "None", which the pattern refuses
    for name, value in child.items():
        environment.setenv(name, value)
    get_settings.cache_clear()
    assert get_settings() == settings


@pytest.mark.parametrize("setting", ["mail_from", "mail_reply_to"])
@pytest.mark.parametrize(
    "value", ["inte en adress", "a@b.se\r\nBcc: x@y.se", "Namn <>", "<a b@c.se>", "@skr.se"]
)
def test_a_sender_no_server_would_take_is_refused_at_start_naming_the_setting(
    setting: str, value: str
) -> None:
    with pytest.raises(ValidationError, match=setting):
        Settings(**{setting: value})


@pytest.mark.parametrize(
    "value", ["benchdocs@skr.se", "Benchmarking SKR <b@skr.se>", '"Dahl, Karin" <k@skr.se>']
)
def test_a_sender_as_name_and_address_or_an_address_is_taken(value: str) -> None:
    assert Settings(mail_from=value, mail_reply_to=value).mail_from == value


# -- the object store ---------------------------------------------------------------------------


def test_an_s3_store_without_bucket_or_keys_is_refused_naming_each_variable(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("BENCHDOCS_FILE_STORE", "s3")
    environment.setenv("BENCHDOCS_S3_ACCESS_KEY", "nyckel")

    with pytest.raises(
        ConfigurationError,
        match="BENCHDOCS_S3_BUCKET, BENCHDOCS_S3_SECRET_KEY not set; BENCHDOCS_FILE_STORE=s3",
    ):
        get_settings()


def test_an_s3_store_is_read_from_the_environment_with_its_secret_kept_secret(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("BENCHDOCS_FILE_STORE", "s3")
    environment.setenv("BENCHDOCS_S3_ENDPOINT_URL", "http://seaweedfs:8333")
    environment.setenv("BENCHDOCS_S3_BUCKET", "benchdocs-filer")
    environment.setenv("BENCHDOCS_S3_ACCESS_KEY", "nyckel")
    environment.setenv("BENCHDOCS_S3_SECRET_KEY", "mycket-hemlig")
    environment.setenv("BENCHDOCS_S3_KEY_PREFIX", "produktion/")
    environment.setenv("BENCHDOCS_S3_PRESIGNED_DOWNLOADS", "300")

    settings = get_settings()

    assert (settings.file_store, settings.s3_bucket, settings.s3_key_prefix) == (
        "s3",
        "benchdocs-filer",
        "produktion/",
    )
    assert settings.s3_presigned_downloads == 300
    assert "mycket-hemlig" not in repr(settings)
    assert settings_environment(settings)["BENCHDOCS_S3_SECRET_KEY"] == "mycket-hemlig"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BENCHDOCS_FILE_STORE", "ftp"),
        ("BENCHDOCS_S3_BUCKET", "Stora_Bokstäver"),
        ("BENCHDOCS_S3_KEY_PREFIX", "../utanfor/"),
        ("BENCHDOCS_S3_KEY_PREFIX", "a/./b"),
        ("BENCHDOCS_S3_KEY_PREFIX", "åäö/"),
        ("BENCHDOCS_S3_KEY_PREFIX", "/absolut"),
        ("BENCHDOCS_S3_ENDPOINT_URL", "seaweedfs:8333"),
        ("BENCHDOCS_S3_ADDRESSING_STYLE", "sideways"),
        ("BENCHDOCS_S3_MULTIPART_BYTES", "1000"),
        ("BENCHDOCS_S3_PRESIGNED_DOWNLOADS", "-1"),
    ],
)
def test_a_bad_object_store_setting_is_named(
    environment: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    environment.setenv(variable, value)

    with pytest.raises(ConfigurationError, match=variable):
        get_settings()

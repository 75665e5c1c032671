"""Typed settings, read once from the environment (prefix ``BENCHDOCS_`` or the usual names)."""

from __future__ import annotations

import email.utils
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, AliasChoices, Field, FilePath, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Printed in the README for the demo: anyone may know it, so production refuses it.
DEFAULT_API_KEY = "change-me"


def _mailbox(value: str) -> str:
    """A From or Reply-To: ``Name <address>`` or an address, on one line."""
    _name, address = email.utils.parseaddr(value)
    local, _at, domain = address.rpartition("@")
    one_line = "\r" not in value and "\n" not in value
    if not (one_line and local and domain) or any(c.isspace() for c in address):
        raise ValueError("expected 'Name <address>' or an e-mail address, on one line")
    return value


def _key_prefix(value: str) -> str:
    """A key prefix of plain path segments: no ``.`` or ``..`` (some stores resolve them)."""
    if any(part in (".", "..") for part in value.split("/")):
        raise ValueError("expected path segments without '.' or '..'")
    return value


# Checked at start-up: a sender no server takes would fail every message, one by one.
Mailbox = Annotated[str, AfterValidator(_mailbox)]


class Settings(BaseSettings):
    """Everything configurable about benchdocs; the defaults run embedded on one machine."""

    model_config = SettingsConfigDict(
        env_prefix="BENCHDOCS_", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'benchdocs.sqlite3'}",
        validation_alias=AliasChoices("DATABASE_URL", "BENCHDOCS_DATABASE_URL"),
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("REDIS_URL", "BENCHDOCS_REDIS_URL"),
    )
    # "production" refuses what only a demo may use, such as the default API key.
    environment: Literal["development", "production"] = "development"
    api_key: SecretStr = Field(
        default=SecretStr(DEFAULT_API_KEY),
        description="Organiser API key, sent as the X-API-Key header.",
    )
    file_store_dir: Path = PROJECT_ROOT / "var" / "files"
    templates_dir: Path = PROJECT_ROOT / "doc_templates"
    task_soft_time_limit_seconds: int = Field(default=120, ge=1)
    task_time_limit_seconds: int = Field(default=180, ge=2)
    # Office documents (not packs, not PDFs) sent to a worker in one message, rendered with
    # one claim, one snapshot and one record for all: 0.1-0.6 s of work, which shares the
    # task's and the database's cost per document (16 made a 300-organisation batch 6 %
    # faster than 8, 24 no faster than 16); 1 sends one at a time.
    render_chunk_documents: int = Field(default=16, ge=1, le=100)
    # A document queued or running for longer than this is presumed lost and re-sent.
    resend_after_seconds: int = Field(default=600, ge=1)
    # Must exceed the longest task; Redis re-delivers unacknowledged tasks only after it.
    broker_visibility_timeout_seconds: int = Field(default=3600, ge=10)
    max_import_bytes: int = Field(default=5_000_000, ge=1)
    # Uploads (checklists, decks, rosters): refused before parsing when over these limits.
    max_upload_bytes: int = Field(default=50_000_000, ge=1)
    max_unpacked_bytes: int = Field(default=300_000_000, ge=1)
    max_compression_ratio: float = Field(default=200.0, gt=1)
    max_zip_members: int = Field(default=5_000, ge=1)
    # Participants' access tokens expire after this many days unless issued for less.
    token_valid_days: int = Field(default=120, ge=1, le=3650)
    # The nightly regeneration: when (local time) and for which meetings.
    regeneration_time: str = Field(default="02:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    regeneration_timezone: str = "Europe/Stockholm"
    # A meeting's documents stay current from its round's start until this long after it.
    regeneration_days_after_meeting: int = Field(default=30, ge=0)
    # The run's lock expires after this, so a crashed run never blocks the next night.
    regeneration_lock_seconds: int = Field(default=3600, ge=10)
    # PDF conversion: a warm LibreOffice per worker process, restarted now and then.
    pdf_warm_converter: bool = True
    # With LibreOffice's start-up (up to 60 s) this stays under the task's soft time limit.
    pdf_timeout_seconds: float = Field(default=45.0, gt=0)
    pdf_restart_after: int = Field(default=200, ge=1)
    # Where participants reach benchdocs (with their organisation's token) to fetch their
    # documents and send back the filled checklist and deck; printed in the checklist's
    # instructions. Without it the instructions point to the link from the process leader.
    participant_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$", max_length=500)
    # The portal: how long a signed-in browser stays signed in, and how long it may be idle.
    portal_session_hours: int = Field(default=12, ge=1, le=24 * 30)
    portal_idle_minutes: int = Field(default=120, ge=5)
    # Session cookies are Secure when the request came over HTTPS (directly or, with
    # --proxy-headers, through a proxy); True forces it, for a proxy that does not say.
    portal_secure_cookies: bool | None = None
    # Named in the accessibility statement as where to report a problem (besides its form).
    accessibility_contact_email: str | None = Field(
        default=None, pattern=r"^[^@\s]+@[^@\s]+$", max_length=320
    )
    # Organisers' login: failures allowed per account and per client address in the window.
    login_failures_per_account: int = Field(default=5, ge=1)
    login_failures_per_client: int = Field(default=20, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    # E-mail. Without an SMTP host (the embedded default) messages are written as .eml files
    # to mail_outbox_dir instead of being sent; any mail program opens them.
    smtp_host: str | None = Field(default=None, max_length=253)
    smtp_port: int = Field(default=587, ge=1, le=65535)
    # starttls: plain connection upgraded (port 587); tls: TLS from the start (465); none: local.
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    # Certificates (PEM) to trust for the SMTP server besides the system's: a private CA's.
    smtp_ca_file: FilePath | None = None
    mail_from: Mailbox = Field(
        default="benchdocs <benchdocs@localhost>",
        description="The sender, as 'Name <address>' or an address.",
    )
    mail_reply_to: Mailbox | None = None
    mail_outbox_dir: Path = PROJECT_ROOT / "var" / "outbox"
    # The daily run that builds due invitations, reminders and late-upload notices.
    mail_time: str = Field(default="08:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    mail_timezone: str = "Europe/Stockholm"
    invitation_days_before: int = Field(default=14, ge=1, le=120)
    reminder_days_before_deadline: int = Field(default=3, ge=0, le=60)
    # Attempts at a message whose server answers "try later" (4xx, no connection) before it fails.
    mail_max_attempts: int = Field(default=8, ge=1, le=50)
    # The first retry of such a message waits this long; each next one twice as long.
    mail_retry_seconds: float = Field(default=15.0, gt=0, le=3600)
    # A message left "sending" this long (its worker died mid-send) is sent again, same Message-ID.
    mail_resend_after_seconds: int = Field(default=300, ge=10)
    # True: the daily run builds messages but holds them until an organiser sends them.
    mail_hold_new: bool = False
    # Logs: one line per event, plain text or one JSON object (time, level, logger, message
    # and the request, batch, document and message ids when known).
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Readiness (/readyz, `benchdocs health`): each component's check is given up after this.
    readiness_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    # A worker's main process serves /healthz, /readyz and /metrics on this port (off when
    # unset, as in the embedded demo); the host it binds to.
    worker_probe_port: int | None = Field(default=None, ge=1, le=65535)
    worker_probe_host: str = Field(default="127.0.0.1", max_length=253)
    # Where a prefork worker's processes keep their Prometheus samples, added up at a scrape;
    # emptied when the worker starts, so one directory per worker. The client library's own
    # name is taken too.
    metrics_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("BENCHDOCS_METRICS_DIR", "PROMETHEUS_MULTIPROC_DIR"),
    )
    # Object storage. "local" keeps files in file_store_dir (the embedded default, one machine
    # or a shared volume); "s3" keeps them in an S3-compatible bucket that the API and workers
    # on any host share (`benchdocs storage migrate` copies a local store into it).
    file_store: Literal["local", "s3"] = "local"
    # None: AWS's own endpoint for the region; else e.g. http://seaweedfs:8333.
    s3_endpoint_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+[^\s]*$")
    # Where browsers fetch presigned downloads, when they reach the store at another address.
    s3_public_endpoint_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+[^\s]*$")
    s3_bucket: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    s3_region: str = Field(default="us-east-1", pattern=r"^[a-z0-9-]{1,40}$")
    s3_access_key: str | None = Field(default=None, max_length=256)
    s3_secret_key: SecretStr | None = None
    # Keys are written under this prefix (several installations may share a bucket).
    s3_key_prefix: Annotated[str, AfterValidator(_key_prefix)] = Field(
        default="", max_length=200, pattern=r"^$|^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/?$"
    )
    # "path": http://host/bucket/key (SeaweedFS, MinIO); "virtual": http://bucket.host/key (AWS).
    s3_addressing_style: Literal["path", "virtual", "auto"] = "path"
    s3_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    s3_read_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # Attempts per request (the client's standard retry mode, with back-off) before a store
    # error reaches the caller: workers then retry the task, the API answers 503.
    s3_max_attempts: int = Field(default=3, ge=1, le=10)
    s3_max_pool_connections: int = Field(default=10, ge=1, le=200)
    # Larger files go up as a multipart upload (visible only once complete), in parts this big.
    s3_multipart_bytes: int = Field(default=16 * 1024 * 1024, ge=5 * 1024 * 1024)
    # Seconds an organiser's presigned download address stays valid; 0: every download goes
    # through the API. Participants' downloads always do (behind their access check).
    s3_presigned_downloads: int = Field(default=0, ge=0, le=7 * 24 * 3600)
    # -- Leases and failures (issue 16) --
    # A running document's lease: its worker renews it every third of this; a lease that
    # lapsed (the worker died or lost the database) is re-sent by the periodic resend.
    lease_seconds: float = Field(default=30.0, ge=1.0, le=3600.0)
    # How often beat and every worker process look for lapsed leases and failed-transient
    # documents to re-send.
    resend_interval_seconds: float = Field(default=15.0, ge=1.0, le=3600.0)
    # A document failed by a passing cause is re-sent after this, doubling per try up to the
    # maximum, at most ``transient_resend_limit`` times; then it waits for a person.
    transient_resend_seconds: float = Field(default=60.0, ge=0.0)
    transient_resend_max_seconds: float = Field(default=900.0, ge=0.0)
    transient_resend_limit: int = Field(default=20, ge=0)
    # Retries of a task that failed for a passing cause before the document is failed.
    task_max_retries: int = Field(default=5, ge=0, le=50)
    # /readyz reports the local file store full below this much free space.
    store_min_free_bytes: int = Field(default=50_000_000, ge=0)
    # LibreOffice's soffice (None: found on PATH).
    soffice_path: str | None = Field(default=None, max_length=1000)
    # The API as `benchdocs serve` runs it: processes (each with its own event loop, thread
    # pool and database pool), a cap on open connections per process (beyond it: 503), how
    # long a client may take to send a request's headers, and how long an idle kept-alive
    # connection stays open. A reverse proxy in front adds body timeouts (docs/operations.md).
    api_workers: int = Field(default=2, ge=1, le=64)
    api_limit_concurrency: int = Field(default=1000, ge=10, le=100_000)
    api_header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    api_keep_alive_seconds: int = Field(default=5, ge=1, le=300)
    api_graceful_shutdown_seconds: int = Field(default=20, ge=1, le=600)
    # Each process's database connections: kept open, extra under load, and how long a
    # request waits for one before failing.
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_max_overflow: int = Field(default=10, ge=0, le=200)
    database_pool_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # Failure injection for tests of lost workers; always 0 in production.
    debug_render_delay_seconds: float = Field(default=0.0, ge=0.0)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read settings once; a bad value fails here with the variable's name."""
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"BENCHDOCS_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid configuration: {problems}") from exc
    if settings.task_time_limit_seconds <= settings.task_soft_time_limit_seconds:
        raise ConfigurationError(
            "invalid configuration: BENCHDOCS_TASK_TIME_LIMIT_SECONDS must exceed "
            "BENCHDOCS_TASK_SOFT_TIME_LIMIT_SECONDS"
        )
    require_secret_api_key(settings)
    require_portal_address(settings)
    require_object_store(settings)
    return settings


def require_secret_api_key(settings: Settings) -> None:
    """Refuse the README's default organiser key anywhere but in development."""
    if settings.environment != "development" and (
        settings.api_key.get_secret_value() == DEFAULT_API_KEY
    ):
        raise ConfigurationError(
            f"invalid configuration: BENCHDOCS_API_KEY is the default {DEFAULT_API_KEY!r}, "
            f"which anyone can read in the README; with BENCHDOCS_ENVIRONMENT="
            f"{settings.environment} set BENCHDOCS_API_KEY to a secret of your own"
        )


def require_portal_address(settings: Settings) -> None:
    """Refuse production without the portal's public address: e-mail needs it for every link.

    In development links point to ``benchdocs serve``'s own address; in production a link to
    the wrong host would reach participants' inboxes and fail only when they click it.
    """
    if settings.environment != "development" and not settings.participant_url:
        raise ConfigurationError(
            "invalid configuration: BENCHDOCS_PARTICIPANT_URL is not set; with "
            f"BENCHDOCS_ENVIRONMENT={settings.environment} set it to the portal's public "
            "address (such as https://benchdocs.example.se), which every link in e-mail uses"
        )


def require_object_store(settings: Settings) -> None:
    """With ``BENCHDOCS_FILE_STORE=s3``, the bucket and both keys must be set."""
    if settings.file_store == "s3":
        require_s3_settings(settings, needed_by="BENCHDOCS_FILE_STORE=s3")


def require_s3_settings(settings: Settings, *, needed_by: str) -> None:
    """The bucket and both keys are set, else a ConfigurationError naming each missing one."""
    missing = [
        f"BENCHDOCS_S3_{name.upper()}"
        for name, value in (
            ("bucket", settings.s3_bucket),
            ("access_key", settings.s3_access_key),
            ("secret_key", settings.s3_secret_key),
        )
        if not value
    ]
    if missing:
        raise ConfigurationError(
            f"invalid configuration: {', '.join(missing)} not set; "
            f"{needed_by} needs the bucket and its access and secret keys"
        )

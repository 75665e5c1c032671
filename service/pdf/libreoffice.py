"""PDFs of the Office files we generate, made by LibreOffice: cold per file, or warm for many.

Two engines behind the ``PdfConverter`` interface:

- ``ColdLibreOfficeConverter`` runs ``soffice --headless --convert-to pdf`` once per file, with its
  own profile and working directory. About a second per file; needs nothing but LibreOffice.
- ``WarmLibreOfficeConverter`` keeps one LibreOffice running and sends it every file. LibreOffice
  is driven through UNO by a small bridge script run with the interpreter that has ``uno``
  (Debian's ``python3-uno`` for ``/usr/bin/python3``; our own interpreter usually cannot import
  it). The bridge starts LibreOffice in its own process group, loads each file hidden with macros
  and link updates off, stores it with the PDF export filter of its kind, and answers over pipes
  with one JSON line per request. A conversion that does not answer in time kills the whole
  group (TransientError); the next call starts a fresh LibreOffice, as it does after a crash and
  after ``restart_after`` conversions, which bounds LibreOffice's slow memory growth.

Both write tagged PDF (structure, alt texts, language). Writer takes the PDF's language from the
document; Impress and Calc take it from LibreOffice's locale, which our profile sets to ``sv-SE``.
Only documents benchdocs generated are converted: LibreOffice must never see an uploaded file.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil

from service.errors import ConfigurationError, RenderError, TransientError
from service.observability.metrics import count_libreoffice_restart, observe_pdf_conversion
from service.pdf.chart_alt_text import add_chart_alt_texts, chart_alt_texts
from service.pdf.converter import PdfConverter, UnavailableConverter
from service.settings import Settings

logger = logging.getLogger(__name__)

LIBREOFFICE_PACKAGES = (
    "libreoffice-core libreoffice-writer libreoffice-impress libreoffice-calc "
    "fonts-crosextra-carlito fonts-crosextra-caladea"
)
UNO_PACKAGE = "python3-uno"
DEFAULT_TIMEOUT_SECONDS = 90.0
DEFAULT_START_TIMEOUT_SECONDS = 60.0
DEFAULT_RESTART_AFTER = 200
DEFAULT_LOCALE = "sv-SE"

# Tagged PDF carries the structure, alt texts and document language (accessibility);
# comments and speaker notes stay out of the PDF a participant receives.
PDF_EXPORT_OPTIONS: dict[str, bool] = {
    "UseTaggedPDF": True,
    "ExportNotes": False,
    "ExportNotesPages": False,
    "ExportBookmarks": True,
}


@dataclass(frozen=True)
class DocumentFormat:
    """How LibreOffice imports one Office format and exports it as PDF."""

    extension: str
    main_part: str
    import_filter: str
    export_filter: str
    document_service: str


DOCUMENT_FORMATS: dict[str, DocumentFormat] = {
    f.extension: f
    for f in (
        DocumentFormat(
            "docx",
            "word/document.xml",
            "MS Word 2007 XML",
            "writer_pdf_Export",
            "com.sun.star.text.TextDocument",
        ),
        DocumentFormat(
            "pptx",
            "ppt/presentation.xml",
            "Impress MS PowerPoint 2007 XML",
            "impress_pdf_Export",
            "com.sun.star.presentation.PresentationDocument",
        ),
        DocumentFormat(
            "xlsx",
            "xl/workbook.xml",
            "Calc MS Excel 2007 XML",
            "calc_pdf_Export",
            "com.sun.star.sheet.SpreadsheetDocument",
        ),
    )
}


def document_format(source_format: str) -> DocumentFormat:
    """The conversion recipe for ``pptx``, ``docx`` or ``xlsx``; RenderError for anything else."""
    try:
        return DOCUMENT_FORMATS[source_format.lower()]
    except KeyError:
        known = ", ".join(sorted(DOCUMENT_FORMATS))
        raise RenderError(f"cannot convert {source_format!r} to PDF (only {known})") from None


def check_package(data: bytes, recipe: DocumentFormat) -> None:
    """RenderError unless ``data`` is an Office package of the expected kind.

    Checked before LibreOffice sees the file: LibreOffice turns a wrong file into an empty PDF
    as readily as it fails.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = set(package.namelist())
    except (zipfile.BadZipFile, ValueError):
        raise RenderError(f"not a {recipe.extension} file (not a zip package)") from None
    if recipe.main_part not in names:
        raise RenderError(f"not a {recipe.extension} file (it has no {recipe.main_part})")


def find_soffice(soffice: str | None = None) -> str:
    """The path of LibreOffice's ``soffice``; ConfigurationError naming the packages if missing."""
    candidates = [soffice] if soffice else ["soffice", "libreoffice"]
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    raise ConfigurationError(
        f"LibreOffice is needed for PDFs but {candidates[0]!r} was not found; "
        f"install it (Debian: apt-get install {LIBREOFFICE_PACKAGES})"
    )


def find_uno_python(soffice: str, uno_python: str | None = None) -> str | None:
    """An interpreter that can ``import uno`` for this LibreOffice, or None."""
    if uno_python:
        candidates = [uno_python]
    else:
        # An upstream LibreOffice ships its own Python beside soffice; Debian's is python3-uno.
        bundled = Path(soffice).resolve().parent / "python"
        candidates = [str(bundled), "/usr/bin/python3"]
    for candidate in candidates:
        if not Path(candidate).is_file():
            continue
        try:
            probe = subprocess.run(  # noqa: S603 - an interpreter path from config, fixed code
                [candidate, "-I", "-c", "import uno"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return candidate
    return None


def make_pdf_converter(
    *, warm: bool, timeout_seconds: float, restart_after: int, soffice_path: str | None = None
) -> PdfConverter:
    """The PDF converter a worker process uses; ConfigurationError if LibreOffice is missing.

    The warm converter needs ``python3-uno``; without it this falls back to the cold converter
    and logs a warning, since PDFs still come out right, only slower.
    """
    soffice = find_soffice(soffice_path)
    if warm:
        uno_python = find_uno_python(soffice)
        if uno_python is not None:
            return WarmLibreOfficeConverter(
                timeout_seconds=timeout_seconds,
                restart_after=restart_after,
                soffice=soffice,
                uno_python=uno_python,
            )
        logger.warning(
            "No Python with LibreOffice's uno module (Debian: apt-get install %s); converting "
            "each PDF with a cold LibreOffice instead, about a second slower per file",
            UNO_PACKAGE,
        )
    return ColdLibreOfficeConverter(timeout_seconds=timeout_seconds, soffice=soffice)


def configured_converter(settings: Settings) -> PdfConverter:
    """The converter the settings describe; ConfigurationError when LibreOffice is missing."""
    return make_pdf_converter(
        warm=settings.pdf_warm_converter,
        timeout_seconds=settings.pdf_timeout_seconds,
        restart_after=settings.pdf_restart_after,
        soffice_path=settings.soffice_path,
    )


def converter_for(settings: Settings) -> PdfConverter:
    """The converter a process uses as configured; without LibreOffice, one that fails each PDF.

    Office documents never need LibreOffice, so its absence must not stop a worker or a command.
    """
    try:
        return configured_converter(settings)
    except ConfigurationError as exc:
        logger.warning("PDF documents will fail: %s", exc)
        return UnavailableConverter(str(exc))


class ColdLibreOfficeConverter:
    """One ``soffice --convert-to pdf`` process per file: slow, simple, a fallback and baseline."""

    def __init__(
        self,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        soffice: str | None = None,
        locale: str = DEFAULT_LOCALE,
    ) -> None:
        _check_positive(timeout_seconds=timeout_seconds)
        self._soffice = find_soffice(soffice)
        self._timeout = timeout_seconds
        self._locale = _checked_locale(locale)

    def convert(self, data: bytes, *, source_format: str) -> bytes:
        """PDF bytes of ``data``; TransientError on a hang or crash, RenderError otherwise."""
        recipe = document_format(source_format)
        check_package(data, recipe)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="benchdocs-soffice-") as tmp:
            root = Path(tmp)
            profile = root / "profile"
            write_profile(profile, locale=self._locale)
            source = root / f"document.{recipe.extension}"
            source.write_bytes(data)
            out_dir = root / "out"
            out_dir.mkdir()
            command = [
                self._soffice,
                *_SOFFICE_FLAGS,
                f"-env:UserInstallation={profile.as_uri()}",
                f"--infilter={recipe.import_filter}",
                "--convert-to",
                f"pdf:{recipe.export_filter}:{_json_filter_options(PDF_EXPORT_OPTIONS)}",
                "--outdir",
                str(out_dir),
                str(source),
            ]
            log_path = root / "soffice.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(  # noqa: S603 - soffice, our own arguments
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=root,
                    start_new_session=True,
                )
                try:
                    returncode = process.wait(timeout=self._timeout)
                except subprocess.TimeoutExpired:
                    # Not reaped yet, so its process group id cannot have been reused.
                    sockets = _office_sockets(process.pid)
                    _kill_process_group(process.pid)
                    process.wait()
                    _remove_sockets(sockets)
                    raise TransientError(
                        f"LibreOffice did not convert the {recipe.extension} within "
                        f"{self._timeout:g} s and was killed"
                    ) from None
            output = log_path.read_text(encoding="utf-8", errors="replace")
            target = out_dir / "document.pdf"
            if target.is_file() and target.stat().st_size > 0:
                pdf = _checked_pdf(target.read_bytes(), recipe, source=data)
                observe_pdf_conversion(recipe.extension, time.perf_counter() - started)
                return pdf
        if returncode < 0 or (returncode != 0 and "could not be loaded" not in output):
            raise TransientError(
                f"LibreOffice exited with {returncode} converting a {recipe.extension}: "
                f"{_tail(output)}"
            )
        raise RenderError(
            f"LibreOffice could not convert the {recipe.extension} to PDF: {_tail(output)}"
        )


class WarmLibreOfficeConverter:
    """Converts many files through one LibreOffice, started on first use and restarted often.

    Thread-safe: conversions through one instance run one at a time. ``close()`` stops
    LibreOffice; a later ``convert`` would start a new one.
    """

    def __init__(
        self,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        restart_after: int = DEFAULT_RESTART_AFTER,
        start_timeout_seconds: float = DEFAULT_START_TIMEOUT_SECONDS,
        soffice: str | None = None,
        uno_python: str | None = None,
        locale: str = DEFAULT_LOCALE,
    ) -> None:
        _check_positive(
            timeout_seconds=timeout_seconds, start_timeout_seconds=start_timeout_seconds
        )
        if restart_after < 1:
            raise ConfigurationError(f"restart_after must be at least 1, not {restart_after}")
        self._soffice = find_soffice(soffice)
        found = find_uno_python(self._soffice, uno_python)
        if found is None:
            raise ConfigurationError(
                f"the warm PDF converter needs LibreOffice's uno module for Python "
                f"(Debian: apt-get install {UNO_PACKAGE}); none found"
                + (f" for {uno_python}" if uno_python else "")
            )
        self._uno_python = found
        self._timeout = timeout_seconds
        self._start_timeout = start_timeout_seconds
        self._restart_after = restart_after
        self._locale = _checked_locale(locale)
        self._lock = threading.Lock()
        self._office: _Office | None = None
        self._conversions = 0
        # Why the next start is a restart (None: the first start, or after close()).
        self._restart_reason: str | None = None

    @property
    def office_pid(self) -> int | None:
        """The process id of the running ``soffice.bin``, or None when none runs."""
        office = self._office  # read without the lock: never blocks behind a conversion
        return office.office_pid if office is not None else None

    def convert(self, data: bytes, *, source_format: str) -> bytes:
        """PDF bytes of ``data``; TransientError on a hang or crash, RenderError otherwise."""
        recipe = document_format(source_format)
        check_package(data, recipe)
        with self._lock:
            office = self._ready_office()
            self._conversions += 1
            started = time.perf_counter()
            try:
                pdf = office.convert(data, recipe, timeout=self._timeout)
            except TransientError:
                logger.warning("LibreOffice %s failed; killing it", office.office_pid)
                self._discard_office(graceful=False)
                self._restart_reason = "failed"
                raise
            observe_pdf_conversion(recipe.extension, time.perf_counter() - started)
            return pdf

    def close(self) -> None:
        """Stop LibreOffice, leaving no process and no temporary files behind."""
        with self._lock:
            self._discard_office(graceful=True)
            self._restart_reason = None

    def __enter__(self) -> WarmLibreOfficeConverter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _ready_office(self) -> _Office:
        office = self._office
        if office is not None and self._conversions >= self._restart_after:
            logger.info("Restarting LibreOffice after %d conversions", self._conversions)
            self._discard_office(graceful=True)
            self._restart_reason = "recycled"
        elif office is not None and not office.is_alive():
            logger.warning("LibreOffice %s died between conversions; restarting", office.office_pid)
            self._discard_office(graceful=False)
            self._restart_reason = "died"
        if self._office is None:
            if self._restart_reason is not None:
                count_libreoffice_restart(self._restart_reason)
                self._restart_reason = None
            self._office = _Office.start(
                soffice=self._soffice,
                uno_python=self._uno_python,
                locale=self._locale,
                timeout=self._start_timeout,
            )
            self._conversions = 0
        return self._office

    def _discard_office(self, *, graceful: bool) -> None:
        office, self._office = self._office, None
        if office is not None:
            office.stop(graceful=graceful)


class _Office:
    """One LibreOffice and the UNO bridge that drives it, in a process group of their own."""

    def __init__(self, process: subprocess.Popen[bytes], root: Path) -> None:
        self._process = process
        self._root = root
        self._buffer = b""
        self.office_pid: int | None = None
        self._office_process: Any = None
        self._sockets: list[str] = []

    @classmethod
    def start(cls, *, soffice: str, uno_python: str, locale: str, timeout: float) -> _Office:
        root = Path(tempfile.mkdtemp(prefix="benchdocs-libreoffice-"))
        profile = root / "profile"
        write_profile(profile, locale=locale)
        (root / "work").mkdir()
        bridge = UNO_BRIDGE
        config = {
            "soffice": soffice,
            "flags": [*_SOFFICE_FLAGS, f"-env:UserInstallation={profile.as_uri()}"],
            # A pipe, not a TCP port: nothing else on the machine can reach this LibreOffice.
            "pipe": f"benchdocs_{os.getpid()}_{uuid.uuid4().hex[:16]}",
        }
        try:
            with (root / "office.log").open("wb") as log:
                process = subprocess.Popen(  # noqa: S603 - uno interpreter, our own bridge
                    [uno_python, "-I", str(bridge), json.dumps(config)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    cwd=root,
                    start_new_session=True,
                )
        except OSError as error:
            shutil.rmtree(root, ignore_errors=True)
            raise ConfigurationError(f"cannot run {uno_python} for LibreOffice: {error}") from error
        office = cls(process, root)
        started = time.monotonic()
        try:
            hello = office._read_message(deadline=started + timeout, doing="starting")
            if not hello.get("ready"):
                raise TransientError(f"LibreOffice did not start: {hello.get('message')}")
        except BaseException:
            office.stop(graceful=False)
            raise
        office._find_office_process(hello)
        # Noted now: a LibreOffice that crashed or was killed leaves them behind.
        office._sockets = _office_sockets(process.pid)
        logger.info(
            "LibreOffice %s started in %.1f s", office.office_pid, time.monotonic() - started
        )
        return office

    def convert(self, data: bytes, recipe: DocumentFormat, *, timeout: float) -> bytes:
        # One working directory per conversion, always removed.
        with tempfile.TemporaryDirectory(dir=self._root / "work") as tmp:
            source = Path(tmp) / f"document.{recipe.extension}"
            target = Path(tmp) / "document.pdf"
            source.write_bytes(data)
            reply = self._ask(
                {
                    "source": str(source),
                    "target": str(target),
                    "import_filter": recipe.import_filter,
                    "export_filter": recipe.export_filter,
                    "document_service": recipe.document_service,
                    "filter_data": PDF_EXPORT_OPTIONS,
                },
                timeout=timeout,
                doing=f"converting a {recipe.extension}",
            )
            if reply.get("ok"):
                if not target.is_file():
                    raise RenderError(f"LibreOffice wrote no PDF for the {recipe.extension}")
                return _checked_pdf(target.read_bytes(), recipe, source=data)
            message = f"{reply.get('message')}"
            if reply.get("error") == "render":
                raise RenderError(message)
            raise TransientError(message)

    def is_alive(self) -> bool:
        """Whether the bridge and LibreOffice both still run (without reaping the bridge)."""
        try:
            exited = os.waitid(os.P_PID, self._process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return False
        if exited is not None:
            return False
        try:
            return bool(
                self._office_process is not None
                and self._office_process.is_running()
                and self._office_process.status() != psutil.STATUS_ZOMBIE
            )
        except psutil.Error:
            return False

    def stop(self, *, graceful: bool) -> None:
        """Stop LibreOffice (politely first if ``graceful``), then sweep its process group."""
        try:
            if graceful and self.is_alive():
                try:
                    self._send({"quit": True})
                    self._wait_for_end_of_output(deadline=time.monotonic() + 15)
                except TransientError:
                    pass
            # The bridge is not reaped yet, so the group id is still ours to kill.
            _kill_process_group(self._process.pid)
            self._process.wait()
            _remove_sockets(self._sockets)
            if self._office_process is not None:
                # soffice.bin is the bridge's grandchild; make sure it went with the group.
                _wait_until_gone(self._office_process, timeout=10)
        finally:
            for stream in (self._process.stdin, self._process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            shutil.rmtree(self._root, ignore_errors=True)

    def _find_office_process(self, hello: dict[str, Any]) -> None:
        try:
            bridge = psutil.Process(self._process.pid)
            for child in bridge.children(recursive=True):
                if child.name() == "soffice.bin":
                    self._office_process = child
                    break
            else:
                self._office_process = psutil.Process(int(hello["office_pid"]))
        except (psutil.Error, KeyError, ValueError):
            self._office_process = None
        self.office_pid = self._office_process.pid if self._office_process is not None else None

    def _ask(self, request: dict[str, Any], *, timeout: float, doing: str) -> dict[str, Any]:
        self._send(request)
        return self._read_message(deadline=time.monotonic() + timeout, doing=doing)

    def _send(self, message: dict[str, Any]) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(message).encode("ascii") + b"\n")
            stdin.flush()
        except OSError as error:
            raise TransientError(f"the LibreOffice bridge is gone: {error}") from error

    def _read_message(self, *, deadline: float, doing: str) -> dict[str, Any]:
        stdout = self._process.stdout
        assert stdout is not None
        fd = stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransientError(f"LibreOffice hung {doing} and was killed")
            readable, _, _ = select.select([fd], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise TransientError(
                    f"LibreOffice exited while {doing}: {_tail(self._log())}".rstrip(": ")
                )
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            message = json.loads(line)
        except ValueError as error:
            raise TransientError(f"the LibreOffice bridge said {line[:200]!r}") from error
        if not isinstance(message, dict):
            raise TransientError(f"the LibreOffice bridge said {line[:200]!r}")
        return message

    def _wait_for_end_of_output(self, *, deadline: float) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        fd = stdout.fileno()
        while (remaining := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([fd], [], [], remaining)
            if readable and not os.read(fd, 65536):
                return

    def _log(self) -> str:
        try:
            return (self._root / "office.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


_SOFFICE_FLAGS = (
    "--headless",
    "--invisible",
    "--nologo",
    "--nodefault",
    "--norestore",
    "--nolockcheck",
    "--nofirststartwizard",
)

_PROFILE_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooSetupSystemLocale" oor:op="fuse"><value>{locale}</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Writer/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>1</value></prop></item>
</oor:items>
"""  # noqa: E501


def write_profile(profile: Path, *, locale: str) -> None:
    """A fresh LibreOffice user profile: our locale; macros, remote links and link updates off.

    The warm converter also passes MacroExecutionMode and UpdateDocMode when loading; for the
    cold converter, whose loading we cannot configure, these settings are the only fence.
    (Writer's link mode 0 and Calc's 1 both mean "never".)
    """
    user = profile / "user"
    user.mkdir(parents=True)
    settings = _PROFILE_TEMPLATE.format(locale=_checked_locale(locale))
    (user / "registrymodifications.xcu").write_text(settings, encoding="utf-8")


def _checked_locale(locale: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", locale):
        raise ConfigurationError(f"not a language tag: {locale!r} (expected e.g. sv-SE)")
    return locale


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ConfigurationError(f"{name} must be positive, not {value}")


def _json_filter_options(options: dict[str, bool]) -> str:
    """Filter options in the JSON form ``soffice --convert-to`` accepts since LibreOffice 7.4."""
    typed = {
        name: {"type": "boolean", "value": str(value).lower()} for name, value in options.items()
    }
    return json.dumps(typed, separators=(",", ":"))


def _checked_pdf(pdf: bytes, recipe: DocumentFormat, *, source: bytes) -> bytes:
    """The PDF LibreOffice wrote; a presentation's charts get back the alt text it dropped."""
    if not pdf.startswith(b"%PDF-"):
        raise RenderError(
            f"LibreOffice wrote something other than a PDF for the {recipe.extension}"
        )
    if recipe.extension == "pptx":
        return add_chart_alt_texts(pdf, chart_alt_texts(source))
    return pdf


def _kill_process_group(pgid: int) -> None:
    # Killing soffice alone can leave soffice.bin running at full CPU: kill the whole group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _office_sockets(root_pid: int) -> list[str]:
    """The pipe sockets LibreOffice listens on under /tmp, which a killed one leaves behind."""
    paths: list[str] = []
    try:
        root = psutil.Process(root_pid)
        for process in [root, *root.children(recursive=True)]:
            for connection in process.net_connections(kind="unix"):
                path = connection.laddr
                if isinstance(path, str) and Path(path).name.startswith("OSL_PIPE_"):
                    paths.append(path)
    except psutil.Error:
        pass
    return paths


def _wait_until_gone(process: Any, *, timeout: float) -> None:
    # A zombie counts as gone: whoever inherited the orphan reaps it in its own time.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not process.is_running() or process.status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.Error:
            return
        time.sleep(0.02)


def _remove_sockets(paths: list[str]) -> None:
    for path in paths:
        Path(path).unlink(missing_ok=True)


def _tail(text: str, lines: int = 5) -> str:
    kept = [line for line in text.strip().splitlines() if "javaldx" not in line]
    return " | ".join(kept[-lines:])


UNO_BRIDGE = Path(__file__).resolve().parent / "uno_bridge.py"


@functools.cache
def installed_libreoffice() -> str | None:
    """Product, build and library size of the LibreOffice on the PATH; None when there is none.

    Read from the installation's files, without starting it: what a document's fingerprint
    needs to tell that PDFs would now come from another LibreOffice.
    """
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return None
    program = Path(soffice).resolve().parent
    product = _ini_value(program / "bootstraprc", "ProductKey") or "LibreOffice"
    build = _ini_value(program / "versionrc", "buildid") or "unknown build"
    library = program / "libmergedlo.so"
    size = library.stat().st_size if library.is_file() else 0
    return f"{product} ({build}, {size} bytes)"


def _ini_value(path: Path, key: str) -> str | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, value = line.partition("=")
        if name.strip() == key:
            return value.strip()
    return None

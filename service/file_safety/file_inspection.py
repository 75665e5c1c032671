"""Check an uploaded file before any parser sees it: what it really is, and that it is safe.

Every upload path calls ``inspect_upload`` first. The type comes from the content, never from
the name or the client's content type:

- a zip is taken for an Office Open XML package. Its directory is judged before anything is
  unpacked (member count, declared total, compression ratios, overlapping members, nested
  archives); then every member is inflated in bounded slices that stop past the declared size,
  every XML part is parsed without a DTD, and an embedded package (a chart's workbook in a
  deck) is checked the same way, one level deep. Only then does the main part's content type
  say what the file is; macros (VBA, Excel 4.0 sheets), ActiveX controls and OLE objects are
  refused, and the name's extension must agree with the content;
- an OLE2 compound file is either an encrypted OOXML package or a 97-2003 file: both refused,
  each with the way out;
- PDF, images, HTML, other archives are named and refused;
- anything else may be CSV where CSV is accepted: text without NUL bytes, UTF-8 (with or
  without a byte-order mark), UTF-16 with a byte-order mark, or Windows-1252. Windows-1252 is
  accepted because Swedish Excel's "CSV (semikolonavgränsad)" saves in it without a BOM; it is
  tried only when the bytes are not valid UTF-8, which text with å, ä or ö in Windows-1252
  never is, so the two are told apart reliably. Line count and line length are capped.

Each refusal is a FileRejectedError with one precise, actionable problem at location ``file``.
"""

from __future__ import annotations

import codecs
import posixpath
import re
import struct
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, NoReturn

from defusedxml import ElementTree as SafeElementTree

from service.errors import FileRejectedError, Problem, RejectionReason
from service.file_safety.xml_guard import MarkupScan, XmlPartCheck
from service.file_safety.zip_guard import (
    LOCAL_HEADER_SIGNATURE,
    RATIO_GRACE_BYTES,
    ZipMember,
    bomb,
    damaged,
    describe_size,
    inflate,
    read_member,
    read_members,
)

if TYPE_CHECKING:
    from service.settings import Settings


class FileType(StrEnum):
    """File types benchdocs accepts as uploads."""

    XLSX = "xlsx"
    PPTX = "pptx"
    CSV = "csv"


@dataclass(frozen=True)
class UploadLimits:
    """Caps checked before parsing (see Settings for the defaults)."""

    max_bytes: int
    max_unpacked_bytes: int
    max_compression_ratio: float
    max_members: int
    # A roster has hundreds of lines of well under a thousand characters.
    max_csv_lines: int = 100_000
    max_csv_line_chars: int = 65_536
    # An embedded package (a chart's workbook in a deck) is unpacked in memory to be checked.
    max_embedded_bytes: int = 20_000_000


@dataclass(frozen=True)
class InspectedFile:
    """A file that passed inspection: its type as found from its content, and its bytes."""

    file_type: FileType
    data: bytes
    file_name: str
    # CSV only: the text encoding found ("UTF-8", "UTF-16" or "Windows-1252").
    encoding: str | None = None


def limits_from_settings(settings: Settings) -> UploadLimits:
    """The upload caps configured in settings."""
    return UploadLimits(
        max_bytes=settings.max_upload_bytes,
        max_unpacked_bytes=settings.max_unpacked_bytes,
        max_compression_ratio=settings.max_compression_ratio,
        max_members=settings.max_zip_members,
    )


def inspect_upload(
    data: bytes, *, file_name: str, accepted: Collection[FileType], limits: UploadLimits
) -> InspectedFile:
    """Refuse with FileRejectedError, or say what the file is; nothing is parsed yet."""
    shown_name = display_file_name(file_name)
    extension = _extension(shown_name)
    if not data:
        _refuse(
            RejectionReason.EMPTY,
            "the file is empty (0 bytes): check that it was saved, then upload it again",
        )
    if len(data) > limits.max_bytes:
        size, limit = describe_size(len(data)), describe_size(limits.max_bytes)
        if size == limit:  # just over: rounding would print "50 MB, more than 50 MB"
            size, limit = f"{len(data):,} bytes", f"{limit} ({limits.max_bytes:,} bytes)"
        _refuse(
            RejectionReason.TOO_LARGE,
            f"the file is {size}, more than the upload limit of {limit}: make it smaller "
            "(compress its pictures, say) and upload again",
        )
    wanted = _expected(accepted)
    if data.startswith(LOCAL_HEADER_SIGNATURE):
        file_type = _inspect_package(
            data, extension=extension, accepted=accepted, wanted=wanted, limits=limits
        )
        return InspectedFile(file_type, data, shown_name or f"upload.{file_type}")
    if data.startswith(_OLE_SIGNATURE):
        _refuse_compound_file(data, accepted=accepted, wanted=wanted)
    if (binary := _binary_kind(data[:64])) is not None:
        _refuse(RejectionReason.WRONG_TYPE, f"this is {binary}, not {wanted}")
    if (markup := _markup_kind(data[:1024])) is not None:
        label, advice = markup
        _refuse(RejectionReason.WRONG_TYPE, f"this is {label}, not {wanted}{advice}")
    _refuse_text_named_as_office(data, extension=extension, accepted=accepted, wanted=wanted)
    encoding = _check_csv(data, limits)
    return InspectedFile(FileType.CSV, data, shown_name or "upload.csv", encoding)


# -- file names ---------------------------------------------------------------------------

MAX_DISPLAY_NAME_CHARS = 150
# Zero-width joiners hold emoji sequences together; other format characters (bidi overrides
# that make "xlsx.exe" read as "exe.xlsx") are dropped, emoji tag characters excepted.
_KEPT_FORMAT_CHARACTERS = frozenset({"\u200c", "\u200d"})
_DROPPED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_WHITESPACE_CONTROLS = frozenset("\t\r\n\v\f")


def display_file_name(name: str) -> str:
    """The client's file name as one harmless segment: no path, no control or bidi characters.

    Letters of any script, åäö and emoji are kept; the length is capped with the extension
    kept. Empty when nothing is left.
    """
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(" " if ch in _WHITESPACE_CONTROLS else ch for ch in name if _kept(ch))
    name = " ".join(name.split()).strip(" .")
    if len(name) > MAX_DISPLAY_NAME_CHARS:
        stem, dot, suffix = name.rpartition(".")
        if dot and 0 < len(suffix) <= 10:
            name = f"{stem[: MAX_DISPLAY_NAME_CHARS - len(suffix) - 1].rstrip()}.{suffix}"
        else:
            name = name[:MAX_DISPLAY_NAME_CHARS].rstrip()
    return name


def _kept(ch: str) -> bool:
    if ch in _WHITESPACE_CONTROLS:
        return True  # becomes a space
    category = unicodedata.category(ch)
    if category == "Cf":
        # Tag characters spell out subdivision flags such as England's.
        return ch in _KEPT_FORMAT_CHARACTERS or "\U000e0020" <= ch <= "\U000e007f"
    return category not in _DROPPED_CATEGORIES


def _extension(name: str) -> str:
    stem, dot, suffix = name.rpartition(".")
    return suffix.casefold() if dot and stem else ""


# -- what the endpoint wants ----------------------------------------------------------------

_ACCEPTED_LABELS = {
    FileType.XLSX: "an Excel workbook (.xlsx)",
    FileType.PPTX: "a PowerPoint presentation (.pptx)",
    FileType.CSV: "a CSV file (.csv)",
}
_PLAIN_LABELS = {
    FileType.XLSX: "an ordinary Excel workbook (.xlsx)",
    FileType.PPTX: "an ordinary PowerPoint presentation (.pptx)",
}
_CSV_EXTENSIONS = frozenset({"", "csv", "txt", "tsv"})


def _expected(accepted: Collection[FileType]) -> str:
    return " or ".join(label for kind, label in _ACCEPTED_LABELS.items() if kind in accepted)


def _refuse(reason: RejectionReason, message: str) -> NoReturn:
    raise FileRejectedError(reason, [Problem("file", message)])


# -- Office Open XML packages ---------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    """What an OOXML main part's content type says the package is."""

    noun: str
    extension: str
    family: str
    plain: bool = False
    macro: bool = False

    @property
    def label(self) -> str:
        article = "an" if self.noun[0] in "AEIOUaeiou" else "a"
        return f"{article} {self.noun} (.{self.extension})"


_SML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PML = "application/vnd.openxmlformats-officedocument.presentationml"
_WML = "application/vnd.openxmlformats-officedocument.wordprocessingml"
_KINDS = {
    f"{_SML}.sheet.main+xml": _Kind("Excel workbook", "xlsx", "spreadsheet", plain=True),
    f"{_SML}.template.main+xml": _Kind("Excel template", "xltx", "spreadsheet"),
    "application/vnd.ms-excel.sheet.binary.macroenabled.main": _Kind(
        "Excel binary workbook", "xlsb", "spreadsheet"
    ),
    "application/vnd.ms-excel.sheet.macroenabled.main+xml": _Kind(
        "macro-enabled workbook", "xlsm", "spreadsheet", macro=True
    ),
    "application/vnd.ms-excel.template.macroenabled.main+xml": _Kind(
        "macro-enabled Excel template", "xltm", "spreadsheet", macro=True
    ),
    "application/vnd.ms-excel.addin.macroenabled.main+xml": _Kind(
        "Excel add-in", "xlam", "spreadsheet", macro=True
    ),
    f"{_PML}.presentation.main+xml": _Kind(
        "PowerPoint presentation", "pptx", "presentation", plain=True
    ),
    f"{_PML}.slideshow.main+xml": _Kind("PowerPoint slide show", "ppsx", "presentation"),
    f"{_PML}.template.main+xml": _Kind("PowerPoint template", "potx", "presentation"),
    "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml": _Kind(
        "macro-enabled presentation", "pptm", "presentation", macro=True
    ),
    "application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml": _Kind(
        "macro-enabled slide show", "ppsm", "presentation", macro=True
    ),
    "application/vnd.ms-powerpoint.template.macroenabled.main+xml": _Kind(
        "macro-enabled PowerPoint template", "potm", "presentation", macro=True
    ),
    "application/vnd.ms-powerpoint.addin.macroenabled.main+xml": _Kind(
        "PowerPoint add-in", "ppam", "presentation", macro=True
    ),
    f"{_WML}.document.main+xml": _Kind("Word document", "docx", "word"),
    f"{_WML}.template.main+xml": _Kind("Word template", "dotx", "word"),
    "application/vnd.ms-word.document.macroenabled.main+xml": _Kind(
        "macro-enabled Word document", "docm", "word", macro=True
    ),
    "application/vnd.ms-word.template.macroenabledtemplate.main+xml": _Kind(
        "macro-enabled Word template", "dotm", "word", macro=True
    ),
    "application/vnd.ms-visio.drawing.main+xml": _Kind("Visio drawing", "vsdx", "visio"),
}
_FAMILY_TYPES = {"spreadsheet": FileType.XLSX, "presentation": FileType.PPTX}
_MACRO_KINDS = {
    "spreadsheet": _Kind("macro-enabled workbook", "xlsm", "spreadsheet", macro=True),
    "presentation": _Kind("macro-enabled presentation", "pptm", "presentation", macro=True),
    "word": _Kind("macro-enabled Word document", "docm", "word", macro=True),
}
_MACRO_EXTENSIONS = frozenset(k.extension for k in _KINDS.values() if k.macro)
_PACKAGE_EXTENSIONS = frozenset(k.extension for k in _KINDS.values())
_ARCHIVE_EXTENSIONS = frozenset(
    {"zip", "7z", "rar", "gz", "tgz", "tar", "bz2", "xz", "zst", "jar", "cab", "lzh", "arj"}
)
_OLE_OBJECT_EXTENSIONS = frozenset({"bin", "xls", "doc", "ppt", "msg", "ole"})
_VBA_CONTENT_TYPE = "application/vnd.ms-office.vbaproject"
_MACRO_SHEET_CONTENT_TYPES = frozenset(
    {"application/vnd.ms-excel.macrosheet+xml", "application/vnd.ms-excel.intlmacrosheet+xml"}
)
_ACTIVEX_CONTENT_TYPES = frozenset(
    {"application/vnd.ms-office.activex+xml", "application/vnd.ms-office.activex"}
)
_OLE_OBJECT_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.oleobject"
_CONTENT_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_RELATIONSHIPS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# Parts read whole to be understood ([Content_Types].xml, _rels/.rels) are small in any real file.
_SMALL_PART_BYTES = 5_000_000
_NESTED_SIGNATURES = (
    LOCAL_HEADER_SIGNATURE,
    b"PK\x05\x06",
    b"\x1f\x8b",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
)


@dataclass
class _Budget:
    """Unpacked bytes left for a package and the packages embedded in it."""

    remaining: int


@dataclass
class _Package:
    """What checking a package found: its main content type and what can run code in it."""

    names: list[str]
    main_type: str | None
    has_content_types: bool
    mimetype: str | None = None
    macros: list[str] = field(default_factory=list)
    activex: list[str] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)
    macro_packages: list[str] = field(default_factory=list)


class _ContentTypes:
    """[Content_Types].xml: a content type per part, by override or by extension."""

    def __init__(self, raw: bytes) -> None:
        try:
            root = SafeElementTree.fromstring(raw)
        except SafeElementTree.ParseError as exc:
            raise damaged(f"[Content_Types].xml cannot be read ({exc})") from exc
        if root.tag != f"{_CONTENT_TYPES_NS}Types":
            raise damaged("[Content_Types].xml is not a list of content types")
        self.defaults = {
            str(e.get("Extension", "")).casefold(): str(e.get("ContentType", "")).casefold()
            for e in root.iter(f"{_CONTENT_TYPES_NS}Default")
        }
        self.overrides = {
            str(e.get("PartName", "")).casefold(): str(e.get("ContentType", "")).casefold()
            for e in root.iter(f"{_CONTENT_TYPES_NS}Override")
        }

    def of(self, name: str) -> str | None:
        """The content type of a part (name without the leading slash), lower case."""
        found = self.overrides.get(f"/{name}".casefold())
        return found if found is not None else self.defaults.get(_extension(name))


def _inspect_package(
    data: bytes,
    *,
    extension: str,
    accepted: Collection[FileType],
    wanted: str,
    limits: UploadLimits,
) -> FileType:
    package = _check_package(data, limits=limits, budget=_Budget(limits.max_unpacked_bytes))
    kind = _package_kind(package, wanted=wanted)
    family_type = _FAMILY_TYPES.get(kind.family)
    if family_type is None or family_type not in accepted:
        named = (
            f", although its name ends in .{extension}"
            if extension and extension != kind.extension
            else ""
        )
        _refuse(
            RejectionReason.WRONG_TYPE,
            f"this is {kind.label}, not {wanted}{named}: pick the right file and upload again",
        )
    problems = _code_problems(package, kind=kind, extension=extension, plain_type=family_type)
    if problems:
        raise FileRejectedError(RejectionReason.MACROS, problems)
    if not kind.plain:
        _refuse(
            RejectionReason.WRONG_TYPE,
            f"this is {kind.label}, not {wanted}: save it as {_PLAIN_LABELS[family_type]} "
            "and upload again",
        )
    if extension and extension != kind.extension:
        _refuse(
            RejectionReason.WRONG_TYPE,
            f"the name ends in .{extension} but the content is {kind.label}: check that this "
            f"is the right file and name it .{kind.extension}",
        )
    return family_type


def _package_kind(package: _Package, *, wanted: str) -> _Kind:
    if package.main_type is not None:
        kind = _KINDS.get(package.main_type)
        if kind is not None:
            return kind
        if "macroenabled" in package.main_type:
            _refuse(
                RejectionReason.MACROS,
                f"the file is macro-enabled (its main part is {package.main_type}): save it "
                f"without macros as {wanted} and upload again",
            )
        _refuse(
            RejectionReason.WRONG_TYPE,
            f"this is an Office file of a kind benchdocs does not read (its main part is "
            f"{package.main_type}), not {wanted}",
        )
    if package.mimetype is not None:
        _refuse(
            RejectionReason.WRONG_TYPE,
            f"this is {_odf_label(package.mimetype)}, LibreOffice's own format, not {wanted}: "
            "save it in Microsoft Office format and upload again",
        )
    if package.has_content_types:
        raise damaged("[Content_Types].xml and _rels/.rels name no main document part")
    office_like = any(n.startswith(("xl/", "ppt/", "word/")) for n in package.names)
    if office_like:
        raise damaged("the Office part list [Content_Types].xml is missing")
    _refuse(RejectionReason.WRONG_TYPE, f"this is a ZIP archive, not {wanted}")


def _odf_label(mimetype: str) -> str:
    kinds = {
        "application/vnd.oasis.opendocument.spreadsheet": "spreadsheet (.ods)",
        "application/vnd.oasis.opendocument.presentation": "presentation (.odp)",
        "application/vnd.oasis.opendocument.text": "text document (.odt)",
    }
    return f"an OpenDocument {kinds.get(mimetype, 'file')}"


def _code_problems(
    package: _Package, *, kind: _Kind, extension: str, plain_type: FileType
) -> list[Problem]:
    """Everything in a package that can run code, each with what to do about it."""
    problems = []
    evidence = [f"contains {name}" for name in package.macros]
    if kind.macro:
        evidence.append("its content type is macro-enabled")
    if extension in _MACRO_EXTENSIONS:
        evidence.append(f"its name ends in .{extension}")
    if evidence:
        macro_kind = kind if kind.macro else _MACRO_KINDS[kind.family]
        details = ", ".join([f".{macro_kind.extension}", *evidence])
        noun_article = macro_kind.label.split(" (")[0]
        problems.append(
            Problem(
                "file",
                f"the file is {noun_article} ({details}): save it as "
                f"{_PLAIN_LABELS[plain_type]} and upload again",
            )
        )
    if package.activex:
        problems.append(
            Problem(
                "file",
                f"the file contains ActiveX controls ({package.activex[0]}), which can run "
                "programs: remove the controls and upload again",
            )
        )
    if package.objects:
        problems.append(
            Problem(
                "file",
                f"the file contains an embedded object ({package.objects[0]}), which can carry "
                "programs: replace it with a picture or paste its content, and upload again",
            )
        )
    if package.macro_packages:
        problems.append(
            Problem(
                "file",
                f"the file contains an embedded file with macros ({package.macro_packages[0]}): "
                "remove it and upload again",
            )
        )
    return problems


def _check_package(
    data: bytes, *, limits: UploadLimits, budget: _Budget, depth: int = 0
) -> _Package:
    """Check a package's directory, then inflate and check every member once."""
    members = read_members(data, max_members=limits.max_members)
    _check_declared(members, limits=limits, budget=budget, depth=depth)
    by_name = {member.name.casefold(): member for member in members}
    content_types = None
    if (listing := by_name.get("[content_types].xml")) is not None:
        content_types = _ContentTypes(_read_small_xml(data, listing))
    package = _Package(
        names=[member.name for member in members],
        main_type=None,
        has_content_types=content_types is not None,
    )
    root_relationships = None
    for member in members:
        if member is listing:
            continue
        content_type = content_types.of(member.name) if content_types is not None else None
        _note_code(package, member.name, content_type)
        if _is_embedded_package(member.name):
            _check_embedded(data, member, package, limits=limits, budget=budget, depth=depth)
            continue
        kept = _check_member(data, member, content_type, package)
        if member.name.casefold() == "_rels/.rels":
            root_relationships = kept
        elif member.name == "mimetype" and kept is not None:
            package.mimetype = kept.decode("ascii", "replace").strip()
    if content_types is not None:
        package.main_type = _main_content_type(content_types, root_relationships)
    return package


def _check_declared(
    members: list[ZipMember], *, limits: UploadLimits, budget: _Budget, depth: int
) -> None:
    """Judge the sizes the directory declares; nothing has been inflated yet."""
    total = sum(member.size for member in members)
    packed = sum(member.compressed_size for member in members)
    if total > budget.remaining:
        limit = describe_size(limits.max_unpacked_bytes)
        if depth > 0:
            raise bomb(f"with its embedded files the file would unpack to more than {limit}")
        raise bomb(
            f"the file would unpack to {describe_size(total)} (from {describe_size(packed)} "
            f"packed), more than the limit of {limit}"
        )
    budget.remaining -= total
    ratio_cap = limits.max_compression_ratio
    for member in members:
        if member.size > RATIO_GRACE_BYTES and member.size > ratio_cap * max(
            member.compressed_size, 1
        ):
            ratio = member.size / max(member.compressed_size, 1)
            raise bomb(
                f"the part {member.name} is compressed {ratio:,.0f}:1 ("
                f"{describe_size(member.size)} packed into "
                f"{describe_size(member.compressed_size)}); Office files stay far below the "
                f"limit of {ratio_cap:,.0f}:1"
            )
    if total > RATIO_GRACE_BYTES and total > ratio_cap * max(packed, 1):
        raise bomb(
            f"the file is compressed {total / max(packed, 1):,.0f}:1 ({describe_size(total)} "
            f"packed into {describe_size(packed)}); Office files stay far below the limit of "
            f"{ratio_cap:,.0f}:1"
        )
    for member in members:
        suffix = _extension(posixpath.basename(member.name))
        if suffix in _ARCHIVE_EXTENSIONS:
            raise bomb(f"the file contains another archive ({member.name}), which is not allowed")
        if _is_embedded_package(member.name):
            if depth > 0:
                raise bomb(
                    f"the embedded file {member.name} holds further embedded files; one level "
                    "of embedding is allowed"
                )
            if member.size > limits.max_embedded_bytes:
                _refuse(
                    RejectionReason.TOO_LARGE,
                    f"the embedded file {member.name} unpacks to {describe_size(member.size)}, "
                    f"more than the {describe_size(limits.max_embedded_bytes)} allowed for an "
                    "embedded file",
                )


def _is_embedded_package(name: str) -> bool:
    folder, _, base = name.casefold().rpartition("/")
    return folder.endswith("embeddings") and _extension(base) in _PACKAGE_EXTENSIONS


def _note_code(package: _Package, name: str, content_type: str | None) -> None:
    """Record a part that holds or can run code, from its name and content type alone."""
    lowered = name.casefold()
    base = posixpath.basename(lowered)
    is_vba = base.startswith("vbaproject") or base == "vbadata.xml"
    is_vba = is_vba or content_type == _VBA_CONTENT_TYPE
    # Excel 4.0 macro sheets run code as VBA does.
    is_macro_sheet = content_type in _MACRO_SHEET_CONTENT_TYPES or "/macrosheets/" in lowered
    if is_vba or is_macro_sheet:
        package.macros.append(name)
    elif content_type in _ACTIVEX_CONTENT_TYPES or "/activex/" in lowered:
        package.activex.append(name)
    elif content_type == _OLE_OBJECT_CONTENT_TYPE or (
        "/embeddings/" in lowered and _extension(base) in _OLE_OBJECT_EXTENSIONS
    ):
        package.objects.append(name)


def _check_member(
    data: bytes, member: ZipMember, content_type: str | None, package: _Package
) -> bytes | None:
    """Inflate one member under its caps, checking XML parts; small parts needed later are kept."""
    lowered = member.name.casefold()
    is_vml = lowered.endswith(".vml")
    is_xml = not is_vml and (
        lowered.endswith((".xml", ".rels"))
        or (content_type is not None and content_type.endswith(("+xml", "/xml")))
    )
    xml_check = XmlPartCheck(member.name) if is_xml else None
    vml_scan = MarkupScan(member.name) if is_vml else None
    keep = (lowered == "_rels/.rels" or member.name == "mimetype") and (
        member.size <= _SMALL_PART_BYTES
    )
    kept: list[bytes] = []
    first = True
    for piece in inflate(data, member):
        if first and piece:
            first = False
            _sniff_member(member.name, piece, package)
        if xml_check is not None:
            xml_check.feed(piece)
        elif vml_scan is not None:
            vml_scan.feed(piece)
        if keep:
            kept.append(piece)
    if xml_check is not None:
        xml_check.close()
    return b"".join(kept) if keep else None


def _sniff_member(name: str, head: bytes, package: _Package) -> None:
    """A member that is itself an archive or an OLE container, whatever its name says."""
    if head.startswith(_NESTED_SIGNATURES):
        raise bomb(f"the file contains another archive ({name}), which is not allowed")
    already_noted = name in package.macros or name in package.objects
    if head.startswith(_OLE_SIGNATURE) and not already_noted:
        package.objects.append(name)


def _check_embedded(
    data: bytes,
    member: ZipMember,
    package: _Package,
    *,
    limits: UploadLimits,
    budget: _Budget,
    depth: int,
) -> None:
    """An embedded package (a chart's workbook) is checked like the upload, one level deep."""
    inner_data = read_member(data, member)
    if not inner_data.startswith(LOCAL_HEADER_SIGNATURE):
        if inner_data.startswith(_OLE_SIGNATURE):
            package.objects.append(member.name)
            return
        raise damaged(f"the embedded file {member.name} is not an Office file")
    try:
        inner = _check_package(inner_data, limits=limits, budget=budget, depth=depth + 1)
    except FileRejectedError as exc:
        raise FileRejectedError(
            exc.reason,
            [
                Problem(p.location, f"in the embedded file {member.name}: {p.message}")
                for p in exc.problems
            ],
        ) from exc
    inner_kind = _KINDS.get(inner.main_type or "")
    macro_inside = inner.macros or inner.activex or inner.objects
    if macro_inside or (inner_kind is not None and inner_kind.macro):
        package.macro_packages.append(member.name)


def _read_small_xml(data: bytes, member: ZipMember) -> bytes:
    if member.size > _SMALL_PART_BYTES:
        raise damaged(f"{member.name} is {describe_size(member.size)}, implausibly large")
    check = XmlPartCheck(member.name)
    pieces = []
    for piece in inflate(data, member):
        check.feed(piece)
        pieces.append(piece)
    check.close()
    return b"".join(pieces)


def _main_content_type(content_types: _ContentTypes, relationships: bytes | None) -> str | None:
    """The content type of the part _rels/.rels calls the office document, else a known one."""
    if relationships:
        try:
            root = SafeElementTree.fromstring(relationships)
        except SafeElementTree.ParseError as exc:
            raise damaged(f"_rels/.rels cannot be read ({exc})") from exc
        for relation in root.iter(f"{_RELATIONSHIPS_NS}Relationship"):
            if str(relation.get("Type", "")).endswith("/officeDocument"):
                target = posixpath.normpath(str(relation.get("Target", "")).lstrip("/"))
                found = content_types.of(target)
                if found is not None:
                    return found
    known = [ct for ct in content_types.overrides.values() if ct in _KINDS]
    return known[0] if known else None


# -- OLE2 compound files --------------------------------------------------------------------

_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FREE_OR_END = 0xFFFFFFFA  # sector numbers from here up mark ends and free sectors
_LEGACY_STREAMS = (
    ("workbook", "Excel 97-2003 workbook (.xls)", FileType.XLSX),
    ("book", "Excel 5.0/95 workbook (.xls)", FileType.XLSX),
    ("powerpoint document", "PowerPoint 97-2003 presentation (.ppt)", FileType.PPTX),
    ("worddocument", "Word 97-2003 document (.doc)", None),
)


def _refuse_compound_file(data: bytes, *, accepted: Collection[FileType], wanted: str) -> NoReturn:
    """An OLE2 file is an encrypted OOXML package or an old binary Office file: never read."""
    names = _compound_file_names(data)
    if names is None:
        encrypted = "EncryptedPackage".encode("utf-16-le") in data
    else:
        encrypted = "encryptedpackage" in names
    if encrypted:
        _refuse(
            RejectionReason.ENCRYPTED,
            "the file is password-protected (encrypted), so it cannot be read: remove the "
            "password (File > Info > Protect > Encrypt with Password, clear it), save, and "
            "upload again",
        )
    for stream, label, family_type in _LEGACY_STREAMS:
        if names is not None and stream in names:
            article = "an" if label[0] in "AEIOU" else "a"
            if family_type is not None and family_type in accepted:
                _refuse(
                    RejectionReason.WRONG_TYPE,
                    f"this is {article} {label}, an old format: open it and save it as "
                    f"{_ACCEPTED_LABELS[family_type]}, then upload again",
                )
            _refuse(RejectionReason.WRONG_TYPE, f"this is {article} {label}, not {wanted}")
    _refuse(
        RejectionReason.WRONG_TYPE,
        f"this is an old-style Office or other compound (OLE) file, not {wanted}: save it as "
        f"{wanted} and upload again",
    )


def _compound_file_names(data: bytes) -> set[str] | None:
    """The lower-cased names in a compound file's directory; None when it cannot be walked."""
    try:
        shift = struct.unpack_from("<H", data, 0x1E)[0]
        if shift not in (9, 12) or len(data) < 1 << shift:
            return None
        size = 1 << shift
        per_sector = size // 4
        fat_count, first_directory = struct.unpack_from("<II", data, 0x2C)
        first_difat, difat_count = struct.unpack_from("<II", data, 0x44)
        difat = list(struct.unpack_from("<109I", data, 0x4C))
        sector_limit = len(data) // size + 1
        sector = first_difat
        for _ in range(min(difat_count, sector_limit)):
            if sector >= _FREE_OR_END:
                break
            entries = struct.unpack_from(f"<{per_sector}I", data, (sector + 1) * size)
            difat.extend(entries[:-1])
            sector = entries[-1]
        fat_sectors = [s for s in difat if s < _FREE_OR_END][:fat_count]

        def next_sector(current: int) -> int:
            fat_sector = fat_sectors[current // per_sector]
            offset = (fat_sector + 1) * size + (current % per_sector) * 4
            value: int = struct.unpack_from("<I", data, offset)[0]
            return value

        names: set[str] = set()
        sector = first_directory
        for _ in range(sector_limit):
            if sector >= _FREE_OR_END:
                break
            start = (sector + 1) * size
            for entry in range(start, min(start + size, len(data) - 127), 128):
                name_length = struct.unpack_from("<H", data, entry + 64)[0]
                if data[entry + 66] in (1, 2, 5) and 2 <= name_length <= 64:
                    raw = data[entry : entry + name_length - 2]
                    names.add(raw.decode("utf-16-le", "replace").casefold())
            sector = next_sector(sector)
    except (struct.error, IndexError):
        return None
    return names


# -- other binary and markup formats ------------------------------------------------------

_SIGNATURES = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"{\\rtf", "an RTF document"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "a program (ELF executable)"),
)
_MARKUP = re.compile(
    r"<(?P<tag>!doctype\s+html|html|head|body|table|meta|div|script|!--|\?xml|svg)\b"
)


def _binary_kind(head: bytes) -> str | None:
    for signature, label in _SIGNATURES:
        if head.startswith(signature):
            return label
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "a WebP image"
    if head[4:8] == b"ftyp":
        return "a video or HEIC image"
    if head.startswith(b"MZ") and b"\x00" in head:
        return "a program (Windows executable)"
    return None


def _markup_kind(head: bytes) -> tuple[str, str] | None:
    """What a file of markup is, and what to do about it."""
    text = _decode_head(head).lstrip("\ufeff \t\r\n").lower()
    found = _MARKUP.match(text)
    if found is None:
        return None
    tag = found.group("tag")
    if tag == "?xml" and "excel.sheet" in text:
        advice = ": open it in Excel and save it as an Excel workbook (.xlsx)"
        return "an Excel 2003 XML spreadsheet", advice
    if tag == "?xml":
        return "an XML file", ""
    if tag == "svg":
        return "an SVG image", ""
    return "a web page (HTML)", ""


def _decode_head(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head[: len(head) // 2 * 2].decode("utf-16", "replace")
    return head.decode("utf-8", "replace")


def _refuse_text_named_as_office(
    data: bytes, *, extension: str, accepted: Collection[FileType], wanted: str
) -> None:
    """Content that is no Office file, named like one or sent where CSV is not accepted."""
    what = "text" if _looks_like_text(data[:4096]) else "unrecognised binary data"
    named = _EXTENSION_LABELS.get(extension)
    if named is not None:
        if len(data) < _SMALLEST_ZIP_BYTES:
            raise damaged(
                f"only {len(data)} byte{'s' if len(data) != 1 else ''}, too short to be {named}"
            )
        _refuse(
            RejectionReason.WRONG_TYPE,
            f"the name ends in .{extension} but the content is not {named}: it is {what}",
        )
    if FileType.CSV not in accepted:
        _refuse(RejectionReason.WRONG_TYPE, f"this is {what}, not {wanted}")
    if extension not in _CSV_EXTENSIONS:
        _refuse(
            RejectionReason.WRONG_TYPE,
            f"the name ends in .{extension}; a CSV file's name ends in .csv (the content is "
            f"{what})",
        )


_SMALLEST_ZIP_BYTES = 22
_EXTENSION_LABELS = {
    **{kind.extension: kind.label for kind in _KINDS.values()},
    "xls": "an Excel 97-2003 workbook (.xls)",
    "ppt": "a PowerPoint 97-2003 presentation (.ppt)",
    "doc": "a Word 97-2003 document (.doc)",
    "ods": "an OpenDocument spreadsheet (.ods)",
    "odp": "an OpenDocument presentation (.odp)",
    "odt": "an OpenDocument text document (.odt)",
}


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _decode_head(head)
    elif b"\x00" in head:
        return False
    else:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        text = decoder.decode(head, final=False)
    return _CONTROL.search(text.replace("\ufffd", "")) is None and text.count("\ufffd") < 4


# -- CSV ------------------------------------------------------------------------------------

_TEXT_CHUNK_BYTES = 256 * 1024
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SAVE_AS_CSV = 'save it from Excel as "CSV UTF-8 (kommaavgränsad)" and upload again'


def _check_csv(data: bytes, limits: UploadLimits) -> str:
    """The encoding of a CSV file whose text is decodable, within caps, without control bytes."""
    if data.startswith(codecs.BOM_UTF8):
        _scan_text(
            data, "utf-8-sig", limits, shown="UTF-8 (it starts with a UTF-8 byte-order mark)"
        )
        return "UTF-8"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        _scan_text(data, "utf-16", limits, shown="UTF-16 (it starts with a UTF-16 byte-order mark)")
        return "UTF-16"
    nul = data.find(b"\x00")
    if nul >= 0:
        if _looks_like_utf16(data[:4096]):
            raise FileRejectedError(
                RejectionReason.CORRUPT,
                [
                    Problem(
                        "file",
                        "the file looks like UTF-16 text without a byte-order mark, "
                        f"which cannot be read reliably: {_SAVE_AS_CSV}",
                    )
                ],
            )
        raise FileRejectedError(
            RejectionReason.CORRUPT,
            [
                Problem(
                    "file",
                    f"the file contains NUL bytes (the first at byte {nul:,}), so it "
                    f"is not a text file: {_SAVE_AS_CSV}",
                )
            ],
        )
    try:
        _scan_text(data, "utf-8", limits, shown="UTF-8", fallback=True)
    except UnicodeDecodeError:
        # Swedish Excel's "CSV (semikolonavgränsad)" is Windows-1252 and says so nowhere.
        _scan_text(data, "cp1252", limits, shown="UTF-8 or Windows-1252")
        return "Windows-1252"
    return "UTF-8"


def _looks_like_utf16(head: bytes) -> bool:
    half = max(len(head) // 2, 1)
    zeros_even = head[0::2].count(0)
    zeros_odd = head[1::2].count(0)
    return max(zeros_even, zeros_odd) > 0.3 * half


def _scan_text(
    data: bytes, codec: str, limits: UploadLimits, *, shown: str, fallback: bool = False
) -> None:
    """Decode in slices and check each line; UnicodeDecodeError escapes only with fallback."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    lines = _LineCheck(limits)
    view = memoryview(data)
    for start in range(0, len(data), _TEXT_CHUNK_BYTES):
        final = start + _TEXT_CHUNK_BYTES >= len(data)
        try:
            text = decoder.decode(bytes(view[start : start + _TEXT_CHUNK_BYTES]), final)
        except UnicodeDecodeError as exc:
            if fallback:
                raise
            offset = start + exc.start
            raise FileRejectedError(
                RejectionReason.CORRUPT,
                [
                    Problem(
                        "file",
                        f"the file cannot be read as {shown}: byte "
                        f"{exc.object[exc.start]:#04x} near byte {offset:,} is not valid there; "
                        f"{_SAVE_AS_CSV}",
                    )
                ],
            ) from exc
        lines.feed(text, final=final)


class _LineCheck:
    """Counts lines and their lengths and finds control characters, slice by slice."""

    def __init__(self, limits: UploadLimits) -> None:
        self._limits = limits
        self._lines = 0
        self._length = 0
        self._pending = ""

    def feed(self, text: str, *, final: bool) -> None:
        text = self._pending + text
        self._pending = ""
        if not final and text.endswith("\r"):
            # A CR at a slice's end may be the first half of CRLF.
            self._pending, text = "\r", text[:-1]
        if (control := _CONTROL.search(text)) is not None:
            line = self._lines + 1 + len(_LINE_BREAK.findall(text, 0, control.start()))
            raise FileRejectedError(
                RejectionReason.CORRUPT,
                [
                    Problem(
                        "file",
                        f"line {line:,} contains the control character "
                        f"U+{ord(control.group()):04X}, which a CSV file does not: "
                        f"{_SAVE_AS_CSV}",
                    )
                ],
            )
        pieces = _LINE_BREAK.split(text)
        for piece in pieces[:-1]:
            self._add(len(piece))
            self._end_line()
        self._add(len(pieces[-1]))
        if final and self._length:
            self._end_line()

    def _add(self, characters: int) -> None:
        self._length += characters
        if self._length > self._limits.max_csv_line_chars:
            raise FileRejectedError(
                RejectionReason.CONTENT,
                [
                    Problem(
                        "file",
                        f"line {self._lines + 1:,} is longer than "
                        f"{self._limits.max_csv_line_chars:,} characters, which no roster "
                        "line is: check that this is the right file",
                    )
                ],
            )

    def _end_line(self) -> None:
        self._lines += 1
        self._length = 0
        if self._lines > self._limits.max_csv_lines:
            raise FileRejectedError(
                RejectionReason.CONTENT,
                [
                    Problem(
                        "file",
                        f"the file has more than {self._limits.max_csv_lines:,} "
                        "lines, far more than any roster: check that this is the right file",
                    )
                ],
            )

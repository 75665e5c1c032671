"""Office Open XML packages: the directory judged, every member inflated and checked once.

Only then does the main part's content type say what the file is; macros, ActiveX
controls and OLE objects are refused, and the name's extension must agree.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection
from dataclasses import dataclass, field

from defusedxml import ElementTree as SafeElementTree

from service.errors import FileRejectedError, Problem, RejectionReason
from service.file_safety.file_inspection.accepted import (
    PLAIN_LABELS,
    FileType,
    UploadLimits,
    refuse,
)
from service.file_safety.file_inspection.compound import OLE_SIGNATURE
from service.file_safety.file_inspection.names import name_extension
from service.file_safety.xml_guard import MarkupScan, XmlPartCheck
from service.file_safety.zip_guard import (
    LOCAL_HEADER_SIGNATURE,
    RATIO_GRACE_BYTES,
    ZipMember,
    bomb,
    damaged,
    inflate,
    read_member,
    read_members,
)
from service.messages import Message, Size, message


@dataclass(frozen=True)
class _Kind:
    """What an OOXML main part's content type says the package is."""

    noun: str
    extension: str
    family: str
    plain: bool = False
    macro: bool = False

    @property
    def label(self) -> Message:
        """The kind as a person names it: "an Excel workbook (.xlsx)", "en Excel-arbetsbok"."""
        return message(f"filetype.{self.extension}")

    @property
    def noun_with_article(self) -> str:
        """The English noun with its article and no extension: "a macro-enabled workbook"."""
        article = "an" if self.noun[0] in "AEIOUaeiou" else "a"
        return f"{article} {self.noun}"


_SML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PML = "application/vnd.openxmlformats-officedocument.presentationml"
_WML = "application/vnd.openxmlformats-officedocument.wordprocessingml"
KINDS = {
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
    f"{_WML}.document.main+xml": _Kind("Word document", "docx", "word", plain=True),
    f"{_WML}.template.main+xml": _Kind("Word template", "dotx", "word"),
    "application/vnd.ms-word.document.macroenabled.main+xml": _Kind(
        "macro-enabled Word document", "docm", "word", macro=True
    ),
    "application/vnd.ms-word.template.macroenabledtemplate.main+xml": _Kind(
        "macro-enabled Word template", "dotm", "word", macro=True
    ),
    "application/vnd.ms-visio.drawing.main+xml": _Kind("Visio drawing", "vsdx", "visio"),
}
_FAMILY_TYPES = {
    "spreadsheet": FileType.XLSX,
    "presentation": FileType.PPTX,
    "word": FileType.DOCX,
}
_MACRO_KINDS = {
    "spreadsheet": _Kind("macro-enabled workbook", "xlsm", "spreadsheet", macro=True),
    "presentation": _Kind("macro-enabled presentation", "pptm", "presentation", macro=True),
    "word": _Kind("macro-enabled Word document", "docm", "word", macro=True),
}
_MACRO_EXTENSIONS = frozenset(k.extension for k in KINDS.values() if k.macro)
_PACKAGE_EXTENSIONS = frozenset(k.extension for k in KINDS.values())
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
            raise damaged("content_types", error=str(exc)) from exc
        if root.tag != f"{_CONTENT_TYPES_NS}Types":
            raise damaged("content_types_list")
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
        return found if found is not None else self.defaults.get(name_extension(name))


def inspect_package(
    data: bytes,
    *,
    extension: str,
    accepted: Collection[FileType],
    wanted: Message,
    limits: UploadLimits,
) -> FileType:
    package = _check_package(data, limits=limits, budget=_Budget(limits.max_unpacked_bytes))
    kind = _package_kind(package, wanted=wanted)
    family_type = _FAMILY_TYPES.get(kind.family)
    if family_type is None or family_type not in accepted:
        if extension and extension != kind.extension:
            text = message(
                "gate.wrong_package_named", found=kind.label, wanted=wanted, extension=extension
            )
        else:
            text = message("gate.wrong_package", found=kind.label, wanted=wanted)
        refuse(RejectionReason.WRONG_TYPE, text)
    problems = _code_problems(package, kind=kind, extension=extension, plain_type=family_type)
    if problems:
        raise FileRejectedError(RejectionReason.MACROS, problems)
    if not kind.plain:
        plain = PLAIN_LABELS[family_type]
        refuse(
            RejectionReason.WRONG_TYPE,
            message("gate.not_plain", found=kind.label, wanted=wanted, plain=plain),
        )
    if extension and extension != kind.extension:
        text = message(
            "gate.name_other_type", extension=extension, found=kind.label, correct=kind.extension
        )
        refuse(RejectionReason.WRONG_TYPE, text)
    return family_type


def _package_kind(package: _Package, *, wanted: Message) -> _Kind:
    if package.main_type is not None:
        kind = KINDS.get(package.main_type)
        if kind is not None:
            return kind
        if "macroenabled" in package.main_type:
            refuse(
                RejectionReason.MACROS,
                message("gate.macro_main_part", main_type=package.main_type, wanted=wanted),
            )
        refuse(
            RejectionReason.WRONG_TYPE,
            message("gate.unknown_office", main_type=package.main_type, wanted=wanted),
        )
    if package.mimetype is not None:
        found = _odf_label(package.mimetype)
        refuse(RejectionReason.WRONG_TYPE, message("gate.opendocument", found=found, wanted=wanted))
    if package.has_content_types:
        raise damaged("no_main_part")
    office_like = any(n.startswith(("xl/", "ppt/", "word/")) for n in package.names)
    if office_like:
        raise damaged("no_content_types")
    refuse(
        RejectionReason.WRONG_TYPE,
        message("gate.not_expected", found=message("filetype.zip"), wanted=wanted),
    )


def _odf_label(mimetype: str) -> Message:
    kinds = {
        "application/vnd.oasis.opendocument.spreadsheet": "ods",
        "application/vnd.oasis.opendocument.presentation": "odp",
        "application/vnd.oasis.opendocument.text": "odt",
    }
    return message(f"filetype.{kinds.get(mimetype, 'odf')}")


def _code_problems(
    package: _Package, *, kind: _Kind, extension: str, plain_type: FileType
) -> list[Problem]:
    """Everything in a package that can run code, each with what to do about it."""
    problems = []
    evidence = [message("gate.evidence.contains", part=name) for name in package.macros]
    if kind.macro:
        evidence.append(message("gate.evidence.content_type"))
    if extension in _MACRO_EXTENSIONS:
        evidence.append(message("gate.evidence.name", extension=extension))
    if evidence:
        macro_kind = kind if kind.macro else _MACRO_KINDS[kind.family]
        text = message(
            "gate.macros",
            kind=macro_kind.label,
            noun=macro_kind.noun_with_article,
            extension=macro_kind.extension,
            evidence=tuple(evidence),
            plain=PLAIN_LABELS[plain_type],
        )
        problems.append(Problem.of("file", text))
    if package.activex:
        problems.append(Problem.of("file", message("gate.activex", part=package.activex[0])))
    if package.objects:
        problems.append(Problem.of("file", message("gate.ole_object", part=package.objects[0])))
    if package.macro_packages:
        text = message("gate.embedded_macros", part=package.macro_packages[0])
        problems.append(Problem.of("file", text))
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
        limit = Size(limits.max_unpacked_bytes)
        if depth > 0:
            raise bomb(message("gate.unpacks_too_much_embedded", limit=limit))
        raise bomb(
            message("gate.unpacks_too_much", total=Size(total), packed=Size(packed), limit=limit)
        )
    budget.remaining -= total
    ratio_cap = limits.max_compression_ratio
    cap = round(ratio_cap)
    for member in members:
        if member.size > RATIO_GRACE_BYTES and member.size > ratio_cap * max(
            member.compressed_size, 1
        ):
            ratio = round(member.size / max(member.compressed_size, 1))
            raise bomb(
                message(
                    "gate.part_ratio",
                    part=member.name,
                    ratio=ratio,
                    size=Size(member.size),
                    packed=Size(member.compressed_size),
                    cap=cap,
                )
            )
    if total > RATIO_GRACE_BYTES and total > ratio_cap * max(packed, 1):
        ratio = round(total / max(packed, 1))
        raise bomb(
            message("gate.file_ratio", ratio=ratio, size=Size(total), packed=Size(packed), cap=cap)
        )
    for member in members:
        suffix = name_extension(posixpath.basename(member.name))
        if suffix in _ARCHIVE_EXTENSIONS:
            raise bomb(message("gate.nested_archive", part=member.name))
        if _is_embedded_package(member.name):
            if depth > 0:
                raise bomb(message("gate.embedded_nested", part=member.name))
            if member.size > limits.max_embedded_bytes:
                text = message(
                    "gate.embedded_too_large",
                    part=member.name,
                    size=Size(member.size),
                    limit=Size(limits.max_embedded_bytes),
                )
                refuse(RejectionReason.TOO_LARGE, text)


def _is_embedded_package(name: str) -> bool:
    folder, _, base = name.casefold().rpartition("/")
    return folder.endswith("embeddings") and name_extension(base) in _PACKAGE_EXTENSIONS


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
        "/embeddings/" in lowered and name_extension(base) in _OLE_OBJECT_EXTENSIONS
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
        raise bomb(message("gate.nested_archive", part=name))
    already_noted = name in package.macros or name in package.objects
    if head.startswith(OLE_SIGNATURE) and not already_noted:
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
        if inner_data.startswith(OLE_SIGNATURE):
            package.objects.append(member.name)
            return
        raise damaged("embedded_not_office", part=member.name)
    try:
        inner = _check_package(inner_data, limits=limits, budget=budget, depth=depth + 1)
    except FileRejectedError as exc:
        raise FileRejectedError(
            exc.reason, [_in_embedded(problem, member.name) for problem in exc.problems]
        ) from exc
    inner_kind = KINDS.get(inner.main_type or "")
    macro_inside = inner.macros or inner.activex or inner.objects
    if macro_inside or (inner_kind is not None and inner_kind.macro):
        package.macro_packages.append(member.name)


def _in_embedded(problem: Problem, name: str) -> Problem:
    """A problem of an embedded file, said to be in it."""
    inner = problem.text if problem.text is not None else problem.message
    return Problem.of(problem.location, message("gate.in_embedded", part=name, problem=inner))


def _read_small_xml(data: bytes, member: ZipMember) -> bytes:
    if member.size > _SMALL_PART_BYTES:
        raise damaged("part_too_large", part=member.name, size=Size(member.size))
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
            raise damaged("relationships", error=str(exc)) from exc
        for relation in root.iter(f"{_RELATIONSHIPS_NS}Relationship"):
            if str(relation.get("Type", "")).endswith("/officeDocument"):
                target = posixpath.normpath(str(relation.get("Target", "")).lstrip("/"))
                found = content_types.of(target)
                if found is not None:
                    return found
    known = [ct for ct in content_types.overrides.values() if ct in KINDS]
    return known[0] if known else None

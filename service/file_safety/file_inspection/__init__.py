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
- anything else may be CSV where CSV is accepted, under the one CSV policy of
  ``service.file_safety.csv_text``: text without NUL bytes or control characters, in UTF-8
  (with or without a byte-order mark), UTF-16 with a byte-order mark, or Windows-1252, with
  line count and line length capped. The decoded text is handed on with the file.

Each refusal is a FileRejectedError with one precise, actionable problem at location ``file``.

``gate`` holds ``inspect_upload``; ``accepted`` the file types, caps and refusal; ``names`` the
file name shown back; ``ooxml``, ``compound`` and ``sniffing`` what the first bytes say.
Everything a caller uses is importable from here.
"""

from service.file_safety.file_inspection.accepted import (
    FileType,
    UploadLimits,
    limits_from_settings,
)
from service.file_safety.file_inspection.gate import InspectedFile, inspect_upload
from service.file_safety.file_inspection.names import MAX_DISPLAY_NAME_CHARS, display_file_name

__all__ = [
    "MAX_DISPLAY_NAME_CHARS",
    "FileType",
    "InspectedFile",
    "UploadLimits",
    "display_file_name",
    "inspect_upload",
    "limits_from_settings",
]

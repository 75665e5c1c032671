"""PDF conversion as the render job sees it: Office bytes in, PDF bytes out."""

from __future__ import annotations

from typing import Protocol

from service.errors import RenderError


class PdfConverter(Protocol):
    """Converts a document benchdocs generated (never an uploaded one) to PDF."""

    def convert(self, data: bytes, *, source_format: str) -> bytes:
        """PDF bytes of ``data``, a ``pptx``, ``docx`` or ``xlsx`` file.

        Raises TransientError when the converter crashed or hung (worth a retry) and
        RenderError when the document itself cannot be converted.
        """
        ...


class UnavailableConverter:
    """Stands in where no converter could be set up; every PDF fails with the reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def convert(self, data: bytes, *, source_format: str) -> bytes:
        """Refuse, saying why."""
        raise RenderError(f"PDF conversion is not available in this worker: {self.reason}")

    def close(self) -> None:
        """Nothing to release."""

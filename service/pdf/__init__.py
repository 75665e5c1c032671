"""Office files to PDF through LibreOffice: a cold process per file or one warm process."""

from service.pdf.libreoffice import (
    ColdLibreOfficeConverter,
    WarmLibreOfficeConverter,
    make_pdf_converter,
)

__all__ = ["ColdLibreOfficeConverter", "WarmLibreOfficeConverter", "make_pdf_converter"]

"""Images in docx templates: docxtpl's ``InlineImage`` and benchdocs' own ``DocxImage``.

A ``{{ picture }}`` whose value is an image becomes an inline ``w:drawing`` in its own run, as
docxtpl writes it, with the image stored as a media member and related to the part the tag
stands in (document, header, footer; tables included). Sizes follow docxtpl (python-docx's
``scaled_dimensions``): none given means the image's own size at its resolution, one given
keeps the aspect ratio. Image data is checked before use: an unknown format, a file that is
cut short or too large is an ``InvalidImageError``, never a broken document.

Both types are value converters of ``docx_values`` (registered on import): in ``{{ }}`` the
picture gets a run of its own in the paragraph, in ``{{r }}`` it is the run, in ``{{p }}`` a
paragraph of its own. The media member, its relationship and its content type are written by
the ``PartWriter`` of the part the tag stands in.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import docxtpl
from docx.image.exceptions import UnexpectedEndOfFileError
from docx.image.image import Image
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.shape import CT_Inline
from docx.shared import Length

from service.engines.docx_values import (
    HYPERLINK,
    PartWriter,
    TagPlace,
    register_value_converter,
)
from service.errors import InvalidImageError

__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "DocxImage",
    "LoadedImage",
    "image_markup",
    "inline_image_xml",
    "load_image",
]

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 80_000_000
# The largest extent Word accepts (about 55 m) and a sane lower bound.
_MAX_EXTENT = 20_116_800_000 // 10

_WEB_LINK = re.compile(r"(?:https?://|mailto:)[^\s\"<>]+\Z", re.I)

# Formats Word and LibreOffice both show, and how each file must end when it is complete.
_FORMATS = {
    "image/png": ("png", (b"IEND\xaeB`\x82",)),
    "image/jpeg": ("jpeg", (b"\xff\xd9",)),
    "image/gif": ("gif", (b";",)),
    "image/bmp": ("bmp", ()),
    "image/tiff": ("tiff", ()),
}


@dataclass(frozen=True)
class DocxImage:
    """An image for a ``{{ }}`` tag: its bytes and, optionally, its size in EMU.

    ``width`` and ``height`` take python-docx lengths (``Mm(40)``, ``Cm(3)``, ``Inches(1)``);
    give one to keep the aspect ratio, none for the image's own size. ``link`` (an http(s) or
    mailto URL) opens on a click, as docxtpl's ``anchor``.
    """

    data: bytes
    width: int | None = None
    height: int | None = None
    description: str = ""
    link: str = ""


@dataclass(frozen=True)
class LoadedImage:
    """Image data that passed the checks, with what python-docx read from its header."""

    data: bytes
    image: Any  # docx.image.image.Image
    ext: str
    content_type: str


def load_image(data: bytes) -> LoadedImage:
    """``data`` checked as a PNG, JPEG, GIF, BMP or TIFF image; InvalidImageError otherwise."""
    if not isinstance(data, bytes | bytearray):
        raise InvalidImageError(f"image data must be bytes, not {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise InvalidImageError("the image is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidImageError(
            f"the image is {len(data)} bytes; at most {MAX_IMAGE_BYTES} are accepted"
        )
    try:
        image = Image.from_blob(data)
        content_type = image.content_type
        width, height = image.px_width, image.px_height
        dpi = (image.horz_dpi, image.vert_dpi)
    except UnexpectedEndOfFileError:
        raise InvalidImageError("the image is cut short (incomplete file)") from None
    # python-docx's header parsers raise whatever malformed bytes provoke (struct.error,
    # IndexError, its own exceptions...): any of them means the data is not a usable image.
    except Exception as exc:
        raise InvalidImageError(
            f"the image data is not a PNG, JPEG, GIF, BMP or TIFF image ({type(exc).__name__})"
        ) from None
    if content_type not in _FORMATS:
        raise InvalidImageError(f"images of type {content_type} are not supported")
    ext, endings = _FORMATS[content_type]
    if width <= 0 or height <= 0 or min(dpi) <= 0:
        raise InvalidImageError(f"the {ext.upper()} image has no size")
    if width * height > MAX_IMAGE_PIXELS:
        raise InvalidImageError(
            f"the image has {width}x{height} pixels; at most {MAX_IMAGE_PIXELS} are accepted"
        )
    tail = data[-64:]
    if endings and not any(tail.rstrip(b"\x00").endswith(end) for end in endings):
        raise InvalidImageError(f"the {ext.upper()} image is cut short (incomplete file)")
    return LoadedImage(data, image, ext, content_type)


def inline_image_xml(
    image: LoadedImage,
    writer: PartWriter,
    *,
    width: int | None,
    height: int | None,
    description: str = "",
    link: str = "",
) -> str:
    """The ``w:drawing`` of ``image`` (without its run), stored and related through ``writer``."""
    for length in (width, height):
        if length is not None and (
            not isinstance(length, int) or isinstance(length, bool) or length <= 0
        ):
            raise InvalidImageError(
                f"an image's width and height must be positive EMU, not {length!r}"
            )
    cx, cy = image.image.scaled_dimensions(width, height)
    if not (0 < cx <= _MAX_EXTENT and 0 < cy <= _MAX_EXTENT):
        raise InvalidImageError(f"the image would be {Length(cx).mm:.0f} x {Length(cy).mm:.0f} mm")
    rid = writer.add_media(image.data, ext=image.ext, content_type=image.content_type)
    shape_id = writer.new_drawing_id()
    inline = CT_Inline.new_pic_inline(shape_id, rid, f"image{shape_id}.{image.ext}", cx, cy)
    if description:
        inline.docPr.set("descr", description)
    if link:
        # docxtpl's InlineImage(anchor=url): a click on the picture opens the link.
        if not _WEB_LINK.match(link):
            raise InvalidImageError(f"an image's link must be an http(s) or mailto URL: {link!r}")
        link_id = writer.add_relationship(HYPERLINK, link, external=True)
        for properties in (inline.docPr, *inline.xpath(".//pic:cNvPr")):
            click = OxmlElement("a:hlinkClick")
            click.set(qn("r:id"), link_id)
            properties.append(click)
    return f"<w:drawing>{inline.xml}</w:drawing>"


# -- the engine's seam ------------------------------------------------------------------------

# A picture in a paragraph's text closes the text's run, stands in a run of its own and opens
# the text again.
_IN_TEXT = '</w:t></w:r><w:r>{}</w:r><w:r><w:t xml:space="preserve">'
_BY_PLACE = {
    TagPlace.TEXT: _IN_TEXT,
    TagPlace.RUN: "<w:r>{}</w:r>",
    TagPlace.PARAGRAPH: "<w:p><w:r>{}</w:r></w:p>",
}


def image_markup(value: Any, place: TagPlace, writer: PartWriter) -> str:
    """A ``DocxImage`` or docxtpl ``InlineImage`` as markup for ``place``."""
    if isinstance(value, DocxImage):
        image = load_image(value.data)
        width, height, descr, link = value.width, value.height, value.description, value.link
    else:
        image = load_image(_read(value.image_descriptor))
        width, height, descr, link = value.width, value.height, "", str(value.anchor or "")
    drawing = inline_image_xml(
        image, writer, width=width, height=height, description=descr, link=link
    )
    return _BY_PLACE[place].format(drawing)


register_value_converter(DocxImage, image_markup)
register_value_converter(docxtpl.InlineImage, image_markup)


def _read(descriptor: Any) -> bytes:
    """docxtpl's image descriptor: a file-like object or a path the context's author gave."""
    if isinstance(descriptor, bytes | bytearray):
        return bytes(descriptor)
    if hasattr(descriptor, "read"):
        if hasattr(descriptor, "seek"):
            descriptor.seek(0)
        data = descriptor.read()
        if not isinstance(data, bytes):
            raise InvalidImageError("an InlineImage's file must be opened in binary mode")
        return data
    if isinstance(descriptor, str | os.PathLike):
        try:
            with open(descriptor, "rb") as handle:
                return handle.read(MAX_IMAGE_BYTES + 1)
        except OSError as exc:
            raise InvalidImageError(
                f"the InlineImage's file cannot be read ({exc.strerror})"
            ) from None
    raise InvalidImageError(f"an InlineImage needs a file or path, not {type(descriptor).__name__}")

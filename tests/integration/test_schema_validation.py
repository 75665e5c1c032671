"""Every generated kind validated part by part against the OOXML schemas (openxml-audit).

openxml-audit (PyPI, pinned in constraints.txt) is a pure-Python port of the Open XML SDK's
validator: the SDK's schema data for ECMA-376 transitional and Office's extensions, plus its
semantic and app-compatibility checks. Each kind is made for the sample's Askersund at
Benchmarking 2, as tests/integration/test_independent_readers.py does, and every finding must
be one of the deliberate exceptions below, each with its reason; an exception that no longer
occurs fails too, so the list stays true.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from service.batches.document_maker import DocumentMaker
from service.batches.template_library import TemplateLibrary
from service.database import models as m
from service.documents.catalogue import CATALOGUE
from service.intake.sample import find_id, sample_database
from service.settings import PROJECT_ROOT
from tests.conftest import absent

try:
    import openxml_audit
except ImportError:  # a dev dependency: `make` installs it
    openxml_audit = None

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Accepted:
    """A finding we accept: in which kind and part, what it says, and why it is fine."""

    kind: str  # a regular expression for the kind's name
    part: str  # a regular expression for the part's name
    says: str  # a regular expression for the finding's description
    reason: str

    def covers(self, kind: str, part: str, description: str) -> bool:
        return (
            re.fullmatch(self.kind, kind) is not None
            and re.fullmatch(self.part, part) is not None
            and re.search(self.says, description) is not None
        )


# Findings accepted on purpose, each with why.
EXCEPTIONS = (
    Accepted(
        r"checklist|network_overview_workbook",
        r"/xl/worksheets/sheet\d+\.xml",
        r"inline-string cell",
        "A warning, not a schema error: the xlsx engine writes rendered text as inline strings "
        "(t=inlineStr, valid ECMA-376) so that a render rewrites only the sheets it changes; "
        "Excel converts them to shared strings when it saves.",
    ),
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every kind in the catalogue, made for Askersund at Benchmarking 2, as files."""
    if openxml_audit is None:
        absent("the validator openxml-audit: install the dev dependencies (`make`)")
    out = tmp_path_factory.mktemp("generated")
    files = {}
    with sample_database() as sessions:
        maker = DocumentMaker(
            sessions=sessions, templates=TemplateLibrary(PROJECT_ROOT / "doc_templates")
        )
        with sessions() as session:
            meeting_id = find_id(session, m.Meeting, "bm2")
            organisation_id = find_id(session, m.Organisation, "askersund")
        for spec in CATALOGUE.values():
            made = maker.make(
                spec.kind,
                meeting_id=meeting_id,
                organisation_id=organisation_id if spec.per_organisation else None,
            )
            path = out / f"{spec.kind.value}.{spec.office_format}"
            path.write_bytes(made.data)
            files[spec.kind.value] = path
    return files


def findings(path: Path) -> list[tuple[str, str, str, str]]:
    """(severity, part, node path, description) of everything the validator reports."""
    validator = openxml_audit.OpenXmlValidator(max_errors=10_000)
    result = validator.validate(str(path))
    return [
        (e.severity.value, e.part_uri or "", e.path or "", e.description) for e in result.errors
    ]


def test_every_generated_part_is_valid_but_for_the_listed_exceptions(
    generated: dict[str, Path],
) -> None:
    unexplained = []
    used: set[Accepted] = set()
    for kind, path in generated.items():
        for severity, part, node, description in findings(path):
            covering = [x for x in EXCEPTIONS if x.covers(kind, part, description)]
            used.update(covering)
            if not covering:
                unexplained.append(f"{kind} {part} {node}: {severity}: {description}")

    assert unexplained == []
    assert set(EXCEPTIONS) - used == set(), "an exception no longer occurs: remove it"


def test_the_validator_refuses_what_it_should(generated: dict[str, Path], tmp_path: Path) -> None:
    """The check has teeth: a docx table's cell margins out of schema order are refused."""
    source = generated["agenda"]
    broken = tmp_path / "agenda.docx"
    with zipfile.ZipFile(source) as inside, zipfile.ZipFile(broken, "w") as out:
        for info in inside.infolist():
            data = inside.read(info)
            if info.filename == "word/document.xml":
                data = re.sub(
                    rb"(<w:left [^>]*/>)(<w:bottom [^>]*/>)", rb"\2\1", data
                )  # top, bottom, left, right: as word_styles.py once wrote it
            out.writestr(info, data)

    said = findings(broken)

    assert any(
        part == "/word/document.xml" and "Unexpected element 'left'" in description
        for _, part, _, description in said
    )

"""Do two revisions render the same bytes? Every kind, every sample meeting and organisation.

A refactoring of the engines or the context builders must not change a single byte of what
benchdocs makes (or ``RENDERER_REVISION`` must be bumped, so the nightly run makes every
document again). This renders the sample programme's documents in the working tree and in a
git revision (a temporary worktree), each in its own process, and compares their sha256::

    .venv/bin/python -m tests.tools.render_identity --against main
    .venv/bin/python -m tests.tools.render_identity --against HEAD~5 --show

Exit 0 when every document is byte-identical, 1 when any differs, 2 when it cannot compare.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Runs inside the tree being measured; it knows the module layout before and after the
# re-arrangement of issue 9, so older revisions can be compared too.
_DIGESTS = r"""
import hashlib, json, sys
from pathlib import Path
try:
    from service.batches.document_maker import DocumentMaker
    from service.batches.template_library import TemplateLibrary
    from service.intake.sample import sample_database
except ImportError:
    from service.generation.document_maker import DocumentMaker
    from service.generation.templates import TemplateLibrary
    from service.sample import sample_database
from service.database import models as m
from service.documents.catalogue import CATALOGUE

digests = {}
with sample_database() as sessions:
    maker = DocumentMaker(sessions=sessions, templates=TemplateLibrary(Path("doc_templates")))
    with sessions() as session:
        meetings = [(x.id, x.title) for x in session.query(m.Meeting).order_by(m.Meeting.id)]
        orgs = [(x.id, x.name) for x in session.query(m.Organisation).order_by(m.Organisation.id)]
    for meeting_id, meeting in meetings:
        for spec in CATALOGUE.values():
            for org_id, org in orgs if spec.per_organisation else [(None, "-")]:
                key = f"{spec.kind.value} | {meeting} | {org}"
                try:
                    data = maker.make(spec.kind, meeting_id=meeting_id, organisation_id=org_id).data
                    digests[key] = hashlib.sha256(data).hexdigest()
                except Exception as exc:
                    digests[key] = f"error: {type(exc).__name__}: {exc}"
json.dump(digests, sys.stdout)
"""


def render_digests(tree: Path) -> dict[str, str]:
    """sha256 of every sample document as the code in ``tree`` renders it."""
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", _DIGESTS],
        cwd=tree,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"rendering in {tree} failed:\n{done.stderr[-4000:]}")
    digests: dict[str, str] = json.loads(done.stdout)
    return digests


def digests_at(revision: str) -> dict[str, str]:
    """The digests of a git revision, rendered in a temporary worktree."""
    with tempfile.TemporaryDirectory(prefix="benchdocs-identity-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(tree), revision],
            cwd=PROJECT_ROOT,
            check=True,
        )
        try:
            return render_digests(tree)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=PROJECT_ROOT, check=True
            )


def main() -> int:
    """Compare the working tree with ``--against``; print the verdict and the differences."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="main", help="git revision to compare with")
    parser.add_argument("--show", action="store_true", help="list every document and digest")
    arguments = parser.parse_args()
    try:
        before = digests_at(arguments.against)
        after = render_digests(PROJECT_ROOT)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"cannot compare: {exc}", file=sys.stderr)
        return 2
    errors = sorted(key for key, value in after.items() if value.startswith("error:"))
    differ = sorted(
        key for key in before.keys() | after.keys() if before.get(key) != after.get(key)
    )
    if arguments.show:
        for key in sorted(after):
            print(f"{after[key][:16]}  {key}")
    print(
        f"{len(after)} documents rendered here, {len(before)} at {arguments.against}: "
        f"{len(after) - len(differ)} byte-identical, {len(differ)} different, "
        f"{len(errors)} failed here"
    )
    for key in differ:
        print(
            f"  differs: {key}: {before.get(key, 'absent')[:16]} -> {after.get(key, 'absent')[:16]}"
        )
    return 1 if differ or errors else 0


if __name__ == "__main__":
    sys.exit(main())

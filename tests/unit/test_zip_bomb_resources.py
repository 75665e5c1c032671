"""A 2 GiB zip bomb is refused without the process growing by 50 MB.

This guards a resource cap; how fast the gate refuses a bomb is measured by the benchmark
(``python -m bench.upload_gate``), not asserted here. Each inspection runs in a fresh Python
process so nothing else in the test session muddies its peak memory. Growth is the peak
resident size during the call minus the resident size just before it, so any peak, even a
brief one, counts against the cap. The peak is Linux's per-process high-water mark (VmHWM),
reset just before the call; getrusage's ru_maxrss will not do, since a child inherits the
parent's (pytest's) across fork and exec. A control run that allocates 100 MB shows the
measurement sees growth.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from service.settings import PROJECT_ROOT
from tests.hostile.corpus import lying_bomb, many_members, zeros_bomb

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="the peak is measured with Linux's /proc/self"
)

MAX_GROWTH_BYTES = 50 * 1024 * 1024

MEASURE = """
import json, sys
from pathlib import Path

import psutil

from service.errors import FileRejectedError
from service.settings import Settings
from service.file_safety.file_inspection import FileType, inspect_upload, limits_from_settings


def reset_peak():
    # Writing 5 resets the high-water mark to the current size (Linux 4.0 and later).
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def peak_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


mode, path = sys.argv[1], Path(sys.argv[2])
limits = limits_from_settings(Settings())
accepted = {FileType.XLSX}
# First use pays for imports and caches; that is not the bomb's doing.
warm = Path("doc_templates/checklist.xlsx").read_bytes()
inspect_upload(warm, file_name="warm.xlsx", accepted=accepted, limits=limits)
data = path.read_bytes()
reset_peak()
before = psutil.Process().memory_info().rss
outcome = {"reason": None, "message": ""}
if mode == "allocate":
    ballast = b"x" * 100_000_000
else:
    try:
        inspect_upload(data, file_name=path.name, accepted=accepted, limits=limits)
    except FileRejectedError as exc:
        outcome = {"reason": exc.reason.value, "message": exc.problems[0].message}
print(json.dumps({"growth": peak_bytes() - before, "size": len(data), **outcome}))
"""


def measure(path: Path, *, mode: str = "inspect") -> dict[str, Any]:
    """Inspect the file in a fresh interpreter: memory growth and outcome."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, mode, str(path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_2gib_zero_bomb_is_refused_small(hostile_dir: Path) -> None:
    path = zeros_bomb(hostile_dir)

    result = measure(path)

    assert result["reason"] == "zip_bomb"
    assert "would unpack to 2,147.5 MB" in result["message"]
    assert result["size"] < 3_000_000
    assert result["growth"] < MAX_GROWTH_BYTES


def test_a_2gib_bomb_with_lying_headers_is_stopped_while_inflating(hostile_dir: Path) -> None:
    path = lying_bomb(hostile_dir)

    result = measure(path)

    assert result["reason"] == "zip_bomb"
    assert "lying headers" in result["message"]
    assert result["growth"] < MAX_GROWTH_BYTES


def test_100000_members_are_refused_before_any_is_read(tmp_path: Path) -> None:
    path = tmp_path / "members.xlsx"
    path.write_bytes(many_members(100_000))

    result = measure(path)

    assert result["reason"] == "zip_bomb"
    assert result["growth"] < MAX_GROWTH_BYTES


def test_the_measurement_sees_a_process_that_grows(tmp_path: Path) -> None:
    path = tmp_path / "anything.bin"
    path.write_bytes(b"x")

    result = measure(path, mode="allocate")

    assert result["growth"] > 90_000_000

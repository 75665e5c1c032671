"""The UNO bridge, run by the interpreter that has LibreOffice's ``uno`` module, not ours.

It starts
LibreOffice as its child (so both share the process group we kill), then answers one JSON line
per request on stdout. It stops LibreOffice when its stdin closes, so a dead worker leaves no
LibreOffice behind.

It is a plain script (no imports from benchdocs), started as
``python3 -I uno_bridge.py CONFIG_JSON``; the worker talks to it over stdin and stdout.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from typing import Any

import uno
from com.sun.star.beans import PropertyValue


def prop(name: str, value: Any) -> Any:
    return PropertyValue(Name=name, Value=value)


def reply(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def office_alive(office: Any, desktop: Any) -> bool:
    if office.poll() is not None:
        return False
    try:
        desktop.getFrames()
    except Exception:
        return False
    return True


def failure(office: Any, desktop: Any, doing: str, error: BaseException) -> dict[str, Any]:
    kind = "render" if office_alive(office, desktop) else "transient"
    message = getattr(error, "Message", "") or str(error) or type(error).__name__
    return {
        "ok": False,
        "error": kind,
        "message": f"LibreOffice could not {doing}: {type(error).__name__}: {message}",
    }


def convert(office: Any, desktop: Any, request: dict[str, Any]) -> dict[str, Any]:
    load_properties = (
        prop("Hidden", True),
        prop("ReadOnly", True),
        prop("FilterName", request["import_filter"]),
        # Generated documents need neither macros nor external links: never run or fetch them.
        prop(
            "MacroExecutionMode",
            uno.Any(
                "short", uno.getConstantByName("com.sun.star.document.MacroExecMode.NEVER_EXECUTE")
            ),
        ),
        prop(
            "UpdateDocMode",
            uno.Any(
                "short", uno.getConstantByName("com.sun.star.document.UpdateDocMode.NO_UPDATE")
            ),
        ),
    )
    try:
        document = desktop.loadComponentFromURL(
            uno.systemPathToFileUrl(request["source"]), "_blank", 0, load_properties
        )
    except Exception as error:
        return failure(office, desktop, "load the document", error)
    if document is None:
        if not office_alive(office, desktop):
            return {"ok": False, "error": "transient", "message": "LibreOffice died loading it"}
        return {
            "ok": False,
            "error": "render",
            "message": "LibreOffice could not read the file as {}".format(request["import_filter"]),
        }
    try:
        if not document.supportsService(request["document_service"]):
            return {
                "ok": False,
                "error": "render",
                "message": "the file is not a {}".format(
                    request["document_service"].rsplit(".", 1)[-1]
                ),
            }
        filter_data = uno.Any(
            "[]com.sun.star.beans.PropertyValue",
            tuple(prop(name, value) for name, value in request["filter_data"].items()),
        )
        document.storeToURL(
            uno.systemPathToFileUrl(request["target"]),
            (
                prop("FilterName", request["export_filter"]),
                prop("FilterData", filter_data),
                prop("Overwrite", True),
            ),
        )
    except Exception as error:
        return failure(office, desktop, "export the PDF", error)
    finally:
        try:
            document.close(True)
        except Exception:
            with contextlib.suppress(Exception):
                document.dispose()
    return {"ok": True}


def stop(office: Any, desktop: Any) -> None:
    if desktop is not None and office.poll() is None:
        with contextlib.suppress(Exception):
            desktop.terminate()
    try:
        office.wait(timeout=10)
    except subprocess.TimeoutExpired:
        office.kill()
        office.wait()


def main() -> int:
    config = json.loads(sys.argv[1])
    office = subprocess.Popen(
        [
            config["soffice"],
            *config["flags"],
            "--accept=pipe,name={};urp;StarOffice.ComponentContext".format(config["pipe"]),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    desktop = None
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local
        )
        while True:
            try:
                context = resolver.resolve(
                    "uno:pipe,name={};urp;StarOffice.ComponentContext".format(config["pipe"])
                )
                break
            except Exception:  # NoConnectException until LibreOffice listens
                if office.poll() is not None:
                    reply(ready=False, message=f"soffice exited with {office.returncode}")
                    return 1
                time.sleep(0.05)
        desktop = context.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.Desktop", context
        )
        reply(ready=True, office_pid=office.pid)
        while True:
            line = sys.stdin.buffer.readline()
            if not line:
                return 0
            request = json.loads(line)
            if request.get("quit"):
                return 0
            reply(**convert(office, desktop, request))
    finally:
        stop(office, desktop)


if __name__ == "__main__":
    sys.exit(main())

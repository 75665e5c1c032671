"""Hosts on one machine: network namespaces on a private LAN segment (a bridge and veth pairs).

The root namespace holds the bridge and its address (``services_address``): whatever the hosts
share (PostgreSQL, Redis, the object store) listens there. Each host is a namespace with one
veth pair to the bridge and its own address; it cannot reach the machine's loopback, so it
sees only what is bound on the segment. ``cut`` takes a host's cable out: the root side of its
veth pair goes down, and its connections stall, as they do when a machine drops off a network.

Everything made here is removed by ``close`` (processes in the namespaces killed first), which
checks that nothing is left and raises naming what is.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Private addresses of our own: the /24 is picked among 10.213.0.0/16 where no interface of the
# machine has one, so a leftover of an earlier run or another network never collides.
ADDRESS_POOL = ipaddress.IPv4Network("10.213.0.0/16")
BRIDGE_HOST = 1
FIRST_HOST = 11


class NetworkError(RuntimeError):
    """A namespace, link or address could not be made or removed."""


def ip(*args: str, check: bool = True) -> str:
    """Run ``ip`` with the arguments; its output, or NetworkError naming the command."""
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if check and result.returncode != 0:
        raise NetworkError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def namespaces_supported() -> str | None:
    """Why namespaces cannot be made here (no ``ip``, not root), or None."""
    missing = [tool for tool in ("ip", "unshare") if shutil.which(tool) is None]
    if missing:
        return f"not installed: {', '.join(missing)}"
    if os.geteuid() != 0:
        return "network namespaces need root"
    return None


def _free_subnet() -> ipaddress.IPv4Network:
    used = [
        ipaddress.ip_interface(part.split()[3])
        for part in ip("-o", "-4", "addr", "show").splitlines()
        if len(part.split()) > 3
    ]
    for subnet in ADDRESS_POOL.subnets(new_prefix=24):
        if subnet.network_address.packed[2] == 0:
            continue
        if not any(address.network.overlaps(subnet) for address in used):
            return subnet
    raise NetworkError(f"no free /24 left in {ADDRESS_POOL}")


@dataclass
class Host:
    """One machine on the segment: a namespace, its address, its cable, its processes."""

    name: str
    namespace: str
    address: str
    cable: str  # the veth end in the root namespace, on the bridge
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(
        self,
        command: Sequence[str],
        *,
        env: dict[str, str],
        cwd: Path,
        log_file: Path,
    ) -> subprocess.Popen[bytes]:
        """Run a command on this host, with its own host name, logging to ``log_file``."""
        # A UTS namespace of its own: the process sees this host's name (Celery names its
        # node after it), not the machine's.
        wrapped = [
            "ip", "netns", "exec", self.namespace,
            "unshare", "--uts", "--",
            "sh", "-c", 'hostname "$0" && exec "$@"', self.name, *command,
        ]  # fmt: skip
        with open(log_file, "ab") as log:
            process = subprocess.Popen(
                wrapped,
                env=env,
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def pids(self) -> list[int]:
        """Every process living in this host's namespace."""
        return [int(pid) for pid in ip("netns", "pids", self.namespace, check=False).split()]

    def kill_everything(self, *, timeout: float = 10.0) -> list[int]:
        """SIGKILL every process in the namespace; those still alive after ``timeout``."""
        deadline = time.monotonic() + timeout
        while (pids := self.pids()) and time.monotonic() < deadline:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        return self.pids()


class Segment:
    """A bridge with an address of its own, and hosts plugged into it."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(3)
        self.subnet = _free_subnet()
        self.bridge = f"bd{self.token}br"
        self.services_address = str(self.subnet.network_address + BRIDGE_HOST)
        self.hosts: dict[str, Host] = {}
        self._made_bridge = False

    def open(self) -> Segment:
        """Make the bridge and give the root namespace its address on the segment."""
        ip("link", "add", self.bridge, "type", "bridge")
        self._made_bridge = True
        ip("addr", "add", f"{self.services_address}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        return self

    def add_host(self, name: str) -> Host:
        """A namespace on the segment with the next address, its loopback and cable up."""
        index = len(self.hosts)
        host = Host(
            name=name,
            namespace=f"benchdocs-{self.token}-{name}",
            address=str(self.subnet.network_address + FIRST_HOST + index),
            cable=f"bd{self.token}{index}h",
        )
        inside = f"bd{self.token}{index}n"
        self.hosts[name] = host
        ip("netns", "add", host.namespace)
        ip("link", "add", host.cable, "type", "veth", "peer", "name", inside)
        ip("link", "set", inside, "netns", host.namespace)
        ip("link", "set", host.cable, "master", self.bridge, "up")
        ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", inside)
        ip("-n", host.namespace, "link", "set", inside, "up")
        ip("-n", host.namespace, "link", "set", "lo", "up")
        return host

    def cut(self, name: str) -> None:
        """Take the host off the network: its cable's root end goes down."""
        ip("link", "set", self.hosts[name].cable, "down")

    def close(self) -> None:
        """Kill every process on every host, remove namespaces and links; raise on leftovers."""
        left: list[str] = []
        for host in self.hosts.values():
            alive = host.kill_everything()
            if alive:
                left.append(f"processes {alive} in {host.namespace}")
            # Deleting one end of a veth pair deletes both; a namespace's own links go with it
            # too, but only after the kernel gets round to it.
            ip("link", "del", host.cable, check=False)
            ip("netns", "del", host.namespace, check=False)
        if self._made_bridge:
            ip("link", "del", self.bridge, check=False)
        deadline = time.monotonic() + 5
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.1)
        left.extend(self.leftovers())
        if left:
            raise NetworkError("not cleaned up: " + "; ".join(left))

    def leftovers(self) -> list[str]:
        """Namespaces and links of this segment that still exist."""
        found = [
            f"namespace {line.split()[0]}"
            for line in ip("netns", "list").splitlines()
            if line.startswith(f"benchdocs-{self.token}-")
        ]
        found.extend(
            f"link {line.split(':')[1].strip().split('@')[0]}"
            for line in ip("-o", "link", "show").splitlines()
            if f"bd{self.token}" in line
        )
        return found

    def __enter__(self) -> Segment:
        try:
            return self.open()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *_: object) -> None:
        self.close()

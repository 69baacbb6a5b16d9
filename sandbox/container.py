"""One hardened container: copy files in, run one command under limits, copy results out.

Every container is network-less (unless a mount such as the LLM gateway's socket is given),
read-only at the root, unprivileged, capped in memory, CPU and processes, killed at its
wall-clock limit, labelled with its run and owner, and removed on every path out.
"""

from __future__ import annotations

import io
import os
import re
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from sandbox.engine import LABEL, OWNER_LABEL, RUN_LABEL, SandboxError, docker_client, owner_id
from sandbox.live import forget, remember

WORKDIR = "/work"
UID = 1000
_MEMORY = re.compile(r"^\d+[bkmg]?$", re.IGNORECASE)

EndReason = Literal["exit", "timeout", "oom"]


@dataclass(frozen=True)
class Limits:
    memory: str = "2g"
    cpus: float = 1.0
    pids: int = 512
    timeout: float = 600.0
    output_cap: int = 1_000_000  # bytes kept of each of stdout and stderr
    tmp_size: str = "1g"

    def __post_init__(self) -> None:
        for field in ("memory", "tmp_size"):
            value = getattr(self, field)
            if not isinstance(value, str) or not _MEMORY.match(value):
                raise SandboxError(f"limit {field}={value!r} is not a size such as '512m' or '2g'")
        if self.memory_bytes < 6 * 2**20:
            raise SandboxError(f"limit memory={self.memory!r} is below Docker's minimum of 6m")
        if not 0 < self.cpus <= (os.cpu_count() or 1):
            raise SandboxError(
                f"limit cpus={self.cpus!r} must be above 0 and at most this machine's "
                f"{os.cpu_count()} CPUs"
            )
        if self.pids < 1:
            raise SandboxError(f"limit pids={self.pids!r} must be at least 1")
        if self.timeout <= 0:
            raise SandboxError(f"limit timeout={self.timeout!r} must be a positive number of seconds")
        if self.output_cap < 0:
            raise SandboxError(f"limit output_cap={self.output_cap!r} must not be negative")

    @property
    def memory_bytes(self) -> int:
        from docker.utils import parse_bytes

        return parse_bytes(self.memory.lower())


@dataclass(frozen=True)
class RunResult:
    exit_code: int | None
    stdout: str
    stderr: str
    duration: float
    reason: EndReason
    stdout_truncated: bool = False
    stderr_truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.reason == "exit" and self.exit_code == 0


@dataclass(frozen=True)
class Mount:
    """A host path bound into the container (e.g. the LLM gateway's unix socket)."""

    source: Path
    target: str
    read_only: bool = True


def _cut_note(kept: int, total: int) -> str:
    return f"\n[output cut: kept the first {kept} of {total} bytes]\n"


class _CappedCollector:
    """Reads a container's demultiplexed output, keeping the first `cap` bytes of each stream."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.kept = {1: bytearray(), 2: bytearray()}
        self.total = {1: 0, 2: 0}

    def feed(self, stream: int, data: bytes) -> None:
        self.total[stream] += len(data)
        room = self.cap - len(self.kept[stream])
        if room > 0:
            self.kept[stream] += data[:room]

    def text(self, stream: int) -> tuple[str, bool]:
        kept, total = bytes(self.kept[stream]), self.total[stream]
        out = kept.decode("utf-8", errors="replace")
        if total > len(kept):
            return out + _cut_note(len(kept), total), True
        return out, False


class Sandbox:
    """A container for one command. Use as a context manager so it is removed on every exit.

    `volumes`: paths besides /work that must be writable (SWE-bench's /testbed).
    """

    def __init__(self, image: str, command: Sequence[str], *, limits: Limits = Limits(),
                 run_id: str = "adhoc", env: Mapping[str, str] = {}, workdir: str = WORKDIR,
                 mounts: Sequence[Mount] = (), volumes: Sequence[str] = ()) -> None:
        import docker.errors
        from docker.types import LogConfig
        from docker.types import Mount as DockerMount

        if not command:
            raise SandboxError("a sandbox needs a command to run")
        self.limits = limits
        self._started = False
        client = docker_client()
        try:
            self._container = client.containers.create(
                image, list(command),
                user=f"{UID}:{UID}", working_dir=workdir, environment=dict(env),
                labels={LABEL: "1", RUN_LABEL: run_id, OWNER_LABEL: owner_id()},
                network_mode="none", read_only=True, init=True,
                cap_drop=["ALL"], security_opt=["no-new-privileges"],
                mem_limit=limits.memory_bytes, memswap_limit=limits.memory_bytes,
                nano_cpus=int(limits.cpus * 1e9), pids_limit=limits.pids,
                tmpfs={"/tmp": f"rw,exec,nosuid,size={limits.tmp_size},uid={UID},gid={UID}"},
                # /work and each of `volumes` are anonymous volumes: writable under the read-only
                # root, filled from the image's content at that path, removed with the container
                mounts=[DockerMount(path, None, type="volume") for path in (WORKDIR, *volumes)] + [
                    DockerMount(m.target, str(m.source), type="bind", read_only=m.read_only)
                    for m in mounts
                ],
                # The daemon's own copy of the output stays bounded even if a process floods it.
                log_config=LogConfig(type="json-file", config={"max-size": "64m", "max-file": "1"}),
            )
        except docker.errors.ImageNotFound as e:
            raise SandboxError(f"image {image!r} not found: build it with `dgm sandbox build`") from e
        except docker.errors.APIError as e:
            raise SandboxError(f"could not create a container from {image!r}: {e.explanation or e}") from e
        remember(self._container)

    @property
    def name(self) -> str:
        return self._container.name

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        import docker.errors

        try:
            self._container.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass
        forget(self._container)

    def put(self, dest: str, source: Path | Mapping[str, bytes | str]) -> None:
        """Copy a host directory or file, or a {relative path: content} mapping, to `dest` (under /work)."""
        self.put_all([(dest, source)])

    def put_all(self, items: Iterable[tuple[str, Path | Mapping[str, bytes | str]]]) -> None:
        """`put` of several (dest, source) pairs in one archive: one round trip to the daemon.
        Pairs with the same dest add to it, as successive puts would."""
        with tempfile.TemporaryFile() as buf:
            with tarfile.open(fileobj=buf, mode="w") as tar:
                made: set[str] = set()
                for dest, source in items:
                    _add(tar, dest, source, made)
            buf.seek(0)
            self._container.put_archive(WORKDIR, buf)

    def run(self) -> RunResult:
        """Start the command, wait for it (killing it at the time limit), return what it did."""
        import requests

        if self._started:
            raise SandboxError("a sandbox runs its command once; create another for a second run")
        self._started = True
        collector = _CappedCollector(self.limits.output_cap)
        started = time.monotonic()
        self._container.start()
        reader = threading.Thread(target=self._collect, args=(collector,), daemon=True)
        reader.start()
        timed_out = False
        try:
            status = self._container.wait(timeout=self.limits.timeout)
        except (requests.exceptions.ConnectionError, requests.exceptions.ReadTimeout):
            # docker-py reports a wait that outlived its timeout as one of these
            timed_out = True
            self._container.kill()
            status = self._container.wait(timeout=30)
        duration = time.monotonic() - started
        reader.join(timeout=30)
        self._container.reload()
        state = self._container.attrs["State"]
        reason: EndReason = "timeout" if timed_out else "oom" if state.get("OOMKilled") else "exit"
        stdout, out_cut = collector.text(1)
        stderr, err_cut = collector.text(2)
        return RunResult(
            exit_code=None if timed_out else status.get("StatusCode"),
            stdout=stdout, stderr=stderr, duration=duration, reason=reason,
            stdout_truncated=out_cut, stderr_truncated=err_cut,
        )

    def _collect(self, collector: _CappedCollector) -> None:
        stream = self._container.attach(stdout=True, stderr=True, stream=True, logs=True, demux=True)
        for out, err in stream:
            if out:
                collector.feed(1, out)
            if err:
                collector.feed(2, err)

    def read(self, path: str) -> bytes:
        """The content of one file in the container."""
        with tempfile.TemporaryFile() as buf:
            self._fetch(path, buf)
            with tarfile.open(fileobj=buf) as tar:
                member = tar.next()
                if member is None or not member.isfile():
                    raise SandboxError(f"{path} in the sandbox is not a regular file")
                f = tar.extractfile(member)
                assert f is not None
                return f.read()

    def get_tree(self, path: str, dest: Path) -> None:
        """Copy a file or directory out of the container into host directory `dest`."""
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as buf:
            self._fetch(path, buf)
            with tarfile.open(fileobj=buf) as tar:
                tar.extractall(dest, filter="data")

    def _fetch(self, path: str, buf) -> None:
        import docker.errors

        try:
            chunks, _ = self._container.get_archive(path)
        except docker.errors.NotFound as e:
            raise SandboxError(f"{path} does not exist in the sandbox") from e
        for chunk in chunks:
            buf.write(chunk)
        buf.seek(0)


def _add(tar: tarfile.TarFile, dest: str, source: Path | Mapping[str, bytes | str], made: set[str]) -> None:
    target = PurePosixPath(dest)
    if not target.is_relative_to(WORKDIR) or ".." in target.parts:
        raise SandboxError(f"files can only be copied under {WORKDIR}, not to {dest!r}")
    rel = target.relative_to(WORKDIR)

    def parents(path: PurePosixPath, first: int) -> None:  # directories the agent user can write into
        for i in range(first, len(path.parts)):
            name = str(PurePosixPath(*path.parts[:i]))
            if name not in made:
                made.add(name)
                tar.addfile(_entry(name, directory=True))

    parents(rel, 1)
    if isinstance(source, Path):
        if not source.exists():
            raise SandboxError(f"cannot copy {source} into the sandbox: it does not exist")
        made.add(str(rel))
        tar.add(source, arcname=str(rel), filter=_owned_by_agent)
        return
    if str(rel) not in made:
        made.add(str(rel))
        tar.addfile(_entry(str(rel), directory=True))
    for name, content in source.items():
        data = content.encode() if isinstance(content, str) else content
        path = rel / name
        parents(path, len(rel.parts) + 1)
        tar.addfile(_entry(str(path), size=len(data)), io.BytesIO(data))


def _entry(name: str, *, directory: bool = False, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.uid = info.gid = UID
    info.mtime = int(time.time())
    if directory:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    else:
        info.size, info.mode = size, 0o644
    return info


def _owned_by_agent(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = UID
    info.uname = info.gname = ""
    return info

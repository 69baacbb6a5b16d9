"""One hardened container: copy files in, run one command under limits, copy results out.

Every container is network-less (unless a mount such as the LLM gateway's socket is given),
read-only at the root, run as a uid no host user has, capped in memory, CPU, processes and disk,
killed at its wall-clock limit (by its owner, and by itself should its owner die), labelled with
its run and owner, and removed on every path out. What comes back out is capped too.

Removal is off the caller's path: a closed container goes to one background thread and stays in
sandbox.live's registry until it is gone, so Ctrl-C, SIGTERM (turned into Ctrl-C by dgm's CLI)
and a normal exit (atexit) still remove it; should the daemon refuse, it stays registered for
those sweeps, and a dead owner's containers are reaped at the next start-up (sandbox.engine).
"""

from __future__ import annotations

import functools
import io
import os
import queue
import re
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from sandbox.engine import LABEL, OWNER_LABEL, RUN_LABEL, SandboxError, docker_client, owner_id
from sandbox.live import forget, remember

WORKDIR = "/work"
# The one uid/gid containers run as: no user of the host, so no host account shares it (such a user
# could read a task's token from /proc/<pid>/environ). Debian reserves 65000-65533 for no one.
UID = 65432
GID = 65432
_MEMORY = re.compile(r"^\d+[bkmg]?$", re.IGNORECASE)
# A container's own deadline trails its owner's kill, so it matters only when the owner is gone.
SELF_DEADLINE_GRACE = 30
DISK_POLL = 2.0  # seconds between measurements of a running container's disk use
READ_CAP = 64 * 2**20  # bytes `Sandbox.read` returns at most
# Closed containers waiting for the background remover; past this, `close` waits for room, so a
# daemon slower to remove than callers are to create never piles up stopped containers (each
# may hold up to its disk cap until removed). A removal takes tens of ms against a run's seconds.
REMOVALS_PENDING = 4

EndReason = Literal["exit", "timeout", "oom", "disk_full"]


@dataclass(frozen=True)
class Limits:
    memory: str = "2g"
    cpus: float = 1.0
    pids: int = 512
    timeout: float = 600.0
    output_cap: int = 1_000_000  # bytes kept of each of stdout and stderr
    output_tail: int = 0  # bytes kept of the end of each stream beyond the first output_cap
    tmp_size: str = "1g"
    disk: str = "2g"  # /work and every volume together; also the largest file the command may write
    copy_cap: int = 100_000_000  # bytes of files `get_tree` copies out

    def __post_init__(self) -> None:
        for field in ("memory", "tmp_size", "disk"):
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
        if self.output_cap < 0 or self.output_tail < 0:
            raise SandboxError(f"limits output_cap={self.output_cap!r}, output_tail={self.output_tail!r} "
                               "must not be negative")
        if self.copy_cap < 0:
            raise SandboxError(f"limit copy_cap={self.copy_cap!r} must not be negative")

    @property
    def memory_bytes(self) -> int:
        return _bytes(self.memory)

    @property
    def disk_bytes(self) -> int:
        return _bytes(self.disk)

    @property
    def tmp_bytes(self) -> int:
        return _bytes(self.tmp_size)


def _bytes(size: str) -> int:
    from docker.utils import parse_bytes

    return parse_bytes(size.lower())


@functools.cache
def check_uid_unused() -> None:
    """Refuse to start containers whose uid or gid names a user or group of this host."""
    import grp
    import pwd

    for kind, lookup, number in (("user", pwd.getpwuid, UID), ("group", grp.getgrgid, GID)):
        try:
            name = lookup(number)[0]
        except KeyError:
            continue
        raise SandboxError(f"containers run as {kind} id {number}, but this host's {kind} {name!r} has it: "
                           f"that {kind} could read the secrets of every container; change UID/GID in "
                           f"sandbox/container.py to an unused id")


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


def _cut_note(kept: int, tail: int, total: int) -> str:
    also = f" and the last {tail}" if tail else ""
    return f"\n[output cut: kept the first {kept}{also} of {total} bytes]\n"


class _CappedCollector:
    """Reads a container's demultiplexed output, keeping the first `cap` bytes of each stream
    and, beyond them, its last `tail` bytes (where a test log's summary and markers are)."""

    def __init__(self, cap: int, tail: int = 0) -> None:
        self.cap, self.tail_cap = cap, tail
        self.kept = {1: bytearray(), 2: bytearray()}
        self.tail = {1: bytearray(), 2: bytearray()}
        self.total = {1: 0, 2: 0}

    def feed(self, stream: int, data: bytes) -> None:
        self.total[stream] += len(data)
        room = self.cap - len(self.kept[stream])
        if room > 0:
            self.kept[stream] += data[:room]
        rest, tail = data[max(room, 0):], self.tail[stream]
        if rest and self.tail_cap:
            tail += rest
            if len(tail) > 2 * self.tail_cap:  # trimmed now and then, not per chunk: linear time
                del tail[:-self.tail_cap]

    def text(self, stream: int) -> tuple[str, bool]:
        kept, tail, total = bytes(self.kept[stream]), bytes(self.tail[stream][-self.tail_cap:]), self.total[stream]
        out = kept.decode("utf-8", errors="replace")
        if total > len(kept) + len(tail):
            return out + _cut_note(len(kept), len(tail), total) + tail.decode("utf-8", errors="replace"), True
        return out + tail.decode("utf-8", errors="replace"), False


class Sandbox:
    """A container for one command. Use as a context manager so it is removed on every exit.

    `volumes`: paths besides /work that must be writable (SWE-bench's /testbed).

    Disk: /work and `volumes` are anonymous volumes, since files are copied in and out with the
    container stopped (a tmpfs, mount or volume, is empty then: measured on Docker 20.10 and 28,
    and overlay's `size` storage option needs xfs with project quotas). So their cap is enforced
    twice: no file may grow past it (RLIMIT_FSIZE, by the kernel), and `run` measures their use
    every DISK_POLL seconds and ends the container past it (reason "disk_full"). /tmp is a tmpfs
    of `limits.tmp_size`, kernel-capped; a full /tmp also ends the container as "disk_full".
    `shared`: container path -> a named volume another container mounts too (the agent's and
    the task's containers share /testbed and /tmp; see sandbox/exec_relay.py); a shared volume
    other than /tmp (a tmpfs volume) counts towards the disk cap like /work.
    `network`: Docker's default bridge network instead of none; only for grading a suite that
    opts in (tests that need the internet), as the code in the container can then reach out.
    `own_deadline`: off only for a check of whether the image has coreutils' `timeout` at all
    (the SWE-bench preflight); the owner's watchdog still kills the container at its limit.
    `waits_for_go`: the command may be started ahead of need (`start_waiting`) and waits for one
    line on its stdin, `run`'s go: "SECONDS JOB", SECONDS being the container's own deadline
    counted from the go, which the command enforces on itself (it is not wrapped in `timeout`,
    which would count from the start); an empty stdin (its owner gone) must end it. Files put in
    before the go are there when it reads the go. See benchmarks/pytest_waiter.py.
    """

    def __init__(self, image: str, command: Sequence[str], *, limits: Limits = Limits(),
                 run_id: str = "adhoc", env: Mapping[str, str] = {}, workdir: str = WORKDIR,
                 mounts: Sequence[Mount] = (), volumes: Sequence[str] = (),
                 shared: Mapping[str, str] = {}, network: bool = False, own_deadline: bool = True,
                 waits_for_go: bool = False) -> None:
        import docker.errors
        from docker.types import LogConfig, Ulimit
        from docker.types import Mount as DockerMount

        if not command:
            raise SandboxError("a sandbox needs a command to run")
        check_uid_unused()
        self.limits = limits
        self._volumes = (WORKDIR, *volumes)
        self._measured = (*self._volumes, *(path for path in shared if path != "/tmp"))  # by the disk cap
        self._shared = bool(shared)
        self._started = False
        self._waits_for_go = waits_for_go
        self._stream = self._stdin = None  # a started waiting container's output and stdin
        client = docker_client()
        # The container's own deadline: should its owner die, it still stops (timeout is the
        # child of docker's init; when timeout ends, so does every process of the container).
        deadline = ["timeout", "-k", "5", f"{self.self_deadline}"] if own_deadline and not waits_for_go else []
        try:
            self._container = client.containers.create(
                image, [*deadline, *command],
                user=f"{UID}:{GID}", working_dir=workdir, environment=dict(env),
                labels={LABEL: "1", RUN_LABEL: run_id, OWNER_LABEL: owner_id()},
                network_mode="bridge" if network else "none", read_only=True, init=True,
                # stdin closes when the one attached writer goes, the go's or a dead owner's
                # (docker-py sets StdinOnce with stdin_open)
                stdin_open=waits_for_go,
                cap_drop=["ALL"], security_opt=["no-new-privileges"],
                mem_limit=limits.memory_bytes, memswap_limit=limits.memory_bytes,
                nano_cpus=int(limits.cpus * 1e9), pids_limit=limits.pids,
                ulimits=[Ulimit(name="fsize", soft=limits.disk_bytes, hard=limits.disk_bytes)],
                tmpfs={} if "/tmp" in shared else {
                    "/tmp": f"rw,exec,nosuid,size={limits.tmp_size},uid={UID},gid={GID}"},
                # /work and each of `volumes` are anonymous volumes: writable under the read-only
                # root, filled from the image's content at that path, removed with the container
                mounts=[DockerMount(path, None, type="volume") for path in self._volumes] + [
                    DockerMount(path, name, type="volume") for path, name in shared.items()] + [
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

    @property
    def self_deadline(self) -> int:
        """Seconds after which the container stops itself: its owner's kill comes first."""
        return round(self.limits.timeout + SELF_DEADLINE_GRACE)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the container: in the background, unless it mounts shared named volumes, which
        their owner removes right after (a volume in use cannot be removed)."""
        if self._stdin is not None and not self._started:  # started ahead, never given its go
            self._send_go(b"")
        if self._shared:
            _remove(self._container)
        else:
            _remover.submit(self._container)

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
            with _daemon_answers(f"copying files into container {self.name}"):
                self._container.put_archive(WORKDIR, buf)

    def start_waiting(self) -> None:
        """Start a `waits_for_go` command ahead of need: it runs up to where it waits for `run`'s go."""
        if not self._waits_for_go or self._stream is not None:
            raise SandboxError("only a sandbox made with waits_for_go starts before its run, and once")
        with _daemon_answers(f"starting container {self.name}"):
            # Attached before the start, as `docker run` does: a command that ends at once cannot
            # finish before its output is being read (attaching later lost it now and then).
            self._stream = self._container.attach(stdout=True, stderr=True, stream=True, logs=True, demux=True)
            self._stdin = self._container.client.api.attach_socket(self._container.id, {"stdin": 1, "stream": 1})
            self._container.start()

    def run(self, go: str = "") -> RunResult:
        """Start the command (or, started ahead, send it its go), wait for it (killing it at the
        time limit or the disk cap), return what it did. The time limit counts from here."""
        with _daemon_answers(f"running container {self.name}"):
            return self._run(go)

    def _run(self, go: str) -> RunResult:
        if self._started:
            raise SandboxError("a sandbox runs its command once; create another for a second run")
        self._started = True
        collector = _CappedCollector(self.limits.output_cap, self.limits.output_tail)
        if self._waits_for_go:
            if self._stream is None:
                self.start_waiting()
            stream = self._stream
            started = time.monotonic()
            self._send_go(f"{self.self_deadline} {go}\n".encode())
        else:
            stream = self._container.attach(stdout=True, stderr=True, stream=True, logs=True, demux=True)
            started = time.monotonic()
            self._container.start()
        reader = threading.Thread(target=self._collect, args=(stream, collector), daemon=True)
        reader.start()
        status, killed_for = self._wait(started)
        duration = time.monotonic() - started
        reader.join(timeout=30)
        self._container.reload()
        state = self._container.attrs["State"]
        reason: EndReason = killed_for or ("oom" if state.get("OOMKilled") else "exit")
        stdout, out_cut = collector.text(1)
        stderr, err_cut = collector.text(2)
        if killed_for == "disk_full":
            stderr += (f"\n[killed: the container's disk is full ({self.limits.disk} for "
                       f"{', '.join(self._measured)}; {self.limits.tmp_size} for /tmp)]\n")
        return RunResult(
            exit_code=None if killed_for else status.get("StatusCode"),
            stdout=stdout, stderr=stderr, duration=duration, reason=reason,
            stdout_truncated=out_cut, stderr_truncated=err_cut,
        )

    def _send_go(self, line: bytes) -> None:
        """Write the go line on the command's stdin and close it (stdin_once: the command reads
        end-of-file next). A command that already ended has nothing to read it: its exit says why."""
        sock = getattr(self._stdin, "_sock", self._stdin)  # docker-py hands a SocketIO over the socket
        try:
            sock.sendall(line)
        except OSError:
            pass
        finally:
            sock.close()
            self._stdin.close()

    def _wait(self, started: float) -> tuple[dict, EndReason | None]:
        """The container's exit status, and why it was killed (None: it ended by itself)."""
        import requests

        deadline = started + self.limits.timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                return self._container.wait(timeout=min(DISK_POLL, left)), None
            except (requests.exceptions.ConnectionError, requests.exceptions.ReadTimeout):
                pass  # docker-py reports a wait that outlived its timeout as one of these
            if self._disk_full():
                return self._kill(), "disk_full"
        return self._kill(), "timeout"

    def _disk_full(self) -> bool:
        """Whether the measured volumes together hold more than the disk cap (files deleted but
        held open included), or /tmp is full."""
        import docker.errors
        import requests

        try:
            _, out = self._container.exec_run(["sh", "-c", _MEASURE, "measure", *self._measured, "/tmp"],
                                              stderr=False)
        except (docker.errors.APIError, requests.exceptions.RequestException):
            return False  # it ended between the wait and the measurement, or cannot start a process now
        volumes, tmp = _disk_use(out.decode(errors="replace"), self._measured)
        return volumes > self.limits.disk_bytes or tmp >= self.limits.tmp_bytes - 2**20

    def _kill(self) -> dict:
        """Kill the container and return its exit status; a daemon too loaded to answer is a
        SandboxError (the container is removed on close, or by the next start's sweep)."""
        import docker.errors
        import requests

        try:
            self._container.kill()
        except docker.errors.APIError as e:
            if e.status_code != 409:  # 409: it ended on its own meanwhile
                raise SandboxError(f"could not kill container {self.name}: {e.explanation or e}") from e
        except requests.exceptions.RequestException as e:
            raise SandboxError(f"container {self.name} did not answer the kill in time ({e})") from e
        try:
            return self._container.wait(timeout=30)
        except requests.exceptions.RequestException as e:
            raise SandboxError(f"container {self.name} did not stop within 30 s of its kill ({e})") from e

    @staticmethod
    def _collect(stream, collector: _CappedCollector) -> None:
        for out, err in stream:
            if out:
                collector.feed(1, out)
            if err:
                collector.feed(2, err)

    def read(self, path: str, cap: int = READ_CAP) -> bytes:
        """The content of one regular file in the container, refused past `cap` bytes without
        reading it."""
        with self._archive(path) as tar:
            member = tar.next()
            if member is None or not member.isfile():
                raise SandboxError(f"{path} in the sandbox is not a regular file")
            if member.size > cap:
                raise SandboxError(f"{path} in the sandbox is {member.size} bytes, over the {cap}-byte cap "
                                   f"on what is read back")
            f = tar.extractfile(member)
            assert f is not None
            return f.read()

    def get_tree(self, path: str, dest: Path) -> list[str]:
        """Copy a file or directory out of the container into host directory `dest`: regular
        files and directories only, at most `limits.copy_cap` bytes of files. Returns one line per
        thing left out (links, FIFOs, devices, names outside `dest`, files past the cap)."""
        dest.mkdir(parents=True, exist_ok=True)
        left_out, copied = [], 0
        with self._archive(path) as tar:
            for member in tar:
                if not (member.isfile() or member.isdir()):
                    left_out.append(f"{member.name}: {_KINDS.get(member.type, 'special file')}, not copied")
                elif member.isfile() and copied + member.size > self.limits.copy_cap:
                    left_out.append(f"{member.name}: {member.size} bytes, past the copy-out cap of "
                                    f"{self.limits.copy_cap} bytes ({copied} copied), not copied")
                else:
                    try:
                        tar.extract(member, dest, filter="data")
                    except tarfile.FilterError as e:
                        left_out.append(f"{member.name}: {e}, not copied")
                        continue
                    copied += member.size if member.isfile() else 0
        return left_out

    @contextmanager
    def _archive(self, path: str) -> Iterator[tarfile.TarFile]:
        """`path` in the container as a tar stream read as it arrives, so nothing is held whole;
        the response is closed on the way out, which also stops the daemon sending the rest."""
        import requests

        api = self._container.client.api  # docker-py's APIClient is a requests session
        url = f"{api.base_url}/v{api.api_version}/containers/{self._container.id}/archive"
        response = api.get(url, params={"path": path}, stream=True, timeout=api.timeout)
        try:
            if response.status_code == 404:
                raise SandboxError(f"{path} does not exist in the sandbox")
            if not response.ok:
                raise SandboxError(f"could not copy {path} out of the sandbox: {response.text.strip()[:300]}")
            with tarfile.open(fileobj=_ChunkReader(response.iter_content(2**16)), mode="r|") as tar:
                yield tar
        except (tarfile.TarError, requests.exceptions.RequestException) as e:
            raise SandboxError(f"the copy of {path} out of the sandbox broke off: {e}") from e
        finally:
            response.close()


@contextmanager
def _daemon_answers(doing: str) -> Iterator[None]:
    """A daemon that fails or stops answering (a timeout under load) is a SandboxError, never a
    raw docker or requests exception (docker's APIError is one of requests')."""
    import requests

    try:
        yield
    except requests.exceptions.RequestException as e:
        raise SandboxError(f"{doing}: the Docker daemon failed or did not answer in time ({e})") from e


def _remove(container) -> None:
    import docker.errors

    try:
        container.remove(force=True, v=True)
    except docker.errors.NotFound:
        pass
    forget(container)


class _Remover:
    """One background thread per process removing closed containers in the order they closed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.Queue | None = None

    def submit(self, container) -> None:
        with self._lock:
            if self._queue is None:
                self._queue = queue.Queue(REMOVALS_PENDING)
                threading.Thread(target=self._run, args=(self._queue,), name="sandbox-remover", daemon=True).start()
            pending = self._queue
        pending.put(container)

    def drain(self) -> None:
        with self._lock:
            pending = self._queue
        if pending is not None:
            pending.join()

    @staticmethod
    def _run(pending: queue.Queue) -> None:
        while True:
            container = pending.get()
            try:
                _remove(container)
            except Exception:  # refused or unanswered: still registered, so exit's sweep retries it
                pass
            finally:
                pending.task_done()


_remover = _Remover()
# A forked child has no remover thread (and may have copied a held lock): it starts its own.
os.register_at_fork(after_in_child=_remover.__init__)


def wait_for_removals() -> None:
    """Return once every container this process closed so far is removed (or given up on)."""
    _remover.drain()


# The disk measure, run in the container: du of each path, then stat of each path (its device)
# and of every open file (deleted files held open, which du cannot see, have no links).
_MEASURE = 'du -sx -B1 "$@"; stat -L -c "%d %i %h %b %B %f %n" "$@" /proc/[0-9]*/fd/* 2>/dev/null'
_STAT_LINE = re.compile(r"^(\d+) (\d+) (\d+) (\d+) (\d+) ([0-9a-f]+) (.+)$")


def _disk_use(output: str, measured: Sequence[str]) -> tuple[int, int]:
    """Bytes used by the `measured` volumes (files deleted but held open on them included) and
    by /tmp, from _MEASURE's output for `measured` and /tmp."""
    used, devices, held = {}, {}, {}
    for line in output.splitlines():
        size, tab, path = line.partition("\t")  # du: <bytes>\t<path>
        if tab and size.isdigit():
            used[path] = int(size)
        elif stat := _STAT_LINE.match(line):
            device, inode, links, blocks, block_size, mode, path = stat.groups()
            if not path.startswith("/proc/"):
                devices[path] = device
            elif links == "0" and int(mode, 16) & 0o170000 == 0o100000:  # a regular file, deleted
                held[(device, inode)] = int(blocks) * int(block_size)
    on_volumes = {devices.get(path) for path in measured} - {devices.get("/tmp"), None}
    volumes = sum(used.get(path, 0) for path in measured)
    volumes += sum(size for (device, _), size in held.items() if device in on_volumes)
    return volumes, used.get("/tmp", 0)


_KINDS = {tarfile.SYMTYPE: "a symbolic link", tarfile.LNKTYPE: "a hard link", tarfile.FIFOTYPE: "a FIFO",
          tarfile.CHRTYPE: "a character device", tarfile.BLKTYPE: "a block device"}


class _ChunkReader(io.RawIOBase):
    """A file over an iterator of byte chunks (an HTTP body as it arrives), for tarfile's stream mode."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._pending = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n], self._pending = self._pending[:n], self._pending[n:]
        return n


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
    info.uid, info.gid = UID, GID
    info.mtime = int(time.time())
    if directory:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    else:
        info.size, info.mode = size, 0o644
    return info


def _owned_by_agent(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid, info.gid = UID, GID
    info.uname = info.gname = ""
    return info

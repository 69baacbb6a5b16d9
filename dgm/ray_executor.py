"""Evaluations as Ray tasks, for runs that outgrow one machine (`pip install 'dgm[ray]'`).

A job carries what a node needs: the variant's genome travels as a tarball and the node writes
logs into its own temp dir, which travel back and are unpacked into the run directory before the
result is handed to the loop. A node or worker lost mid-task makes Ray run the task again; the
loop records a result only when its future completes, so a retried task is recorded once.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
import threading
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from dgm.errors import DgmError
from dgm.evaluation import Cancelled, EvalJob, EvalResult, evaluate
from sandbox.llm_bridge import tcp_relay

RETRIES = 3  # attempts after a lost worker or node


def pack(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(directory, arcname=".")
    return buffer.getvalue()


def unpack(data: bytes, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def evaluate_on_node(job: EvalJob, genome: bytes) -> tuple[EvalResult, bytes]:
    """What a Ray worker runs: the genome and the logs live in a temp dir on its node, and with a
    gateway address the agent's model calls go through a relay to the run's gateway."""
    with tempfile.TemporaryDirectory(prefix="dgm-ray-") as tmp, ExitStack() as stack:
        local = replace(job, genome_dir=unpack(genome, Path(tmp, "genome")), log_dir=Path(tmp, "logs"))
        if job.bridge.gateway_address:
            Path(tmp, "gw").mkdir()
            relay = stack.enter_context(tcp_relay(Path(tmp, "gw", "llm.sock"), job.bridge.gateway_address))
            local = replace(local, bridge=job.bridge.via(relay))
        result = evaluate(local)
        return result, pack(local.log_dir)


class RayExecutor:
    """`address`: "" starts a local Ray instance with `workers` CPUs; "auto" joins the cluster this
    machine belongs to; "ray://head:10001" connects as a client."""

    def __init__(self, address: str, workers: int) -> None:
        try:
            import ray
        except ImportError as e:
            raise DgmError("executor.kind = ray needs the ray extra: pip install 'dgm[ray]'") from e
        self._ray = ray
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            ray.init(address=address or None, num_cpus=None if address else workers, include_dashboard=False,
                     log_to_driver=False)
        # one CPU per task: each drives one container at a time, itself limited to its CPUs
        self._remote = ray.remote(num_cpus=1, max_retries=RETRIES, retry_exceptions=False)(evaluate_on_node)
        self._running: dict = {}
        self._lock = threading.Lock()

    def submit(self, job: EvalJob) -> Future[EvalResult]:
        future: Future[EvalResult] = Future()
        ref = self._remote.remote(job, pack(job.genome_dir))
        with self._lock:
            self._running[ref] = future
        ref.future().add_done_callback(lambda done: self._finish(ref, done, job, future))
        return future

    def _finish(self, ref, done: Future, job: EvalJob, future: Future[EvalResult]) -> None:
        with self._lock:
            if self._running.pop(ref, None) is None:
                return  # already ended by close()
        try:
            result, logs = done.result()
            unpack(logs, job.log_dir)
            future.set_result(result)
        except BaseException as e:  # a task that failed after its retries
            future.set_exception(e)

    def close(self, cancel: bool) -> None:
        """With `cancel`, running tasks are force-cancelled: their worker processes die, and the
        containers they ran are reaped by owner label the next time a dgm process on that node
        connects to Docker."""
        if cancel:
            with self._lock:
                running, self._running = self._running, {}
            for ref, future in running.items():
                self._ray.cancel(ref, force=True)
                future.set_exception(Cancelled("the run is stopping"))
        if self._owns_ray:
            self._ray.shutdown()

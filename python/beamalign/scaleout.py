# SPDX-License-Identifier: GPL-3.0-or-later
"""Long jobs as independent chunks, run in this process or on Dask workers.

A bench or a data set splits its work into chunks that share nothing but their inputs.
Each chunk draws from its own random stream, spawned from the job's seed (NumPy
SeedSequence), and the results are combined in chunk order, so the outcome does not
depend on how many workers ran the chunks or in what order they finished. Every chunk
runs on one core (BLAS and Torch held to one thread, as Dask's workers are): a sum split
over threads can round differently, and "the same result" means to the last digit.

Completed chunks are kept in a directory beside the output file; a run interrupted
midway and started again with the same options reads them back instead of recomputing.
"""
import ctypes
import hashlib
import json
import logging
import os
import pickle
import shutil
import socket
import sys
import tempfile
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from ._version import __version__

# A chunk whose worker dies is moved to another; one that raises is tried again once
# (a deterministic error then reaches the user instead of being retried for minutes).
TASK_RETRIES = 1
CONNECT_TIMEOUT_S = 10


def spawn_streams(seed, count):
    """count independent random streams of the job's seed, the same for any worker count."""
    return np.random.SeedSequence(seed).spawn(count)


def trial_slices(trials, size):
    """[(first, count), ...] covering range(trials) in slices of at most size."""
    return [(first, min(size, trials - first)) for first in range(0, trials, size)]


@contextmanager
def one_thread():
    """BLAS, OpenMP and Torch (when loaded) limited to one thread for the block."""
    torch = sys.modules.get("torch")
    previous = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=1):
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(previous)


# glibc's mallopt parameters and the values chunks run with (see _steady_malloc).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
TRIM_THRESHOLD_BYTES = 256 << 20
MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's own ceiling for its adaptive threshold
_malloc_set = False


def _steady_malloc():
    """Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also turns off
    glibc's adaptive mmap threshold: every NumPy temporary above 128 KiB is then mapped
    and unmapped afresh, and align-snr ran 30 % slower (system time doubled). Each process
    that runs chunks sets both thresholds once, to where glibc's adaptation would take
    them; nothing happens off glibc."""
    global _malloc_set
    if _malloc_set:
        return
    _malloc_set = True
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
        libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    except (OSError, AttributeError):
        pass


# Set in a worker's environment before it starts (glibc reads it once). A Dask worker runs
# chunks on a thread of its own, and glibc gives every thread but the main one an arena
# of 64 MiB heaps that it maps and unmaps as NumPy's temporaries come and go: align-snr's
# chunks took 8.3 s there against 6.7 s on the main thread (twice the page faults). One
# arena for the whole process keeps them on the main heap; a worker runs one chunk at a
# time, so no thread waits for the arena's lock.
WORKER_ENVIRON = {"MALLOC_ARENA_MAX": "1"}
_arena_warned = False


def _check_arena():
    """Warns once per process when chunks run off the main thread without WORKER_ENVIRON
    (a `dask worker` started by hand): the results are right, only slower."""
    global _arena_warned
    if _arena_warned or threading.current_thread() is threading.main_thread():
        return
    _arena_warned = True
    missing = {k: v for k, v in WORKER_ENVIRON.items() if os.environ.get(k) != v}
    if missing:
        settings = " ".join(f"{k}={v}" for k, v in missing.items())
        logging.getLogger(__name__).warning(
            "this worker was started without %s; its chunks run about 20 %% slower "
            "(start it as `%s dask worker ...`)", settings, settings)


def run_chunk(function, task):
    """function(task) on one thread: what every chunk runs, here or on a worker."""
    _steady_malloc()
    _check_arena()
    with one_thread():
        return function(task)


def job_digest(job):
    """A short name for a job's settings: chunks of other settings are never reused."""
    text = json.dumps({"job": job, "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class ChunkStore:
    """Completed chunks of one job, one pickle each, written atomically."""

    def __init__(self, directory, digest):
        self.directory = Path(directory)
        self.digest = digest

    def _path(self, index):
        return self.directory / f"{self.digest}-{index:05d}.pkl"

    def load(self, index):
        """The chunk's result, or None if it was not completed (or its file is damaged)."""
        path = self._path(index)
        if not path.exists():
            return None
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except (OSError, EOFError, pickle.UnpicklingError, ValueError) as err:
            warnings.warn(f"{path}: unreadable ({err}); running the chunk again", stacklevel=2)
            return None

    def save(self, index, result):
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".chunk.", dir=self.directory)
        with os.fdopen(fd, "wb") as f:
            pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, self._path(index))

    def discard(self):
        """Removes this job's chunks (and the directory when nothing else is left in it)."""
        for path in self.directory.glob(f"{self.digest}-*.pkl"):
            path.unlink()
        if self.directory.exists() and not any(self.directory.iterdir()):
            shutil.rmtree(self.directory)


class Engine:
    """Where a job's chunks run: in this process (default), on a Dask LocalCluster of
    `workers` processes, or on the Dask cluster whose scheduler is at `scheduler`.

    `store` is a directory for completed chunks (None: nothing kept). Use as a context
    manager so a cluster it started is shut down."""

    def __init__(self, workers=None, scheduler=None, store=None, progress=False):
        if workers is not None and scheduler is not None:
            raise ValueError("give --workers or --scheduler, not both")
        if workers is not None and workers < 1:
            raise ValueError(f"--workers must be at least 1, not {workers}")
        self.workers = workers
        self.scheduler = scheduler
        self.store = Path(store) if store else None
        self.progress = progress
        self._client = None
        self._cluster = None
        self._stores = []

    @property
    def in_process(self):
        return self.workers is None and self.scheduler is None

    def describe(self):
        """How the job ran, for the report's params."""
        if self.in_process:
            return "in-process"
        return f"dask LocalCluster, {self.workers} workers" if self.workers else \
            f"dask scheduler {self.scheduler}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def client(self):
        """The Dask client, started on first use (Dask is imported only then)."""
        if self._client is None:
            # Imported here: a plain in-process run needs neither Dask nor its second of
            # start-up.
            import dask
            from distributed import Client, LocalCluster

            if self.workers:
                # Read by each nanny when it is made; a worker it restarts gets it too.
                # A chunk's error reaches the user once, as the bench's own error: the
                # workers' log of it (a traceback per try) is silenced.
                environ = {f"distributed.nanny.pre-spawn-environ.{name}": value
                           for name, value in WORKER_ENVIRON.items()}
                with dask.config.set(environ):
                    self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                                 processes=True, dashboard_address=None,
                                                 silence_logs=logging.CRITICAL)
                self._client = Client(self._cluster)
            else:
                try:
                    self._client = Client(self.scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
                except (OSError, TimeoutError) as err:
                    raise OSError(f"no Dask scheduler answers at {self.scheduler} ({err})") \
                        from None
        return self._client

    def map(self, function, tasks, job=None, desc="chunks", on_result=None):
        """[function(task) for task in tasks], in task order. `job` (JSON-able settings)
        names the job in the chunk store; chunks found there are read back, not run.
        on_result(index, result) is called here as each chunk completes."""
        store = ChunkStore(self.store, job_digest(job)) if self.store else None
        if store is not None:
            self._stores.append(store)
        results = [store.load(i) if store else None for i in range(len(tasks))]
        todo = [i for i, result in enumerate(results) if result is None]
        bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc=desc,
                   disable=not self.progress, leave=False)

        def finished(index, result):
            results[index] = result
            if store is not None:
                store.save(index, result)
            if on_result is not None:
                on_result(index, result)
            bar.update()

        try:
            if self.in_process:
                for index in todo:
                    finished(index, run_chunk(function, tasks[index]))
            else:
                self._map_dask(function, tasks, todo, finished, desc)
        finally:
            bar.close()
        return results

    def _map_dask(self, function, tasks, todo, finished, desc):
        from distributed import as_completed  # with Client above: only for Dask runs

        client = self.client()
        futures = {client.submit(run_chunk, function, tasks[index], pure=False,
                                 retries=TASK_RETRIES, key=f"{desc}-{index}-{os.urandom(4).hex()}"):
                   index for index in todo}
        try:
            for future in as_completed(futures):
                finished(futures[future], future.result())
                future.release()
        finally:
            for future in futures:
                future.cancel()

    def discard_chunks(self):
        """Once the job's output is written, its kept chunks have served their purpose."""
        for store in self._stores:
            store.discard()
        self._stores = []


def run_chunks(engine, report, function, tasks, *key):
    """A bench's chunks on `engine` (None: in this process), in task order. The chunk
    store knows them by the report's experiment and params, plus `key` for a report that
    runs several jobs; the params record where they ran."""
    engine = engine or Engine()
    parts = engine.map(function, tasks, job=[report.experiment, report.params, *key],
                       desc=report.experiment)
    report.params["engine"] = engine.describe()
    return parts


def run_point_chunks(engine, report, function, points, trials, chunk_trials, seed, task, *key):
    """A bench of `trials` trials at each of `points`: each point's trials in slices of
    chunk_trials, each slice a chunk with its own stream (child p * slices + c of the
    seed), made by task(stream, first trial, count, point). Returns the chunks' results
    per point, in order: [[results of point 0's slices], ...]."""
    slices = trial_slices(trials, chunk_trials)
    streams = spawn_streams(seed, len(points) * len(slices))
    tasks = [task(streams[p * len(slices) + c], first, count, point)
             for p, point in enumerate(points) for c, (first, count) in enumerate(slices)]
    report.params["chunk_trials"] = chunk_trials
    parts = run_chunks(engine, report, function, tasks, *key)
    return [parts[p * len(slices):(p + 1) * len(slices)] for p in range(len(points))]


def host_port(text):
    """(host, port) of "HOST:PORT" (a leading tcp:// allowed), or ValueError."""
    host, _, port = text.removeprefix("tcp://").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT with a port in 1..65535, got {text!r}")
    return host, int(port)


def free_port():
    """A TCP port on loopback that nothing listens on (for a scheduler or a DDP master)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chunk_store_for(output_path):
    """The chunk directory kept beside an output file (None without one)."""
    return None if not output_path else Path(f"{output_path}.chunks")

"""The one dask.distributed setup, for ``mepviz batch`` and the labelling jobs of train/:
a LocalCluster of single-threaded worker processes on this machine, or a client of an
existing scheduler.

    with dask_client(workers=2) as client:          # or dask_client("tcp://host:8786")
        futures = [client.submit(f, x, pure=False) for x in xs]
"""
from __future__ import annotations

import os
from contextlib import contextmanager


def dask_distributed():
    """The ``dask.distributed`` module (imported here only: it is needed by batch jobs alone);
    ImportError naming the packages when they are not installed."""
    try:
        import dask.distributed as dd
    except ImportError as exc:       # pragma: no cover - dask is a dependency of mepviz
        raise ImportError("batch jobs need dask and distributed: pip install dask distributed "
                          f"(they come with `pip install mepviz`): {exc}") from exc
    return dd


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None, **cluster_options):
    """A dask Client of `scheduler` (an address) when given, else of a LocalCluster of `workers`
    single-threaded worker processes (default: cores − 1; OMP_NUM_THREADS=1 is set here and
    inherited by them). `cluster_options` go to LocalCluster (e.g. ``dashboard_address=None``,
    ``memory_limit=0``). Client and cluster are closed on exit."""
    dd = dask_distributed()
    cluster = None
    if scheduler:
        client = dd.Client(scheduler)
    else:
        os.environ["OMP_NUM_THREADS"] = "1"
        n = workers or max(1, (os.cpu_count() or 2) - 1)
        cluster = dd.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, **cluster_options)
        client = dd.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

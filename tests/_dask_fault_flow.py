"""A map on the EMSYNC_DASK runner where one task kills its own Dask worker process (SIGKILL) the
first time it runs. Usage: EMSYNC_DASK=2 python tests/_dask_fault_flow.py OUTDIR N VICTIM"""

import sys
from pathlib import Path

from prefect import flow

from emsync.core import env
from emsync.core.io import write_json
from emsync.pipeline.flowkit import RunReport, cached_task, map_items, with_dask


@cached_task
def square(i: int, outdir: str, victim: int) -> int:
    import os
    import signal
    import time

    out = Path(outdir)
    if i == victim:
        time.sleep(2)  # let the other items finish (and be held on this worker) first
        try:
            os.close(os.open(out / "killed", os.O_CREAT | os.O_EXCL))
            os.kill(os.getpid(), signal.SIGKILL)  # the whole worker process dies, mid-map
        except FileExistsError:
            pass
    with open(out / "calls.log", "a") as f:
        f.write(f"{i} {os.getpid()}\n")
    return i * i


@flow(name="dask-fault")
def fault_flow(outdir: str, n: int, victim: int):
    report = RunReport("dask-fault")
    results = map_items(square, list(range(n)), report, key=int, outdir=outdir, victim=victim)
    write_json(Path(outdir) / "results.json", {str(k): v for k, v in sorted(results.items())})
    report.write(outdir)


if __name__ == "__main__":
    env.apply_defaults()
    with_dask(fault_flow)(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))

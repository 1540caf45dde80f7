"""A small flow used by the Prefect cache and status tests: per-item cached tasks run one after another, each
appending to calls.log when it really computes. Usage: TOY_SLEEP_S=1 python _toy_flow.py OUTDIR N"""

import sys
from pathlib import Path

from prefect import flow

from emsync.core import env
from emsync.core.io import write_text
from emsync.pipeline.flowkit import RunReport, cached_task, run_task


@cached_task
def slow_square(i: int, log: str) -> str:
    import hashlib
    import os
    import time

    time.sleep(float(os.environ.get("TOY_SLEEP_S", "0")))  # not an input: the cache key ignores it
    with open(log, "a") as f:
        f.write(f"{i}\n")
    return hashlib.sha256(str(i * i).encode()).hexdigest()


@flow(name="toy")
def toy_flow(outdir: str, n: int):
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    report = RunReport("toy")
    digests = []
    for i in range(n):
        d = run_task(slow_square, report, i, str(out / "calls.log"))
        write_text(out / "items" / f"{i}.txt", d + "\n")
        digests.append(d)
    write_text(out / "all.txt", "\n".join(digests) + "\n")
    report.write(out)
    return report


if __name__ == "__main__":
    env.apply_defaults()
    toy_flow(sys.argv[1], int(sys.argv[2]))

"""A flow whose per-item tasks each write a 100 kB file into OUTDIR/items (as the soundtrack stage's
tasks write their outputs), for the full-disk tests. Usage: python _disk_flow.py OUTDIR N"""

import sys
from pathlib import Path

from prefect import flow, task

from emsync.core import env
from emsync.core.io import write_bytes, write_text
from emsync.pipeline.flowkit import RunReport, map_items


@task
def write_item(i: int, out: str) -> int:
    write_bytes(Path(out) / "items" / f"{i}.bin", bytes([i % 256]) * 100_000)
    return i


@flow(name="disk")
def disk_flow(outdir: str, n: int):
    report = RunReport("disk")
    done = map_items(write_item, range(n), report, out=outdir)
    write_text(Path(outdir) / "done.txt", f"{len(done)} items, {len(report.skipped)} skipped\n")


if __name__ == "__main__":
    env.apply_defaults()
    disk_flow(sys.argv[1], int(sys.argv[2]))

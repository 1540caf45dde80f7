"""Tokenizer throughput (§4.3): read + LPD-5 merge + strong chords + encode, files per second on
`--workers` processes, against one process in the same run, with a projection for LPD-5's
174,154 files and the workers' peak memory for a small and a 4x larger run (it must not grow:
files stream through, nothing is kept).

    emsync bench tokens                                  # ../shared/data/midi, 2000 files, 2 workers
    emsync bench tokens --dir data/demo/midi --n-files 4000
"""

import itertools
import os
import resource
import time
from multiprocessing import get_context
from pathlib import Path

LPD5_FILES = 174_154
TARGET_FILES_PER_S = 200


def add_args(p):
    p.add_argument("--dir", default=None, help="folder of .mid/.kar/.npz files (default: the shared real-data midi/)")
    p.add_argument("--n-files", type=int, default=2000, help="files to tokenize (the folder's files, cycled)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--serial-files", type=int, default=300, help="files timed in one process for the ratio")


def _one(path):
    from emsync.core.config import TokensParams
    from emsync.music.corpus import tokenize_one

    try:  # the shared real .npz is LPD cleansed (all 4/4)
        n = len(tokenize_one(path, TokensParams(npz_assume_4_4=True))["ids"])
    except Exception:  # a broken file costs its read time and counts as a reject
        n = -1
    return n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _warm():
    from emsync.music import corpus  # noqa: F401  (import cost outside the timing)


def _cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _parallel(files, workers):
    """Wall seconds, worker CPU seconds (includes the short warm-up) and per-file results."""
    cpu0 = _cpu_children()
    pool = get_context("fork").Pool(workers, initializer=_warm)
    try:
        pool.map(_one, files[:workers])  # warm every worker
        t = time.perf_counter()
        out = list(pool.imap_unordered(_one, files, chunksize=16))
        dt = time.perf_counter() - t
    finally:
        pool.close()
        pool.join()  # joined children's CPU time shows up in RUSAGE_CHILDREN
    return dt, _cpu_children() - cpu0, out


def run(args):
    from emsync.core.config import shared_data_dir
    from emsync.core.errors import InputError
    from emsync.music.corpus import list_files

    folder = Path(args.dir) if args.dir else shared_data_dir() / "midi"
    base = [str(p) for p in list_files(folder).values()]
    if not base:
        raise InputError(f"{folder}: no .mid/.midi/.kar/.npz files")
    files = list(itertools.islice(itertools.cycle(base), args.n_files))
    load_before = os.getloadavg()[0]

    _warm()
    serial = files[: args.serial_files]
    _one(serial[0])
    t, c = time.perf_counter(), time.process_time()
    for f in serial:
        _one(f)
    serial_rate = len(serial) / (time.perf_counter() - t)
    serial_cpu_rate = len(serial) / (time.process_time() - c)

    small = files[: max(args.workers, len(files) // 4)]
    _, _, out_small = _parallel(small, args.workers)
    dt, cpu, out = _parallel(files, args.workers)
    rate = len(files) / dt
    cpu_rate = len(files) / cpu  # files per CPU-second: what an idle core would do
    ok = [n for n, _ in out if n >= 0]
    return {
        "benchmark": "tokens",
        "folder": str(folder),
        "distinct_files": len(base),
        "files": len(files),
        "rejected": len(files) - len(ok),
        "workers": args.workers,
        "cpu_count": os.cpu_count(),
        "load_avg_1min_before": round(load_before, 2),
        "seconds": round(dt, 3),
        "files_per_s": round(rate, 1),
        "files_per_s_one_process": round(serial_rate, 1),
        "speedup_vs_one_process": round(rate / serial_rate, 2),
        "tokens_per_s": round(sum(ok) / dt),
        "mean_tokens_per_file": round(sum(ok) / max(len(ok), 1)),
        "worker_cpu_seconds": round(cpu, 3),
        "files_per_cpu_s": round(cpu_rate, 1),
        "files_per_cpu_s_one_process": round(serial_cpu_rate, 1),
        # on a shared machine wall-clock rates undercount; CPU time says what idle cores give
        "projected_files_per_s_idle_workers": round(cpu_rate * args.workers, 1),
        "target_files_per_s": TARGET_FILES_PER_S,
        "meets_target_measured": rate >= TARGET_FILES_PER_S,
        "meets_target_idle_projection": cpu_rate * args.workers >= TARGET_FILES_PER_S,
        "lpd5_files": LPD5_FILES,
        "lpd5_projected_minutes_measured": round(LPD5_FILES / rate / 60, 1),
        "lpd5_projected_minutes_idle_workers": round(LPD5_FILES / (cpu_rate * args.workers) / 60, 1),
        "worker_peak_rss_mb": {
            f"{len(small)}_files": round(max(m for _, m in out_small) / 1024, 1),
            f"{len(files)}_files": round(max(m for _, m in out) / 1024, 1),
        },
    }

"""Validate + hash + features throughput (thesis §3.1): fast path (symusic) vs the pretty_midi
reference in the same run, with a projection for LMD-full's 178,561 files.

    emsync bench labeling                       # demo corpus (data/demo/midi, else generated)
    emsync bench labeling --dir ../shared/data/midi --repeat 20 --workers 2
"""

import os
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path

LMD_FULL = 178_561


def add_args(p):
    p.add_argument("--dir", default=None, help="MIDI folder (default: data/demo/midi or a generated demo corpus)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1, help="process the file list this many times (small folders)")
    p.add_argument("--ref-max", type=int, default=60, help="files (of the list) timed with the reference parser")


def _corpus(arg):
    from emsync.core.config import project_root

    if arg:
        return Path(arg)
    demo = project_root() / "data" / "demo" / "midi"
    if demo.exists() and any(demo.iterdir()):
        return demo
    from emsync.demo.midi_corpus import build_midi_corpus

    d = Path(tempfile.mkdtemp(prefix="emsync-bench-")) / "midi"
    build_midi_corpus(d, seed=1234, n_midi=200, n_duplicates=12)
    return d


def _rate(paths, workers, fast):
    from emsync.labeling.scan import scan

    t = time.perf_counter()
    rows = scan(paths, workers=workers, fast=fast, chunksize=8)
    dt = time.perf_counter() - t
    return len(paths) / dt, dt, rows


def run(args) -> dict:
    from emsync.labeling.scan import list_midi

    folder = _corpus(args.dir)
    files = list_midi(folder)
    paths = [str(p) for p in files] * max(1, args.repeat)
    load_start = os.getloadavg()[0]
    _rate([str(files[0])], 1, True)  # warm imports in this process
    # a fresh pool's start (forkserver + imports in each worker) is paid once per scan: timed on
    # one file per worker, so the steady rate a 178,561-file scan sees can be reported beside it
    _, pool_start_s, _ = _rate([str(files[0])] * args.workers, args.workers, True)
    fast_rate, fast_s, rows = _rate(paths, args.workers, True)
    ref_paths = paths[: args.ref_max]
    ref_rate, ref_s, ref_rows = _rate(ref_paths, args.workers, False)
    # CPU time per file in this process (independent of how busy the shared machine is)
    from emsync.music.midi_input import inspect_file

    sample = [str(f) for f in files][: max(1, min(len(files), 400))]
    t = time.process_time()
    for f in sample:
        inspect_file(f)
    cpu_ms = (time.process_time() - t) * 1000 / len(sample)
    same = sum(a["content_hash"] == b["content_hash"] and a["valid"] == b["valid"] for a, b in zip(rows, ref_rows))
    usage = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {
        "corpus": str(folder),
        "files": len(paths),
        "workers": args.workers,
        "cpu_count": os.cpu_count(),
        "load_avg_1min_start": round(load_start, 2),
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "fast_files_per_s": round(fast_rate, 1),
        "fast_seconds": round(fast_s, 2),
        "pool_start_seconds": round(pool_start_s, 2),
        "fast_files_per_s_after_pool_start": round(len(paths) / max(fast_s - pool_start_s, 1e-3), 1),
        "parser_used": dict(Counter(str(r["parser"]) for r in rows)),
        "reference_files": len(ref_paths),
        "reference_files_per_s": round(ref_rate, 1),
        "speedup_fast_vs_reference": round(fast_rate / ref_rate, 1),
        "fast_cpu_ms_per_file": round(cpu_ms, 2),
        "fast_files_per_s_if_cores_idle": round(args.workers * 1000 / cpu_ms, 1),
        "lmd_full_projection_min_if_cores_idle": round(LMD_FULL / (args.workers * 1000 / cpu_ms) / 60, 1),
        "hashes_agree": f"{same}/{len(ref_paths)}",
        "lmd_full_projection_min_fast": round(LMD_FULL / fast_rate / 60, 1),
        "lmd_full_projection_min_reference": round(LMD_FULL / ref_rate / 60, 1),
        "target_files_per_s": 300,
        "peak_rss_mb_per_process": round(usage / 1024, 1),
    }

"""`emsync enhance`'s library side: any audio file in, a bandwidth-extended 44.1 kHz stereo WAV out,
streamed so a file of any length (hours) runs in flat memory.

    summary = enhance_file("in.ogg", "out.wav", "data/bandwidth/resnet_da/checkpoint.pt")

Conversions (recorded in summary["notes"]): other sample rates are resampled to 44.1 kHz, mono is
duplicated to both channels (audio.py). A silent input gives a silent output (the network's biases
would otherwise add a faint hiss to nothing), said in the notes. A 0.1-s file is fine (padded to the
model's length multiple inside, trimmed back).
"""

from __future__ import annotations

import numpy as np

from emsync.bandwidth import audio as A
from emsync.bandwidth.infer import enhance_blocks
from emsync.bandwidth.train import load_checkpoint
from emsync.core.errors import InputError


def enhance_file(src, dst, checkpoint, device: str = "cpu", chunk: int = 1 << 17, block: int = A.SAMPLE_RATE * 10) -> dict:
    """Enhance `src` into the WAV `dst` (written atomically); returns {"samples", "seconds", "notes"}."""
    import torch

    info = A.probe(src)
    notes = A.conversion_notes(info)
    model, extra = load_checkpoint(checkpoint, map_location="cpu")
    model.to(torch.device(device))
    peak, clipped, done = [0.0], [0], [0]

    def watched():
        for b in A.iter_blocks(src, block=block):
            bad = int((~np.isfinite(b)).any(axis=0).sum())  # (2, n) -> time positions
            if bad:  # NaN compares false with everything: it would pass as "silent" and give zeros
                t = done[0] / A.SAMPLE_RATE
                raise InputError(f"{src}: {bad} samples after {t:.1f} s are NaN or infinite; that is not audio (nothing written)")
            peak[0] = max(peak[0], float(np.abs(b).max()) if b.size else 0.0)
            done[0] += b.shape[1]
            yield b

    def counted(blocks):
        for y in blocks:
            clipped[0] += int((np.abs(y) > 1.0).sum())
            yield y

    n = A.write_wav(dst, counted(enhance_blocks(model, watched(), chunk)))
    if n == 0:
        notes.append("input has no samples: wrote an empty WAV")
    elif peak[0] == 0.0:  # second pass writes zeros, block by block
        A.write_wav(dst, (np.zeros((2, min(block, n - i)), np.float32) for i in range(0, n, block)))
        notes.append("input is silent: output is silent")
    if peak[0] > 1.0:
        notes.append(f"input peaks at {peak[0]:.4g}, above full scale (1.0)")
    if clipped[0] and peak[0] > 0.0:
        notes.append(f"{clipped[0]} output samples beyond full scale were clipped to 16 bits")
    return {"samples": n, "seconds": round(n / A.SAMPLE_RATE, 3), "notes": notes, "variant": extra.get("variant", "")}

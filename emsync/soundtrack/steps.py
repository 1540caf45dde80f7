"""The timed steps of one `emsync soundtrack` call and their progress lines."""

import sys
import time
from contextlib import contextmanager

STEPS = ("probe", "cuts", "speech", "emotion", "generate", "render", "mux")  # the timed steps, in order


class Steps:
    """Times each step (`seconds`) and shows one progress line per step on stderr."""

    def __init__(self, show: bool = False):
        self.show, self.seconds = show, {}

    @contextmanager
    def __call__(self, name: str, what: str):
        """with steps("cuts", "detecting scene cuts"): ... times the block as step `name`."""
        if self.show:
            print(f"[{STEPS.index(name) + 1}/{len(STEPS)}] {what}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - t0, 3)

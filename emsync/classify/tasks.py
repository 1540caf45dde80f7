"""What the training engine needs from each classifier (thesis §5.2.2.3, §5.2.3.3): build the
model, the batch for step k, the loss, the validation metric. The loop itself is the engine's.

- emotion (VEMOCLAP): cross-entropy; `n_frames` steps per sequence at random positions in training,
  equidistant at evaluation; min-max statistics from the training videos, stored in the model.
- genre (MLP / single- / multi-transformer): binary cross-entropy with the positive labels weighted
  by `pos_weight` (0.25); training sequences cut to per-modality maxima (the upper whisker of the
  training lengths unless given); evaluation on full-length sequences.

Batches depend only on (seed, step): each epoch is a permutation seeded by (seed, epoch).
"""

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from emsync.classify.datasets import upper_whisker
from emsync.classify.features import VideoFeatures, collate, crop, minmax_stats
from emsync.classify.metrics import accuracy, genre_metrics
from emsync.models.classifiers import build, max_steps


@dataclass
class ClassifierData:
    items: list  # VideoFeatures, one per video
    targets: np.ndarray  # (N,) class ids (emotion) or (N, C) multi-hot (genre)
    split: list  # "train" / "val" / "test" per item
    dims: dict

    def index(self, name: str) -> np.ndarray:
        return np.array([i for i, s in enumerate(self.split) if s == name], dtype=int)


def carve_validation(split: list, fraction: float, seed: int) -> list:
    """Move a seeded `fraction` of the training items to "val" (§5.2.2.3: 10 % of training)."""
    train = [i for i, s in enumerate(split) if s == "train"]
    n_val = int(round(fraction * len(train)))
    if fraction > 0 and n_val == 0 and len(train) > 1:
        n_val = 1
    picked = set(np.random.default_rng(seed).choice(train, size=n_val, replace=False).tolist()) if n_val else set()
    return ["val" if i in picked else s for i, s in enumerate(split)]


@dataclass
class ClassifierTask:
    kind: str  # models.classifiers registry name
    data: ClassifierData
    model_config: dict = field(default_factory=dict)
    batch_size: int = 32
    seed: int = 0
    n_frames: int | None = None  # emotion: steps per sequence (random in training)
    max_len: dict | None = None  # genre: per-modality training maxima (None: upper whisker)
    pos_weight: float = 0.25  # genre: weight of the positive labels in the BCE
    emotion: bool = True
    init_state: dict | None = None  # weights the model starts from (the baseline's second stage)
    freeze_frames: bool = False  # baseline stage 2: its frame MLPs stay as stage 1 left them

    def __post_init__(self):
        train = self.data.index("train")
        if len(train) == 0:
            raise ValueError("no training videos")
        # the longest sequence the model's position tables take: longer ones are thinned, equidistant
        self.cap = max_steps(self.kind, {**self.model_config, "dims": dict(self.data.dims)})
        if not self.emotion and self.max_len is None:
            self.max_len = {
                m: max(1, upper_whisker([len(self.data.items[i].x[m]) for i in train] or [1]))
                for m, d in self.data.dims.items()
                if self.data.items[train[0]].x[m].ndim == 2
            }
        if self.cap is not None and self.max_len is not None:
            self.max_len = {m: min(k, self.cap) for m, k in self.max_len.items()}
        self.stats = minmax_stats([self.data.items[i] for i in train])

    # --- the engine's hooks ---------------------------------------------------------------------
    def build_model(self):
        cfg = {**self.model_config, "dims": dict(self.data.dims)}
        model = build(self.kind, cfg)
        if hasattr(model, "set_stats"):
            model.set_stats({m: self.stats.get(m, {"min": 0.0, "max": 1.0}) for m in self.data.dims})
        if self.init_state is not None:
            model.load_state_dict(self.init_state)
        if self.freeze_frames:
            model.freeze_frames()
        return model

    def batch(self, step: int) -> tuple:
        """(x, mask, y) for training step `step` (depends only on seed and step)."""
        train = self.data.index("train")
        per_epoch = max(1, int(np.ceil(len(train) / self.batch_size)))
        epoch, k = divmod(step, per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(train)
        idx = order[k * self.batch_size : (k + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, epoch, k, 1])
        return self._make(idx, rng)

    def loss(self, model, batch) -> torch.Tensor:
        x, mask, y = batch
        logits = model(x, mask)
        if self.emotion:
            return F.cross_entropy(logits, y)
        w = torch.full_like(y, 1.0).where(y <= 0, torch.full_like(y, self.pos_weight))
        return F.binary_cross_entropy_with_logits(logits, y, weight=w)  # mean over classes and videos

    @torch.no_grad()
    def predict(self, model, split: str, batch_size: int | None = None) -> tuple:
        """(probabilities (N, C), targets) for a split, evaluation-time inputs (no dropout)."""
        was = model.training
        model.eval()
        idx = self.data.index(split)
        out = []
        bs = 1 if not self.emotion else (batch_size or self.batch_size)  # genre: one full-length video at a time
        for s in range(0, len(idx), bs):
            x, mask, _ = self._make(idx[s : s + bs], None)
            logits = model(x, mask)
            out.append(torch.softmax(logits, -1) if self.emotion else torch.sigmoid(logits))
        model.train(was)
        n_cls = model.cfg.n_classes
        probs = torch.cat(out).numpy() if out else np.zeros((0, n_cls), np.float32)
        return probs, self.data.targets[idx]

    def metrics(self, model, split: str = "val") -> dict:
        """Validation metric for early stopping: accuracy (emotion) or mAP (genre)."""
        probs, y = self.predict(model, split)
        if self.emotion:
            return {"accuracy": accuracy(y, probs.argmax(1)) if len(y) else float("nan")}
        m = genre_metrics(y, probs, model.cfg.labels)
        return {"map": m["map"], "precision": m["precision"], "recall": m["recall"]}

    # --------------------------------------------------------------------------------------------
    def _make(self, idx, rng) -> tuple:
        items: list[VideoFeatures] = []
        for i in idx:
            it = self.data.items[int(i)]
            if self.emotion:
                it = crop(it, self.n_frames, rng)
            elif rng is not None:  # training: cut to the per-modality maxima, at random positions
                it = crop(it, self.max_len, rng)
            elif self.cap is not None:  # evaluation: full length, thinned only past the position tables
                it = crop(it, self.cap)
            items.append(it)
        x, mask = collate(items, self.data.dims)
        t = self.data.targets[np.asarray(idx, dtype=int)]
        y = torch.as_tensor(t, dtype=torch.long) if self.emotion else torch.as_tensor(t, dtype=torch.float32)
        return x, mask, y


class BaselineFrameTask(ClassifierTask):
    """Stage 1 of the ViT + AST baseline (§5.2.3.2): the image- and audio-MLPs (with per-frame
    heads) learn the video's genres from single frames; every valid frame of a training video is
    one example carrying the video's labels, with the positive-weighted BCE. Validation: mAP of
    each video's frame probabilities averaged over its frames and modalities."""

    def loss(self, model, batch) -> torch.Tensor:
        x, mask, y = batch
        out = model(x, mask, frames=True)  # {m: (B, T, C)}
        total = torch.zeros(())
        for m, logits in out.items():
            v = mask[m].to(logits.device, torch.float32)  # (B, T)
            t = y.to(logits.device)[:, None, :].expand_as(logits)
            w = torch.full_like(t, 1.0).where(t <= 0, torch.full_like(t, self.pos_weight))
            per_frame = F.binary_cross_entropy_with_logits(logits, t, weight=w, reduction="none").mean(-1)  # (B, T)
            total = total.to(logits.device) + (per_frame * v).sum() / v.sum().clamp(min=1.0)
        return total

    @torch.no_grad()
    def predict(self, model, split: str, batch_size: int | None = None) -> tuple:
        was = model.training
        model.eval()
        idx = self.data.index(split)
        out = []
        for i in idx:
            x, mask, _ = self._make([i], None)
            per = []
            for m, logits in model(x, mask, frames=True).items():
                v = mask[m][0]
                if v.any():
                    per.append(torch.sigmoid(logits[0][v.to(logits.device)]).mean(0))
            out.append(torch.stack(per).mean(0) if per else torch.full((model.cfg.n_classes,), 0.5))
        model.train(was)
        probs = torch.stack(out).cpu().numpy() if out else np.zeros((0, model.cfg.n_classes), np.float32)
        return probs, self.data.targets[idx]

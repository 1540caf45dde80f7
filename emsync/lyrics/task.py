"""The lyrics classifier as a training task (§3.2.1.2): what the one training engine needs to
train it: the model, the batch for step k, the loss, and validation metrics for early stopping.

- Batches depend only on (seed, step): epoch e = step // steps_per_epoch shuffles the training
  rows with a generator seeded by (seed, e); a resumed run draws the same batches.
- Loss: binary cross-entropy over every (example, label) pair (models/lyrics_classifier.bce_loss).
- Optimiser: AdamW, lr decaying linearly to 0 (configure_optimizers).
- Validation: dev macro-F1 at the cut-off searched on dev (§3.2.1.2: "we search for the optimal
  decision cutoff to maximize the F1-score"), the early-stopping metric; the cut-off is kept.
"""

from dataclasses import dataclass

import numpy as np
import torch

from emsync.lyrics.metrics import search_cutoff
from emsync.models.lyrics_classifier import LyricsClassifierConfig, bce_loss, build

# §3.2.1.2: batch 16 / lr 5e-5 for the 7-label model, batch 32 / lr 3e-5 for the 28-label one
THESIS_BATCH = {7: 16, 28: 32}
THESIS_LR = {7: 5e-5, 28: 3e-5}


def encode(tokenizer, texts: list, max_length: int) -> list:
    """Token id lists ([CLS] ... [SEP]), truncated to max_length."""
    return tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]


def pad(rows: list, pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids (B, T), attention_mask (B, T)) right-padded to the longest row."""
    t = max(len(r) for r in rows)
    ids = torch.full((len(rows), t), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), t), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, : len(r)] = 1
    return ids, mask


@dataclass
class LyricsTask:
    """Train split (token ids + targets), dev split, and the classifier config to build."""

    model_cfg: LyricsClassifierConfig
    labels: list
    train_ids: list  # token id lists
    train_y: np.ndarray  # (N, L) multi-hot
    dev_ids: list
    dev_y: np.ndarray
    batch_size: int
    seed: int = 0
    pad_id: int = 0
    eval_batch_size: int = 64
    init_model: object = None  # a loaded (pretrained) model to start from instead of random weights
    lr: float = 5e-5
    total_steps: int = 0  # the lr decays linearly to 0 over these (Hugging Face Trainer's default)

    name = "lyrics"
    metric = "macro_f1"  # validation metric to maximise (early stopping)

    @property
    def steps_per_epoch(self) -> int:
        return max(1, -(-len(self.train_ids) // self.batch_size))

    def build_model(self) -> torch.nn.Module:
        """Random weights (the engine seeds torch first), or the pretrained model given."""
        if self.init_model is not None:
            return self.init_model
        return build(self.model_cfg, self.labels)

    def configure_optimizers(self, model):
        """AdamW with a linear decay to 0, as Hugging Face's Trainer (the thesis's §3.2.1.2 setup)."""
        opt = torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=0.0)
        total = max(1, self.total_steps)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / total))
        return opt, sched

    def batch(self, step: int) -> dict:
        """The training batch of `step` (a function of seed and step only)."""
        epoch, k = divmod(int(step), self.steps_per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.train_ids))
        idx = order[k * self.batch_size : (k + 1) * self.batch_size]
        ids, mask = pad([self.train_ids[i] for i in idx], self.pad_id)
        return {"input_ids": ids, "attention_mask": mask, "targets": torch.from_numpy(self.train_y[idx])}

    def loss(self, model, batch: dict) -> torch.Tensor:
        return bce_loss(model, batch["input_ids"], batch["attention_mask"], batch["targets"])

    def dev_probs(self, model) -> np.ndarray:
        """Sigmoid outputs on the dev split (N, L), in dev order."""
        return predict_ids(model, self.dev_ids, self.eval_batch_size, self.pad_id)

    def metrics(self, model) -> dict:
        """{"macro_f1", "cutoff", "loss"} on dev (GoEmotions' dev split is the validation set);
        macro_f1 at the cut-off searched on dev: the engine's early-stopping metric."""
        probs = self.dev_probs(model)
        cutoff, f1 = search_cutoff(probs, self.dev_y)
        eps = 1e-7
        p = np.clip(probs, eps, 1 - eps)
        bce = float(-(self.dev_y * np.log(p) + (1 - self.dev_y) * np.log(1 - p)).mean())
        return {"macro_f1": f1, "cutoff": cutoff, "loss": bce}


def predict_ids(model, rows: list, batch_size: int = 64, pad_id: int = 0) -> np.ndarray:
    """Sigmoid outputs (N, L) for pre-tokenised rows, batched by length, returned in input order."""
    order = np.argsort([-len(r) for r in rows], kind="stable")
    out = np.zeros((len(rows), model.config.num_labels), np.float32)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(rows), batch_size):
            idx = order[i : i + batch_size]
            ids, mask = pad([rows[j] for j in idx], pad_id)
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits  # (B, L)
            out[idx] = torch.sigmoid(logits).float().cpu().numpy()
    model.train(was_training)
    return out

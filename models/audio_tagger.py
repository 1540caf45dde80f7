"""A PANNs-style CNN audio tagger (Kong et al. 2020) used as a feature extractor (thesis §5.2.1).

Log-mel spectrogram -> stacks of (conv3x3-BN-ReLU) x2 + 2x2 average pooling -> mean over
frequency, max + mean over time -> `fc_embed` (the activations we keep, `d_embed`) -> `fc_out`
(multi-label tag logits). Two configurations are used in the thesis:

- "Audiotag": AudioSet tagging on 3 s chunks, 527 labels, 128-d activations;
- "Music": music tagging on 22 s chunks, 50 labels, 64-d activations (Choi et al. 2016).

Pure PyTorch; `save_pretrained(dir)` / `from_pretrained(dir)` write and read the hub layout
(`config.json` + `model.safetensors`) so a checkpoint always says what it is.
"""

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class AudioTaggerConfig:
    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 160  # 10 ms frames at 16 kHz
    n_mels: int = 64
    f_min: float = 50.0
    f_max: float = 8000.0
    channels: list = field(default_factory=lambda: [64, 128, 256, 512, 1024, 2048])  # CNN14 widths
    d_embed: int = 128  # activations before the classification layer (§5.2.1)
    n_classes: int = 527  # AudioSet labels
    chunk_s: float = 3.0  # input length the model was trained on
    labels: list = field(default_factory=list)  # optional tag names, len n_classes
    model_type: str = "emsync_audio_tagger"

    def __post_init__(self):
        if self.sample_rate <= 0 or self.hop_length <= 0 or self.n_fft < self.hop_length:
            raise ValueError(f"bad audio framing: sr={self.sample_rate} n_fft={self.n_fft} hop={self.hop_length}")
        if not self.channels or any(c <= 0 for c in self.channels):
            raise ValueError(f"channels must be positive widths, got {self.channels}")
        if not 0 < self.f_min < self.f_max <= self.sample_rate / 2:
            raise ValueError(f"need 0 < f_min < f_max <= sr/2, got {self.f_min}, {self.f_max}")
        if self.d_embed <= 0 or self.n_classes <= 0 or self.chunk_s <= 0:
            raise ValueError("d_embed, n_classes and chunk_s must be positive")
        if self.labels and len(self.labels) != self.n_classes:
            raise ValueError(f"{len(self.labels)} labels for {self.n_classes} classes")


def mel_filterbank(sr: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> torch.Tensor:
    """Triangular HTK-mel filters, (n_fft // 2 + 1, n_mels)."""

    def hz_to_mel(f):
        return 2595.0 * math.log10(1.0 + f / 700.0)

    mels = torch.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2, dtype=torch.float64)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)  # (n_mels + 2,)
    freqs = torch.linspace(0, sr / 2, n_fft // 2 + 1, dtype=torch.float64)  # (F,)
    lo, mid, hi = hz[:-2], hz[1:-1], hz[2:]  # (n_mels,)
    up = (freqs[:, None] - lo) / (mid - lo)  # (F, n_mels)
    down = (hi - freqs[:, None]) / (hi - mid)
    return torch.clamp(torch.minimum(up, down), min=0.0).float()


class ConvBlock(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)

    def forward(self, x):  # (B, C, T, M)
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        if x.shape[-2] >= 2 and x.shape[-1] >= 2:
            x = F.avg_pool2d(x, 2)  # (B, C', T/2, M/2)
        return x


class AudioTagger(nn.Module):
    def __init__(self, config: AudioTaggerConfig):
        super().__init__()
        self.config = config
        fb = mel_filterbank(config.sample_rate, config.n_fft, config.n_mels, config.f_min, config.f_max)
        self.register_buffer("mel_fb", fb, persistent=False)
        self.register_buffer("window", torch.hann_window(config.n_fft), persistent=False)
        self.bn0 = nn.BatchNorm2d(config.n_mels)
        widths = [1] + list(config.channels)
        self.blocks = nn.ModuleList(ConvBlock(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.fc_embed = nn.Linear(widths[-1], config.d_embed)
        self.fc_out = nn.Linear(config.d_embed, config.n_classes)

    def logmel(self, wav):  # (B, S) float waveform at config.sample_rate
        spec = (
            torch.stft(wav, self.config.n_fft, self.config.hop_length, window=self.window, center=True, return_complex=True).abs() ** 2
        )  # (B, F, T)
        mel = torch.einsum("bft,fm->btm", spec, self.mel_fb)  # (B, T, M)
        return torch.log(mel + 1e-6)

    def embed(self, wav):
        """Activations before the classification layer, (B, d_embed)."""
        x = self.logmel(wav)[:, None]  # (B, 1, T, M)
        x = self.bn0(x.transpose(1, 3)).transpose(1, 3)  # normalise per mel bin
        for block in self.blocks:
            x = block(x)  # (B, C, T', M')
        x = x.mean(dim=3)  # (B, C, T')
        x = x.max(dim=2).values + x.mean(dim=2)  # (B, C)
        return F.relu(self.fc_embed(x))  # (B, d_embed)

    def forward(self, wav):
        """Returns (embedding (B, d_embed), tag probabilities (B, n_classes))."""
        e = self.embed(wav)
        return e, torch.sigmoid(self.fc_out(e))

    def save_pretrained(self, directory):
        from safetensors.torch import save_file

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / "config.json").write_text(json.dumps(asdict(self.config), indent=2, sort_keys=True) + "\n")
        save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(d / "model.safetensors"))

    @classmethod
    def from_pretrained(cls, directory, device="cpu"):
        from safetensors.torch import load_file

        d = Path(directory)
        raw = json.loads((d / "config.json").read_text())
        if raw.get("model_type") != "emsync_audio_tagger":
            raise ValueError(f"{d}/config.json is not an emsync audio tagger (model_type={raw.get('model_type')!r})")
        model = cls(AudioTaggerConfig(**raw))
        model.load_state_dict(load_file(str(d / "model.safetensors")))
        return model.to(device).eval()

"""Write params/demo.yaml, params/thesis.yaml and params.yaml from the dataclasses in
emsync/core/config.py (the defaults are the demo set) plus THESIS below.

Every key is written out with the comment it carries in config.py (thesis sections included),
so the YAML files are complete and DVC tracks every value. tests/test_params_load.py checks
the files are in sync with this script. Run: python scripts/write_params.py
"""

import dataclasses
import io
import re
import sys
import tokenize
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emsync.core import config  # noqa: E402  (after the sys.path line above)
from emsync.core.io import write_text  # noqa: E402

SHARED = "../shared/data"  # the thesis set reads real data in place from here

# The thesis's real sizes, model ids and data paths (sections cited in config.py).
THESIS = {
    "demo_data": {},
    "labeling": {
        "midi_dir": "data/lmd_full",  # LMD-full: 178,561 files (§3.1)
        "match_scores": "data/lmd_matched/match_scores.json",
        "msd_metadata": "data/lmd_matched/msd_metadata.parquet",
        "spotify_map": "data/lmd_matched/echonest_to_spotify.csv",
        "audio_features_archive": f"{SHARED}/lakh_spotify/cleansed_features.csv",
        "verify_every": 100,
        "shard_size": 1000,
    },
    "tokens": {
        "midi_dir": "data/lpd_5/lpd_5_full",  # §4.3 LPD-5 *full*: 174,154 piano rolls; tokens.labels keeps the §3.1 unique ones
        "max_boundary_offset_s": 10.0,
    },
    "train": {
        "config": "37m",  # §6.2: 11 layers, 8 heads, d 512
        "conditioning": "continuous_token",  # §6.2 picks continuous-token
        "steps": 600000,  # §6.2: 300k at 2e-4, then 300k at 5e-5
        "batch_size": 64,
        "lr": 2e-4,
        "lr_after": 5e-5,
        "lr_switch_step": 300000,
        "seq_len": 1216,
        "checkpoint_every": 5000,
        "log_every": 100,
        "micro_batch": 16,
        "device": "cuda",
    },
    # the thesis set's commands generate with the model its own train stage makes (the 37M on LPD-5)
    "generate": {"window": 1216, "device": "cuda", "checkpoint": "data/models/music/checkpoint.pt", "sampling": "params"},
    # §5.2.2.3: frames at 1 per second; the cap (10 min) holds every MovieNet trailer the §5.2.3.3
    # duration filter keeps (<= 214.4 s) and most Ekman-6 videos whole, longer ones evenly thinned
    "video": {"n_frames": 600},
    "classify": {
        "emotion_dataset": "ekman6",  # §5.2.2.1
        "genre_dataset": "movienet",  # §5.2.3.1
        "ekman6_dir": "data/videos/ekman6",  # one folder per dataset under features.videos_dir
        "features_dir": "data/features",
        "emotion_inputs": ["clip", "beats", "faces", "asr", "ocr"],  # §5.2.2.1: n CLIP, n BEATs, k faces, ASR + OCR sentiment
        "emotion_model": {"d_model": 512, "n_heads": 4, "dropout": 0.5},  # §5.2.2.3 (~11M with BEATs)
        "genre_models": {
            "mlp": {"n_layers": 1, "dropout": 0.5},  # §5.2.3.3
            # §5.2.3.3's stated widths and the author's 530-entry position tables: 2.84M / 1.10M
            # (the thesis's 8.56M / 6.98M need 5000-entry tables and, multi, no 128 projection)
            "single_transformer": {"d_model": 256, "n_layers": 2, "n_heads": 8, "max_positions": 530, "dropout": 0.5},
            "multi_transformer": {"d_model": 128, "n_layers": 1, "n_heads": 8, "max_positions": 530, "dropout": 0.5},
            "baseline": {"d_model": 768, "mlp_layers": 2, "n_layers": 1, "n_heads": 4, "dropout": 0.5},  # §5.2.3.3
        },
        "steps": 200000,
        "lr": 1e-5,
        "batch_size": 32,
        "val_fraction": 0.1,
        "eval_every": 5000,
        "patience": 20,
        "device": "cuda",
    },
    "evaluate": {
        "regressor_layers": 8,  # §4.5
        "regressor_d_model": 768,
        "regressor_heads": 16,
        "regressor_d_ff": 3072,
        "regressor_window": 1216,
        "regressor_batch_size": 32,
        "regressor_lr": 1e-4,
        "hit_duration_s": 60.0,  # one-minute videos (§6.3.1)
        "regressor_steps": 100000,
        "samples_per_condition": 8,
        "sample_tokens": 4096,
        "max_test_chunks": 0,
        "hit_samples": 100,
        "device": "cuda",
    },
    "features": {
        "videos_dir": "data/videos",  # one folder per dataset: ekman6/ (release layout), movienet/<youtube_id>.mp4
        "extractors": [
            "clip",
            "audio",
            "beats",
            "music",
            "vit",
            "ast",
            "faces",
            "asr",
            "ocr",
            "sentiment",
            "tokens",
        ],  # §5.2.1: Audiotag + Music for genre, BEATs for emotion; §5.2.3.2: ViT + AST baseline
        "models_dir": "data/pretrained",
        "device": "cuda",
        "models": {  # §5.2.1: the thesis's pretrained models (download them where a hub is reachable)
            "clip": "open_clip:ViT-B-32/openai",  # OpenAI's CLIP ViT-B/32 (open_clip's openai tag)
            "audio": "data/pretrained/panns_audiotag",
            "beats": "data/pretrained/beats",  # §5.2.1 BEATs: one official checkpoint .pt (microsoft/unilm)
            "music": "data/pretrained/music_tagger",
            "vit": "google/vit-base-patch16-224",  # §5.2.3.2 baseline (the thesis names no checkpoint)
            "ast": "MIT/ast-finetuned-audioset-10-10-0.4593",  # §5.2.3.2 baseline: AudioSet AST (Gong et al. 2021)
            "faces": {"classifier": "trpakov/vit-face-expression", "detector": "arnabdhar/YOLOv8-Face-Detection"},
            "asr": "Systran/faster-whisper-large-v2",
            "ocr": {
                "ocr": "pkg:rapidocr",
                "langid": "papluca/xlm-roberta-base-language-detection",
                "segmenter": "pkg:symspell",
                "spell": "ai-forever/T5-large-spell",
                "translate": "facebook/nllb-200-distilled-600M",
            },
            "sentiment": "cardiffnlp/twitter-roberta-base-sentiment",
            "tokens": "distilbert/distilbert-base-uncased",
        },
    },
    "soundtrack": {
        "videos_dir": "data/eval_videos",  # §6.3.1: the 48 EmoMV-C + 24 Ads evaluation videos, never training videos
        "max_videos": 0,  # §6.3.1: every evaluation video
        "flow_max_side": 0,  # §6.3.2 AV-Align: optical flow at the native frame size, as Yariv et al.'s reference
        "exclude_audio_features": True,  # §6.3.1: "We exclude auditory features during the emotion classification"
    },
    "bandwidth": {  # Chapter 7
        "dsd100_dir": "data/DSD100",  # §7.3
        "medleydb_dir": "data/MedleyDB",
        "folders": [],
        "val_songs": 8,
        "val_duration_s": 8.0,
        "crop": 8192,  # §7.5
        "unet_channels": [128, 256, 512, 512],  # §7.1.1: 56.4M
        "unet_bottleneck": 512,
        "resnet_blocks": 15,  # §7.1.2: 55.1M
        "resnet_channels": 512,
        "steps": 200000,  # §7.5 trains "until convergence" (no number given): our choice
        "plateau_every": 2500,
        "eval_every": 2500,
        "checkpoint_every": 2500,
        "vggish_model": "data/pretrained/vggish",  # §7.4.1: the torch port of VGGish (folder or .pth)
        "device": "cuda",
    },
    "train_lyrics": {  # §3.2.1.2: fine-tune DistilBERT on GoEmotions (GPU)
        "data_dir": f"{SHARED}/goemotions/data/original",
        "init": "distilbert-base-uncased",
        "size": "thesis",
        "vocab_size": 30522,
        "lr_7": 5e-5,
        "lr_28": 3e-5,
        "max_epochs": 10,
        "patience": 3,
        "device": "cuda",
    },
    "lyrics": {
        "midi_dir": "data/lmd_full",
        "archive_dir": f"{SHARED}/lyrics_emotions",
        "shard_size": 1000,
        "device": "cuda",
    },
}


def _comments(cls) -> dict:
    """{field: trailing comment} from the dataclass's source lines."""
    import inspect

    out = {}
    src = inspect.getsource(cls)
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.COMMENT:
            line = tok.line
            m = re.match(r"\s+(\w+):", line)
            if m:
                out[m.group(1)] = tok.string.lstrip("# ").strip()
    head = [ln.strip().lstrip("# ").strip() for ln in src.splitlines()[1:] if ln.strip().startswith("#")]
    out["__head__"] = head[0] if head else ""
    return out


def _dump_value(v):
    s = yaml.safe_dump(v, default_flow_style=True, sort_keys=False, allow_unicode=True, width=10**6).strip()
    return s.removesuffix("...").strip()  # scalars end with a document marker


def render(overrides: dict, title: str) -> str:
    p = config.Params()
    lines = [
        f"# {title}",
        "# Generated by scripts/write_params.py from emsync/core/config.py; edit values freely,",
        "# unknown keys and values outside the [range] beside each key fail loudly (emsync params check).",
        "",
    ]
    for section in dataclasses.fields(p):
        obj = getattr(p, section.name)
        cls = type(obj)
        notes = _comments(cls)
        head = f"  # {notes['__head__']}" if notes.get("__head__") else ""
        lines.append(f"{section.name}:{head}")
        over = overrides.get(section.name, {})
        checks = config.field_checks(cls)
        for f in dataclasses.fields(cls):
            value = over.get(f.name, getattr(obj, f.name))
            note = "; ".join(x for x in [notes.get(f.name)] + [f"[{c.describe()}]" for c in checks[f.name]] if x)
            c = f"  # {note}" if note else ""
            if isinstance(value, dict) and value:
                lines.append(f"  {f.name}:{c}")
                for k, v in value.items():
                    lines.append(f"    {k}: {_dump_value(v)}")
                continue
            lines.append(f"  {f.name}: {_dump_value(value)}{c}")
        lines.append("")
    return "\n".join(lines)


def main():
    demo = render({}, "emsync demo parameter set: small sizes that run end to end on 2 CPU cores, offline.")
    thesis = render(THESIS, "emsync thesis parameter set: the real sizes, model ids and data paths of Sulun (2025).")
    # both must load cleanly
    config.params_from_dict(yaml.safe_load(demo), "demo")
    config.params_from_dict(yaml.safe_load(thesis), "thesis")
    out = {ROOT / "params" / "demo.yaml": demo, ROOT / "params" / "thesis.yaml": thesis, ROOT / "params.yaml": demo}
    if "--check" in sys.argv:
        stale = [str(k.relative_to(ROOT)) for k, v in out.items() if not k.exists() or k.read_text() != v]
        if stale:
            print("out of date: " + ", ".join(stale) + " (run python scripts/write_params.py)")
            return 1
        return 0
    for path, text in out.items():
        write_text(path, text)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

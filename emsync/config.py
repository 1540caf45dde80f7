"""Pipeline parameters: params.yaml -> validated, frozen dataclasses, one per stage.

params.yaml is the active set (the small *demo* set on main). `params/thesis.yaml` holds the
thesis's real sizes, model ids and data paths; `emsync params use thesis` makes it active.
Thesis sections are cited beside each constant (S. Sulun, Video-based Music Generation, 2025).

Unknown keys and wrong types fail loudly with the key's dotted path, so a typo can never silently
fall back to a default.
"""
import dataclasses
import difflib
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from emsync.errors import ParamsError



def project_root(required: bool = True) -> Path | None:
    """The project the user stands in, found like git and dvc find theirs: `EMSYNC_ROOT` if set,
    else the nearest folder holding dvc.yaml, from the working directory upward. Never the
    package's install folder, so an install serves any clone and `dvc exp run --temp` copies.
    Every relative path in params is relative to this folder. Outside a project: ParamsError,
    or None when not `required`."""
    env = os.environ.get("EMSYNC_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if (d / "dvc.yaml").is_file():
            return d
    if not required:
        return None
    raise ParamsError(f"no emsync project here: no dvc.yaml in {here} or any folder above it (cd into a clone, or set EMSYNC_ROOT)")


def shared_data_dir() -> Path:
    """The read-only real-data folder (the one setting: EMSYNC_SHARED_DATA, default ../shared/data)."""
    env = os.environ.get("EMSYNC_SHARED_DATA")
    return Path(env).resolve() if env else (project_root().parent / "shared" / "data").resolve()


def default_reports_dir() -> Path:
    """Where reports go when no folder is given (EMSYNC_REPORTS_DIR, default <repo>/reports)."""
    env = os.environ.get("EMSYNC_REPORTS_DIR")
    return Path(env) if env else project_root() / "reports"


# --------------------------------------------------------------------------------------------
# one dataclass per params.yaml section


@dataclass(frozen=True)
class PathsParams:
    data_dir: str = "data"  # every stage's outputs live under here (relative to the repo root)
    reports_dir: str = "reports"
    store: str = "data/emsync.duckdb"  # DuckDB file with one view per Parquet table


@dataclass(frozen=True)
class DemoDataParams:
    # issue 2 item 6: seeded offline corpus (emsync/demo); layout in docs/data_layout.md
    out_dir: str = "data/demo"
    seed: int = 1234
    n_midi: int = 200  # LMD-like corpus size (excluding planted duplicates and broken files)
    n_duplicates: int = 12  # planted content duplicates (same notes, other bytes/metadata/track order)
    n_corrupt: int = 3  # random bytes / bad header
    n_truncated: int = 3  # cut mid-track
    n_zero_notes: int = 2  # valid MIDI without notes (plus one empty 0-byte file)
    n_videos: int = 12
    video_min_s: float = 10.0
    video_max_s: float = 60.0  # video 5 is this long; the others last min_s..2*min_s
    n_audio: int = 4  # full-band 44.1 kHz stereo renders (bandwidth-extension study, §7.3)
    audio_sr: int = 44100
    n_text: int = 300  # GoEmotions-format labelled sentences (§3.2.1.1)


@dataclass(frozen=True)
class LabelingParams:
    # §3.1, §4.3
    midi_dir: str = "data/demo/midi"
    match_scores: str = "data/demo/lmd/match_scores.json"
    msd_metadata: str = "data/demo/lmd/msd_metadata.parquet"
    spotify_map: str = "data/demo/lmd/echonest_to_spotify.csv"
    audio_features_source: str = "archive"  # archive | api (Spotify deprecated audio-features in Nov 2024)
    audio_features_archive: str = "data/demo/lmd/spotify_features.csv"
    max_tempo_bpm: float = 1000.0  # validation: absurd tempo -> reject
    max_duration_s: float = 3600.0  # validation: absurd length -> reject
    valence_zero_is_missing: bool = True  # §4.3: the peak at 0.0 marks missing values
    arousal_feature: str = "tempo"  # tempo | note_density (§4.3: tempo, drums only)
    arousal_tempo_min: float = 50.0  # §4.3 empirical bounds
    arousal_tempo_max: float = 150.0
    test_fraction: float = 0.05  # §4.3: last 5 % of matched files sorted by name
    fast_hash: bool = True  # §3.1 dedup via symusic (same hashes as the pretty_midi reference; tested)
    verify_every: int = 10  # re-read ~1 in N fast-path files with the pretty_midi reference (0 = off)
    roll_fs: int = 100  # §3.1 piano-roll frames per second (pretty_midi's default)
    workers: int = 2  # processes for validate + hash + features
    shard_size: int = 100  # files per cached Prefect task
    spotify_search: bool = True  # api source: search fallback for tracks without a mapped Spotify id
    spotify_api_base: str = "https://api.spotify.com/v1/"
    spotify_token_url: str = "https://accounts.spotify.com/api/token"
    spotify_cache_dir: str = "data/labeling_cache/spotify"  # persistent across runs (not a DVC out)
    json_export: bool = True  # Listing 3.1 JSON per matched file under data/labeling/json/


@dataclass(frozen=True)
class TokensParams:
    # §2.1, §4.1, §4.3, §4.4
    time_step_ms: int = 8
    max_shift_ms: int = 1000
    pitch_min: int = 21
    pitch_max: int = 108
    chord_min_notes: int = 3  # §4.1 strong chord: guitar or piano, >= 3 simultaneous notes
    chord_min_beats: float = 2.0  # ... lasting >= 2 beats
    max_boundary_offset_s: float = 10.0  # cap on time-to-next-boundary (§4.1)
    start_prob: float = 0.05  # §4.4 chunk from song start with this probability
    transpose_min: int = -3  # §4.4 augmentation (drums never transposed)
    transpose_max: int = 3
    chord_dropout: float = 0.2  # §4.1 randomly remove 20 % of CHORD tokens in training
    n_condition_bins: int = 5  # §4.2 discrete-token mode
    midi_dir: str = "data/demo/midi"  # §4.3 corpus: .mid/.midi/.kar/.npz (LPD-5 full on the thesis set)
    npz_assume_4_4: bool = False  # .npz marking < 2 downbeats: fill bars in at 4/4 (true only for LPD cleansed, all 4/4); else a reject
    labels: str = "data/labeling/labels.parquet"  # §3.1 unique list: only its midi_ids are tokenized (+ valence, arousal, split); absent: every file, NaN labels
    out_dir: str = "data/tokens"  # vocab.json, shards/*.npy, index.parquet
    shard_files: int = 2000  # songs per .npy shard
    test_fraction: float = 0.05  # §4.3 split used only when labels are absent: last 5 % by name


@dataclass(frozen=True)
class TrainParams:
    # §4.4, §6.2. Defaults are the demo set (tiny model, a few hundred CPU steps); the thesis set
    # (params/thesis.yaml) trains 37m with lr 2e-4 -> 5e-5 at 300k of 600k steps, batch 64.
    config: str = "tiny"  # tiny | 37m (§6.2) | 145m (§4.4)
    conditioning: str = "continuous_token"  # vanilla | discrete_token | continuous_token | continuous_concat
    use_boundaries: bool = True
    steps: int = 300  # thesis §6.2: 600000
    batch_size: int = 8  # thesis §6.2: 64
    lr: float = 1e-3  # thesis §6.2: 2e-4 for 300k steps ... (the tiny demo model needs a larger lr)
    lr_after: float = 2.5e-4  # ... then 5e-5
    lr_switch_step: int = 250  # thesis: 300000
    grad_clip: float = 1.0
    chord_loss_weight: float = 10.0  # §4.1
    dropout: float = 0.0  # §6.2: no regularisation
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda (AMP on CUDA only)
    checkpoint_every: int = 50  # steps between resumable state saves (train_state.pt beside the checkpoint)
    log_every: int = 5  # steps averaged into one row of reports/train_loss.csv
    seq_len: int = 0  # tokens per training chunk; 0 = the model's window (§4.4: 1216; tiny: 256)
    micro_batch: int = 0  # rows per forward/backward, gradients accumulated to batch_size; 0 = whole batch
    checkpoint: str = "data/models/music/checkpoint.pt"  # the DVC out


STRIDE_NAMES = ("exact", "thesis", "cpu")


@dataclass(frozen=True)
class GenerateParams:
    # §4.1 Algorithm 1, §4.4, §6.2
    top_p: float = 0.7
    temperature: float = 1.2
    min_nucleus: int = 3  # raise the temperature when the nucleus holds fewer tokens
    window: int = 1216
    boundary_sensitivity_s: float = 1.0  # ξ in Algorithm 1
    chord_velocity_boost: int = 20
    fade_out_s: float = 3.0  # §6.2 fade-out of the rendered audio
    temperature_step: float = 0.1  # §4.4 "slightly increase": added per step while the nucleus is starved
    slide_stride: int | str = 64  # §4.4 window slide: 64 keeps a mean context of 1184.5/1216 (97 %); 1 or exact = the thesis's every-token slide; cpu = 608 (CPU speed preset, mean 75 %)
    primer: str = "start_bar"  # §4.4: start_bar ([START, BAR]) | bar (abrupt start)
    instruments: str = "more"  # §4.3: more | fewer (MORE_/FEWER_INSTRUMENTS head token)
    checkpoint: str = "data/models/music/checkpoint.pt"  # the train stage's DVC out
    device: str = "auto"  # auto | cpu | cuda
    cuda_graph: bool = True  # capture the decode step as a CUDA graph on GPU (ignored on CPU)
    max_tokens_per_s: float = 250.0  # safety budget when generating to a duration
    cpu_int8: bool = True  # CPU only: int8 dynamic-quantized Linear layers (faster batch-1 generation, README "Speed"; sampling TV ~0.02)
    cpu_threads: int = 1  # CPU only: torch threads while generating (0 = torch's default); 1 is fastest on a shared 2-core box

    def __post_init__(self):
        s = self.slide_stride  # names: models.generation.STRIDE_PRESETS (a test keeps the two in step)
        if (isinstance(s, str) and s not in STRIDE_NAMES) or (isinstance(s, int) and s < 1):
            raise ParamsError(f"generate.slide_stride {s!r}: a positive integer or one of {', '.join(STRIDE_NAMES)}")


@dataclass(frozen=True)
class EvaluateParams:
    # §4.5, §6.4. Defaults are the demo set (minutes on 2 CPU cores); thesis sizes in comments.
    regressor_layers: int = 2  # thesis §4.5: 8
    regressor_steps: int = 200
    condition_values: list = field(default_factory=lambda: [-0.8, -0.4, 0.0, 0.4, 0.8])  # §4.5: 5 x 5 bin midpoints
    samples_per_condition: int = 2  # thesis §4.5: 8
    sample_tokens: int = 512  # thesis §4.5: 4096
    hit_tolerance_s: float = 1.0  # §6.4 boundary hit: a generated CHORD within ξ = 1 s
    checkpoints: list = field(default_factory=list)  # extra generator checkpoints (Table 4.1 rows); [] = train.checkpoint only
    max_test_chunks: int = 0  # 0 = the whole test split (§4.5); a number caps it
    batch_size: int = 50  # test chunks per forward pass (NLL/top-k) and samples per generation batch
    regressor_d_model: int = 64  # thesis: 768 (the §4.4 music transformer's width)
    regressor_heads: int = 2  # thesis: 16
    regressor_d_ff: int = 128  # thesis: 3072
    regressor_batch_size: int = 8
    regressor_lr: float = 1e-3
    regressor_window: int = 256  # thesis §4.5: 1216-token windows (50 % overlap when applied)
    regressor_checkpoint: str = "data/models/regressor/checkpoint.pt"  # DVC out of the evaluate stage
    hit_samples: int = 8  # generated samples per mode (with / without offsets) for the hit rate
    hit_duration_s: float = 30.0  # length of each; boundaries drawn with 4-10 s gaps (§6.2: >= 4 s)
    seed: int = 0
    device: str = "auto"


@dataclass(frozen=True)
class VideoParams:
    # §5.1, §6.2
    scene_threshold: float = 0.27  # ffmpeg scene score: average pixel difference > 27 %
    min_boundary_gap_s: float = 4.0  # drop cuts < 4 s after the previous kept one (the video start counts)
    n_frames: int = 16  # §5.2.2.1 frames per video for emotion
    audio_sr: int = 16000
    cut_method: str = "ffmpeg"  # ffmpeg (the definition) | pyav (same scores in-process) | scenedetect-content | scenedetect-adaptive (PySceneDetect's own, not §5.1)
    frame_mode: str = "equidistant"  # equidistant (test) | random (training) | mid_scene (genre, §5.2.3.1)
    seed: int = 0  # random frame positions
    max_side: int = 768  # sampled frames are downscaled so their longer side is at most this (memory bound)


@dataclass(frozen=True)
class FeaturesParams:
    # §5.2.1: one extractor per pretrained model; demo ids are small local models
    videos_dir: str = "data/demo/videos"
    models_dir: str = "data/demo_models"  # folder of this set's local model copies (the features stage's DVC dep; hub ids come from the HF cache)
    # order matters: sentiment and tokens read the asr + ocr text of the same video
    extractors: list = field(default_factory=lambda: ["clip", "audio", "music", "vit", "ast", "faces", "asr", "ocr", "sentiment", "tokens"])
    task_runner: str = "default"  # default | dask
    device: str = "cpu"
    # extractor -> model ref: hub id, local dir or pkg:<name>; multi-model extractors (faces, ocr) take
    # {role: ref} ("none" disables a role). Missing -> the thesis model (§5.2.1), see emsync/video/extractors/
    models: dict = field(default_factory=lambda: {  # extractor -> hub id, local dir or pkg:<shipped weights>
        "clip": "data/demo_models/clip",
        "audio": "data/demo_models/audio",
        "beats": "data/demo_models/beats",
        "music": "data/demo_models/music",
        "vit": "data/demo_models/vit",  # §5.2.3.2 genre baseline: frozen ViT per frame
        "ast": "data/demo_models/ast",  # ... and frozen AST per 10 s audio chunk
        "faces": {"classifier": "data/demo_models/face_expression", "detector": "pkg:opencv-haar"},
        "asr": "data/demo_models/whisper",
        "ocr": {"ocr": "pkg:rapidocr", "langid": "pkg:py3langid", "segmenter": "pkg:symspell", "spell": "none", "translate": "none"},
        "sentiment": "data/demo_models/sentiment",
        "tokens": "data/demo_models/distilbert",
    })
    sampling: dict = field(default_factory=dict)  # extractor -> {mode, n_frames} overriding the video section
    dask_workers: int = 1  # local Dask cluster (threads, processes=False) when task_runner is dask
    dask_threads: int = 2


@dataclass(frozen=True)
class EmotionParams:
    # §6.1: scale so the largest |mean| over emotion categories is 0.8
    max_abs_mean: float = 0.8


@dataclass(frozen=True)
class SoundtrackParams:
    # §6.2 `emsync soundtrack` / `emsync render`: FluidSynth render + ffmpeg mux (fade: generate.fade_out_s)
    sample_rate: int = 44100  # rendered WAV: 44.1 kHz stereo
    soundfont: str = ""  # "" = TimGM6mb.sf2 shipped in pretty_midi (GM)
    peak_db: float = -3.0  # §6.3: peak normalisation up to -3 dB
    audio_bitrate: str = "192k"  # AAC in the muxed video
    keep_audio_db: float = -6.0  # --keep-audio: gain of the video's own audio under the music
    videos_dir: str = "data/demo/videos"  # the soundtrack stage scores every video of this folder (§6.3.1)
    conditions: list = field(default_factory=lambda: ["emsync", "no_boundaries", "neutral", "random_emotion"])  # §6.3: full EMSYNC + ablations
    seed: int = 0  # the soundtrack stage: one sampling seed shared by a video's conditions
    flow_max_side: int = 160  # AV-Align: Farnebäck optical flow on frames downscaled to this longer side
    long_video_s: float = 1800.0  # the soundtrack stage scores longer videos one item at a time (each render holds its whole track in memory)


@dataclass(frozen=True)
class ClassifyParams:
    # §5.2.2 VEMOCLAP (emotion) and §5.2.3 (genre): data, training through the engine, checkpoints
    emotion_dataset: str = "demo"  # demo (labels planted in data/demo) | ekman6
    genre_dataset: str = "demo"  # demo | movienet
    demo_ground_truth: str = "data/demo/ground_truth/videos.json"
    ekman6_dir: str = ""  # Ekman-6: <emotion>/<name>.mp4 + train.txt / test.txt (emsync/classify/datasets.py)
    movienet_csv: str = "../shared/data/movienet/trailers_genres_clean.csv"
    movienet_splits: str = "../shared/data/movienet/splits.json"
    features_dir: str = "data/features"
    emotion_inputs: list = field(default_factory=lambda: ["clip", "audio", "faces", "asr", "ocr"])  # §5.2.2.1 VEMOCLAP inputs: extractor tables + asr/ocr sentiment (thesis: beats for audio)
    blacklist: bool = True  # §5.2.2.4: train the soundtrack's emotion model without blacklisted Ekman-6 videos
    # VEMOCLAP size (§5.2.2.3: d 512, 4 heads, dropout 0.5); demo: small
    emotion_model: dict = field(default_factory=lambda: {"d_model": 64, "n_heads": 4, "dropout": 0.1})
    # §5.2.3.3 genre models (thesis: mlp 1 layer; single 256/2 layers/8 heads; multi native widths/1 layer/8 heads)
    genre_models: dict = field(default_factory=lambda: {
        "mlp": {"n_layers": 2, "d_hidden": 64, "dropout": 0.1},
        "multi_transformer": {"d_model": 32, "n_heads": 4, "max_positions": 256, "dropout": 0.1},
        "baseline": {"d_model": 32, "n_heads": 4, "max_positions": 256, "dropout": 0.1},  # §5.2.3.2 ViT + AST, two-stage
    })
    emotion_checkpoint: str = "data/models/emotion/checkpoint.pt"  # `emsync emotion`, soundtrack without flags
    genre_dir: str = "data/models/genre"  # <genre_dir>/<model>/checkpoint.pt
    genre_checkpoint: str = "data/models/genre/multi_transformer/checkpoint.pt"  # `emsync genre`
    n_frames: int = 16  # §5.2.2.3: random positions in training, equidistant at test time
    steps: int = 150  # optimizer steps (thesis: up to 200,000 with early stopping)
    lr: float = 1e-3  # Adam (thesis: 1e-5)
    batch_size: int = 8  # thesis: 32
    val_fraction: float = 0.0  # §5.2.2.3: 10 % of training for validation (demo: 1 training video per emotion)
    eval_every: int = 0  # steps between validation runs (0 = none)
    patience: int = 0  # validation runs without improvement before stopping (0 = never)
    pos_weight: float = 0.25  # §5.2.3.3 weight of positive labels in the genre BCE
    ablation: bool = True  # Table 5.4: evaluate_classifiers retrains the genre classifier per feature set
    seed: int = 0
    device: str = "cpu"  # auto | cpu | cuda
    soundtrack_uses_classifier: bool = True  # soundtrack without emotion flags runs the emotion classifier


@dataclass(frozen=True)
class BandwidthParams:
    # Chapter 7 (emsync/bandwidth); demo: tiny nets, CPU steps; thesis set: §7.1 sizes, DSD100 + MedleyDB, §7.5
    cutoff_hz: int = 11025  # §7.3 low-pass cut-off: half the bandwidth of 44.1 kHz audio
    sample_rate: int = 44100
    dsd100_dir: str = ""  # §7.3 DSD100 root (Mixtures/Dev, Mixtures/Test); "" = none
    medleydb_dir: str = ""  # §7.3 MedleyDB 2.0 root (Audio/<song>/<song>_MIX.wav); "" = none
    folders: list = field(default_factory=lambda: ["data/demo/audio"])  # any folders of wav/flac/ogg songs
    folder_test_songs: int = 1  # the last N songs of each folder are test songs
    val_songs: int = 1  # §7.3: the last 8 training songs of DSD100 Dev
    val_offset_s: float = 8.0  # §7.4.3: validation excerpts start at second 8 ...
    val_duration_s: float = 2.0  # ... and last 8 s (thesis)
    cache_dir: str = "data/bandwidth/cache"  # each song decoded once to int16 .npy (not a DVC out)
    out_dir: str = "data/bandwidth"  # <variant>/checkpoint.pt
    variants: list = field(default_factory=lambda: ["unet", "unet_da", "unet_bn", "unet_do", "resnet", "resnet_da", "resnet_bn", "resnet_do"])  # §7.2.3
    unet_channels: list = field(default_factory=lambda: [8, 8, 16, 16])  # §7.1.1: 128, 256, 512, 512
    unet_kernels: list = field(default_factory=lambda: [65, 33, 17, 9])  # §7.1.1 (Audio-SR-U-Net)
    unet_bottleneck: int = 16  # §7.1.1: 512
    resnet_blocks: int = 2  # §7.1.2: 15
    resnet_channels: int = 16  # §7.1.2: 512
    resnet_kernel: int = 7
    dropout: float = 0.5  # §7.2.1, the DO variants
    crop: int = 2048  # §7.5: 8192 (186 ms stereo crops); demo: 2048 so 120 CPU steps fit in seconds
    batch_size: int = 8  # §7.5
    lr: float = 5e-4  # §7.5 Adam, betas 0.9 / 0.999
    steps: int = 120  # §7.5: "until convergence" (demo: enough for the best variant to beat the input SNR on CPU)
    plateau_every: int = 10  # §7.5: the mean training loss is recorded every 2500 iterations ...
    plateau_patience: int = 5  # ... and the lr halves after 5 records without a decrease
    eval_every: int = 30  # §7.4.3: validation every 2500 iterations
    checkpoint_every: int = 60  # steps between resumable state saves
    eval_chunk: int = 131072  # samples per forward pass when enhancing whole songs (output unchanged)
    vggish_model: str = "data/demo_models/vggish"  # §7.4.1 VGG distance: a VGGish folder (config.json + model.safetensors) or .pth; demo: tiny random weights; "" = SNR only
    identity_init: bool = True  # zero the output conv so the untrained net returns its input (§7.5 draws N(0, 1) weights)
    seed: int = 0
    device: str = "auto"


@dataclass(frozen=True)
class TrainLyricsParams:
    # §3.2.1: the GoEmotions multi-label classifiers (7 Ekman + neutral, 28), DistilBERT + sigmoid head
    data_dir: str = "data/demo/goemotions"  # {train,dev,test}.tsv in GoEmotions' original (28-label) layout
    out_dir: str = "data/models/lyrics"  # <out_dir>/7 and <out_dir>/28: weights, config, tokenizer, cut-off
    init: str = ""  # "" = random weights + a WordPiece tokenizer trained on the train split; else a hub id or folder
    size: str = "tiny"  # tiny | mini | small | thesis (6 layers, 12 heads, 768: 67M)
    vocab_size: int = 2000  # WordPiece vocabulary when init is "" (distilbert-base-uncased: 30522)
    max_length: int = 128  # training tokens per comment (GoEmotions comments are short)
    dropout: float = 0.1  # §3.2.1.2
    grad_clip: float = 1.0  # §3.2.1.2
    batch_size_7: int = 16  # §3.2.1.2
    batch_size_28: int = 32  # §3.2.1.2
    lr_7: float = 3e-3  # thesis §3.2.1.2: 5e-5 (fine-tuning; a tiny random model needs more)
    lr_28: float = 3e-3  # thesis: 3e-5
    max_epochs: int = 80  # thesis §3.2.1.2: early stopping picked 10 epochs (the 240-row demo set needs more)
    eval_every: int = 0  # steps between dev evaluations; 0 = once per epoch
    patience: int = 20  # dev evaluations without a better macro-F1 before stopping (thesis set: 3)
    max_steps: int = 0  # 0 = max_epochs worth of steps; a number caps the run
    max_train_rows: int = 0  # 0 = every training row; a number caps it (bounded runs)
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda


@dataclass(frozen=True)
class LyricsParams:
    # §3.2.2, §3.2.3.2: lyrics of every valid MIDI file -> 7 + 28 emotion probabilities per midi_id
    midi_dir: str = "data/demo/midi"
    files: str = "data/labeling/files.parquet"  # the labeling stage's valid files (midi_id)
    va_labels: str = "data/labeling/labels.parquet"  # valence/arousal per midi_id, joined in the store
    models: str = "data/models/lyrics"  # the train_lyrics stage's out: <models>/7, <models>/28
    language: str = "en"  # §3.2.2: English lyrics ...
    min_words: int = 50  # ... with at least 50 words
    max_tokens: int = 512  # §3.2.2: truncation length at inference
    batch_size: int = 16
    shard_size: int = 100  # files per cached extraction task
    archive_dir: str = ""  # the author's 7labels.csv / 28labels.csv folder, imported as a label source ("" = none)
    listing_files: int = 3  # files in the Listing 3.2-style report
    count_threshold: float = 0.1  # Figure 3.2 / Listing 3.2: a label is present above this
    out_dir: str = "data/lyrics"
    device: str = "auto"


@dataclass(frozen=True)
class LimitsParams:
    # issue 10: bounds on any user input, checked before the work starts (thesis scales: a song of
    # minutes, an LMD file well under 1 MB, a film of a few hours). The MIDI duration and tempo
    # limits are the validator's (labeling.max_duration_s, labeling.max_tempo_bpm).
    max_midi_mb: float = 64.0  # MIDI files larger than this are refused unread
    max_video_duration_s: float = 14400.0  # videos (and render --duration) longer than 4 h are refused
    max_generate_duration_s: float = 14400.0  # generate/soundtrack: seconds of music per request


@dataclass(frozen=True)
class Params:
    paths: PathsParams = field(default_factory=PathsParams)
    demo_data: DemoDataParams = field(default_factory=DemoDataParams)
    labeling: LabelingParams = field(default_factory=LabelingParams)
    tokens: TokensParams = field(default_factory=TokensParams)
    train: TrainParams = field(default_factory=TrainParams)
    generate: GenerateParams = field(default_factory=GenerateParams)
    evaluate: EvaluateParams = field(default_factory=EvaluateParams)
    video: VideoParams = field(default_factory=VideoParams)
    features: FeaturesParams = field(default_factory=FeaturesParams)
    emotion: EmotionParams = field(default_factory=EmotionParams)
    soundtrack: SoundtrackParams = field(default_factory=SoundtrackParams)
    classify: ClassifyParams = field(default_factory=ClassifyParams)
    bandwidth: BandwidthParams = field(default_factory=BandwidthParams)
    train_lyrics: TrainLyricsParams = field(default_factory=TrainLyricsParams)
    lyrics: LyricsParams = field(default_factory=LyricsParams)
    limits: LimitsParams = field(default_factory=LimitsParams)

    def path(self, rel) -> Path:
        """A params path resolved against the repository root (absolute paths pass through)."""
        p = Path(rel)
        return p if p.is_absolute() else project_root() / p


# --------------------------------------------------------------------------------------------
# strict loading


def _check_type(value, tp, where):
    origin = typing.get_origin(tp)
    if tp is typing.Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _check_type(value, arg, where)
            except ParamsError:
                pass
        raise ParamsError(f"{where}: {value!r} is not of type {tp}")
    if tp is type(None):
        if value is None:
            return None
        raise ParamsError(f"{where}: expected null, got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ParamsError(f"{where}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ParamsError(f"{where}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ParamsError(f"{where}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ParamsError(f"{where}: expected a string, got {value!r}")
    if tp is list or origin is list:
        if isinstance(value, list):
            return value
        raise ParamsError(f"{where}: expected a list, got {value!r}")
    if tp is dict or origin is dict:
        if isinstance(value, dict):
            return value
        raise ParamsError(f"{where}: expected a mapping, got {value!r}")
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    return value


def _build(cls, raw, where):
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParamsError(f"{where}: expected a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in raw:
        if key not in names:
            near = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else f" (known: {', '.join(names)})"
            raise ParamsError(f"unknown key '{where}.{key}'{hint}".replace("'.", "'"))
    kwargs = {k: _check_type(v, hints[k], f"{where}.{k}".lstrip(".")) for k, v in raw.items()}
    return cls(**kwargs)


def params_from_dict(raw: dict, source="params") -> Params:
    try:
        return _build(Params, raw, "")
    except ParamsError as e:
        raise ParamsError(f"{source}: {e}") from None


def missing_keys(raw, cls=Params, where="") -> list:
    """Dotted names of every section/key of `cls` that `raw` leaves out."""
    raw = raw if isinstance(raw, dict) else {}
    out = []
    for f in dataclasses.fields(cls):
        name = f"{where}.{f.name}".lstrip(".")
        tp = typing.get_type_hints(cls)[f.name]
        if f.name not in raw:
            out.append(name)
        elif dataclasses.is_dataclass(tp):
            out += missing_keys(raw[f.name], tp, name)
    return out


def load_params(path=None, complete=False) -> Params:
    """Load and validate params (default: EMSYNC_PARAMS or <repo>/params.yaml). `complete`: every
    section and key must be present (`emsync params check`, the pipeline's inputs stage): an empty
    or partial params.yaml is refused instead of silently running on defaults."""
    path = Path(path or os.environ.get("EMSYNC_PARAMS") or project_root() / "params.yaml")
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ParamsError(f"{path}: cannot read it ({e})") from None
    if raw is not None and not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of sections, got {type(raw).__name__}")
    params = params_from_dict(raw or {}, source=str(path))
    if complete:
        if not raw:
            raise ParamsError(f"{path}: empty; copy a full set with `emsync params use demo` (or thesis)")
        gone = missing_keys(raw)
        if gone:
            shown = ", ".join(gone[:6]) + (f" and {len(gone) - 6} more" if len(gone) > 6 else "")
            raise ParamsError(f"{path}: {len(gone)} key(s) missing ({shown}); every key must be set "
                              "(`emsync params show` prints a full set)")
    return params


def load_params_or_defaults(path=None) -> Params:
    """load_params, or the defaults when there is no params file (a command run outside a
    checkout); a params file that exists but is broken still fails."""
    path = Path(path or os.environ.get("EMSYNC_PARAMS") or project_root() / "params.yaml")
    return load_params(path) if path.exists() else Params()


def to_dict(p) -> dict:
    return dataclasses.asdict(p)

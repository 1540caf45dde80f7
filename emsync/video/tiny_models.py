"""Small, seeded, offline models of the thesis's feature-extractor architectures (§5.2.1).

The thesis's models (CLIP ViT-B/32, the PANNs / music taggers, the ViT expression classifier,
Whisper, RoBERTa sentiment, DistilBERT) cannot be downloaded here. The demo pipeline therefore
runs on tiny random models of the *same architectures*, saved in the same hub layout and loaded
through the same `load_pretrained`, so every code path from decoding to Parquet is exercised.
Their outputs carry no meaning; only shapes, schemas and determinism do. Real weights that
PyPI packages ship (PP-OCRv4 in rapidocr, OpenCV's Haar cascade, py3langid, SymSpell's
dictionary, VADER) are used directly as `pkg:` refs instead.

    python -c "from emsync.video.tiny_models import build_all; build_all('data/demo_models')"
"""

import json
import shutil
import tempfile
from pathlib import Path

import torch

# FER-2013 expression labels in the order of trpakov/vit-face-expression
FACE_LABELS = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
SENTIMENT_LABELS = ["negative", "neutral", "positive"]  # twitter-roberta-base-sentiment

_WORDS = (
    "the a an of to and in is was it for on with as at by this that my our your his her their "
    "we you he she they i me us them holiday holidays summer winter film movie trailer music song "
    "love happy sad fear angry joy surprise disgust dark night day light city road car house family "
    "friend child mother father story world life death time year good bad great best worst new old "
    "first last never always one two three four five 2013 2024 hello welcome coming soon only "
    "theatres official presents production picture sound from studio episode season part chapter"
).split()


def _corpus(n_lines=400, seed=0):
    """Deterministic pseudo-sentences to train the tiny tokenizers on."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(len(_WORDS), (n_lines, 9), generator=g)
    lines = [" ".join(_WORDS[i] for i in row.tolist()) for row in idx]
    return [ln.capitalize() + (".", "!", "?")[k % 3] for k, ln in enumerate(lines)] + list(_WORDS)


# --------------------------------------------------------------------------------------------
# builders: each writes one model folder in the hub layout


def build_clip(out: Path, seed=0):
    """open_clip ViT with the ViT-B/32 layout at toy size; 512-d image embeddings like the thesis."""
    import open_clip
    from safetensors.torch import save_file

    model_cfg = {
        "embed_dim": 512,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
    }
    preprocess_cfg = {
        "mean": list(open_clip.OPENAI_DATASET_MEAN),
        "std": list(open_clip.OPENAI_DATASET_STD),
        "interpolation": "bicubic",
        "resize_mode": "shortest",
    }
    torch.manual_seed(seed)
    model = open_clip.CLIP(**model_cfg)
    out.mkdir(parents=True, exist_ok=True)
    (out / "open_clip_config.json").write_text(json.dumps({"model_cfg": model_cfg, "preprocess_cfg": preprocess_cfg}, indent=2) + "\n")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "open_clip_model.safetensors"))


def _audio_tagger(out: Path, seed, **cfg):
    from emsync.models.audio_tagger import AudioTagger, AudioTaggerConfig

    torch.manual_seed(seed)
    AudioTagger(AudioTaggerConfig(channels=[8, 16, 32], n_mels=32, **cfg)).eval().save_pretrained(out)


def build_audio(out: Path, seed=0):
    """AudioSet tagger (PANNs-style): 3 s chunks, 527 labels, 128-d activations (§5.2.1 Audiotag)."""
    _audio_tagger(out, seed, d_embed=128, n_classes=527, chunk_s=3.0)


def build_beats(out: Path, seed=0):
    """BEATs (§5.2.1, the emotion classifier's audio model) at toy size, fine-tuned head of 527
    AudioSet classes, saved as the official checkpoint file (`{"cfg", "model"}` .pt)."""
    from emsync.core.io import write_bytes
    from emsync.models.beats import BEATs, BEATsConfig, beats_bytes

    torch.manual_seed(seed)
    cfg = BEATsConfig(
        embed_dim=16,
        encoder_layers=2,
        encoder_embed_dim=32,
        encoder_ffn_embed_dim=64,
        encoder_attention_heads=4,
        conv_pos=16,
        conv_pos_groups=4,
        num_buckets=32,
        max_distance=64,
        finetuned_model=True,
    )
    out.mkdir(parents=True, exist_ok=True)
    write_bytes(out / "BEATs_tiny_random.pt", beats_bytes(BEATs(cfg).eval()))


def build_music(out: Path, seed=0):
    """Music tagger: 22 s chunks, 50 tags, 64-d activations (§5.2.1 Music)."""
    _audio_tagger(out, seed, d_embed=64, n_classes=50, chunk_s=22.0)


def _save(model_cls, cfg, out: Path, seed, *processors):
    """Seeded random weights of `model_cls(cfg)` and its processors, saved in the hub layout."""
    torch.manual_seed(seed)
    model_cls(cfg).eval().save_pretrained(out)
    for proc in processors:
        proc.save_pretrained(out)


def _tiny_vit(out: Path, seed, **labels):
    """A ViT image classifier at toy size (32 px, 8 px patches, 2 layers of width 32) and its processor."""
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    cfg = ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, **labels)
    _save(
        ViTForImageClassification,
        cfg,
        out,
        seed,
        ViTImageProcessor(size={"height": 32, "width": 32}, image_mean=[0.5] * 3, image_std=[0.5] * 3),
    )


def build_face_expression(out: Path, seed=0):
    """ViT image classifier over FER-2013's 7 expressions (like trpakov/vit-face-expression)."""
    _tiny_vit(
        out, seed, num_labels=len(FACE_LABELS), id2label=dict(enumerate(FACE_LABELS)), label2id={k: i for i, k in enumerate(FACE_LABELS)}
    )


def build_vit(out: Path, seed=0):
    """ViT image classifier (like google/vit-base-patch16-224, 1000 ImageNet classes) at toy size:
    the frozen image model of the genre baseline (§5.2.3.2)."""
    _tiny_vit(out, seed, num_labels=1000)


def build_ast(out: Path, seed=0):
    """Audio Spectrogram Transformer (like MIT/ast-finetuned-audioset-10-10-0.4593: 128 mel bins,
    1024 frames = 10.24 s at 16 kHz, 527 AudioSet labels) at toy width: the frozen audio model of
    the genre baseline (§5.2.3.2). The input layout is the real one, so the feature extractor runs
    unchanged; patches use stride 16 (not 10) to keep the sequence short."""
    from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification

    cfg = ASTConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        patch_size=16,
        frequency_stride=16,
        time_stride=16,
        max_length=1024,
        num_mel_bins=128,
        num_labels=527,
    )
    _save(ASTForAudioClassification, cfg, out, seed, ASTFeatureExtractor(num_mel_bins=128, max_length=1024, sampling_rate=16000))


def build_vggish(out: Path, seed=0):
    """VGGish (the torch port's layer layout, §7.4.1 VGG distance) at toy widths, read by
    emsync.bandwidth.vggish.load_vggish. Demo weights: random, so the VGG distances they give
    carry no perceptual meaning. The PCA post-processing is fitted (whitening) on embeddings of
    seeded band-limited noise, so the quantised 0..255 embeddings spread over the range instead
    of sitting at the clip value; demo.json marks the folder as demo weights."""
    import numpy as np

    from emsync.bandwidth.vggish import SR, log_mel_examples, save_vggish
    from emsync.models.vggish import Vggish, VggishConfig

    torch.manual_seed(seed)
    model = Vggish(VggishConfig(channels=(8, 16, 32, 32, 64, 64), hidden=128, embedding=128)).eval()
    rng = np.random.default_rng(seed)
    n = int(0.96 * SR) + 441  # one 0.96-s example per clip
    freqs = np.fft.rfftfreq(n, 1 / SR)
    clips = []
    for _ in range(256):  # white noise of random level, low-passed at a random cut-off (or full band)
        spec = np.fft.rfft(rng.standard_normal(n))
        spec[freqs > rng.choice([2000.0, 5000.0, 8000.0, 11025.0, 16000.0, SR])] = 0
        clips.append(np.fft.irfft(spec, n) * 10 ** rng.uniform(-3, -0.5))
    with torch.no_grad():
        x = torch.from_numpy(np.concatenate([log_mel_examples(c, model.cfg) for c in clips]))
        emb = model(x).numpy().astype(np.float64)
    means = emb.mean(0)
    eig, vec = np.linalg.eigh(np.cov(emb - means, rowvar=False))
    order = np.argsort(eig)[::-1]
    # rows = principal directions, scaled to unit variance (directions without variance stay near 0)
    pca = (vec[:, order] / np.sqrt(eig[order] + 1e-3 * eig.max())).T
    save_vggish(out, model, pca, means)
    (out / "demo.json").write_text(json.dumps({"weights": "demo", "note": "random toy-size VGGish; not the released model"}) + "\n")


def _bpe_tokenizer(vocab_size, specials, seed=0):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(_corpus(seed=seed), trainer=trainer)
    return tok


def build_sentiment(out: Path, seed=0):
    """RoBERTa sequence classifier, 3 sentiment labels (like cardiffnlp/twitter-roberta-base-sentiment)."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast, RobertaConfig, RobertaForSequenceClassification

    tok = _bpe_tokenizer(600, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"], seed)
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=126,
    )
    cfg = RobertaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=130,
        pad_token_id=fast.pad_token_id,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        num_labels=3,
        id2label=dict(enumerate(SENTIMENT_LABELS)),
        label2id={k: i for i, k in enumerate(SENTIMENT_LABELS)},
    )
    _save(RobertaForSequenceClassification, cfg, out, seed, fast)


def build_distilbert(out: Path, seed=0):
    """DistilBERT encoder with a WordPiece vocabulary (like distilbert-base-uncased), token features."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import DistilBertConfig, DistilBertModel, PreTrainedTokenizerFast

    # A fixed vocabulary (the WordPiece trainer orders its alphabet by hash, so it is not reproducible):
    # specials, the corpus words, then every printable ASCII character alone and as a "##" continuation.
    chars = sorted({chr(c).lower() for c in range(33, 127)})
    words = sorted({w.lower() for w in _WORDS} - set(chars))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words + chars + ["##" + c for c in chars]
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")), ("[CLS]", tok.token_to_id("[CLS]")))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    )
    cfg = DistilBertConfig(
        vocab_size=tok.get_vocab_size(),
        dim=32,
        n_layers=2,
        n_heads=2,
        hidden_dim=64,
        max_position_embeddings=128,
        pad_token_id=fast.pad_token_id,
    )
    _save(DistilBertModel, cfg, out, seed, fast)


def build_whisper(out: Path, seed=0):
    """Whisper (multilingual vocabulary layout, 51866 ids) at toy size, converted for faster-whisper
    with CTranslate2 (int8), as ../shared/FEASIBILITY.md §3c describes."""
    import ctranslate2
    from tokenizers import AddedToken
    from transformers import (
        GenerationConfig,
        PreTrainedTokenizerFast,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
    )
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    langs = list(LANGUAGES)  # Whisper's own order: en, zh, de, ... (ids 50259...)

    n_text = 50257  # GPT-2 byte-level BPE ids in the real model; ours are padded up to that
    tok = _bpe_tokenizer(500, [], seed)
    fill = [f"<|filler{i}|>" for i in range(n_text - tok.get_vocab_size())]
    tok.add_tokens([AddedToken(t, special=True) for t in fill])
    specials = (
        ["<|endoftext|>", "<|startoftranscript|>"]
        + [f"<|{c}|>" for c in langs]
        + ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"]
        + [f"<|{i * 0.02:.2f}|>" for i in range(1501)]
    )
    tok.add_special_tokens([AddedToken(t, special=True) for t in specials])
    ids = {t: tok.token_to_id(t) for t in specials}
    vocab = tok.get_vocab_size()
    eot, sot = ids["<|endoftext|>"], ids["<|startoftranscript|>"]
    cfg = WhisperConfig(
        vocab_size=vocab,
        num_mel_bins=80,
        d_model=64,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        max_source_positions=1500,
        max_target_positions=448,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=sot,
        suppress_tokens=[],
        begin_suppress_tokens=[220, eot],
    )
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(cfg).eval()
    gen = GenerationConfig(
        decoder_start_token_id=sot,
        eos_token_id=eot,
        pad_token_id=eot,
        bos_token_id=eot,
        max_length=448,
        suppress_tokens=[],
        begin_suppress_tokens=[220, eot],
        no_timestamps_token_id=ids["<|notimestamps|>"],
        is_multilingual=True,
        lang_to_id={f"<|{c}|>": ids[f"<|{c}|>"] for c in langs},
        task_to_id={"translate": ids["<|translate|>"], "transcribe": ids["<|transcribe|>"]},
        alignment_heads=[[1, 0], [1, 1]],
    )
    model.generation_config = gen
    with tempfile.TemporaryDirectory() as hf:
        model.save_pretrained(hf)
        PreTrainedTokenizerFast(
            tokenizer_object=tok, unk_token="<|endoftext|>", bos_token="<|endoftext|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>"
        ).save_pretrained(hf)
        WhisperFeatureExtractor(feature_size=80).save_pretrained(hf)
        ctranslate2.converters.TransformersConverter(hf, copy_files=["tokenizer.json", "preprocessor_config.json"]).convert(
            str(out), quantization="int8", force=True
        )


BUILDERS = {
    "clip": build_clip,
    "audio": build_audio,
    "music": build_music,
    "beats": build_beats,
    "face_expression": build_face_expression,
    "vit": build_vit,
    "ast": build_ast,
    "sentiment": build_sentiment,
    "distilbert": build_distilbert,
    "whisper": build_whisper,
    "vggish": build_vggish,
}


def build(name: str, out_dir, seed=0) -> Path:
    """Build model `name` into `<out_dir>/<name>` atomically (temp folder, then rename)."""
    if name not in BUILDERS:
        raise KeyError(f"unknown tiny model {name!r} (known: {', '.join(BUILDERS)})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / name
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=out_dir))
    try:
        BUILDERS[name](tmp / "m", seed=seed)
        # what the outputs of this model are worth (emsync.core.provenance reads it): nothing
        marker = {
            "kind": "random",
            "source": f"emsync.video.tiny_models.build('{name}', seed={seed})",
            "trained_on": "nothing (random weights)",
        }
        (tmp / "m" / "emsync_weights.json").write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        (tmp / "m").rename(final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def build_all(out_dir, seed=0, names=None) -> dict:
    """Build every tiny model (or `names`) under `out_dir`; returns {name: folder}."""
    return {n: build(n, out_dir, seed) for n in (names or BUILDERS)}

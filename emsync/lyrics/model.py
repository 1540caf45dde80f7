"""Tokenizer and classifier loading for the lyrics emotion model (§3.2.1.2).

One loading function, `load_classifier(ref)`: `ref` is a local folder written by `save_classifier`
(or any `save_pretrained` folder of a DistilBERT sequence classifier + tokenizer) or a hub id such
as `distilbert-base-uncased`, read from the local Hugging Face cache only (the pipeline never
downloads; emsync/env.py sets the offline switches). A hub id names a pretrained *body*: the
multi-label head for `labels` is then new, as when the thesis fine-tuned DistilBERT.

Offline default: `train_wordpiece` trains a WordPiece tokenizer (lower-cased, BERT
pre-tokenisation, [PAD]/[UNK]/[CLS]/[SEP]/[MASK]) on the training text with `tokenizers`, and the
classifier starts from random weights of the same architecture.
"""
from pathlib import Path

from emsync.errors import InputError

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # ids 0..4; [PAD] = 0 as in BERT


def train_wordpiece(texts, vocab_size: int, max_length: int = 512):
    """A transformers fast tokenizer with a WordPiece vocabulary learnt from `texts`."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True, clean_text=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL,
                                        continuing_subword_prefix="##", show_progress=False)
    tok.train_from_iterator(list(texts), trainer=trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                       special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=max_length)


def save_classifier(model, tokenizer, folder, extra: dict | None = None):
    """Weights (safetensors), config.json, the tokenizer and `extra` (e.g. the searched cut-off) in
    one folder that `load_classifier` reads back."""
    from emsync.io import write_json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    if extra is not None:
        write_json(folder / "emsync.json", extra)


def _is_folder(ref) -> Path | None:
    for cand in (Path(ref).expanduser(), Path.cwd() / str(ref)):
        if cand.is_dir():
            return cand
    return None


def load_classifier(ref, labels: list | None = None, device="cpu", cache_dir=None):
    """(model, tokenizer, extra) from a local folder or a hub id. `labels`: the label names the
    head must predict (checked against a folder's model; a new head for a hub body). `cache_dir`:
    the Hugging Face cache to read a hub id from (default: the user's)."""
    from transformers import AutoTokenizer, DistilBertForSequenceClassification

    from emsync.io import read_json

    folder = _is_folder(ref)
    kwargs = {}
    if labels is not None:
        kwargs = dict(num_labels=len(labels), problem_type="multi_label_classification",
                      id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)})
    src = str(folder) if folder else str(ref)
    hub = {} if folder else {"cache_dir": cache_dir}
    head = {} if folder else {"ignore_mismatched_sizes": True}  # a hub body's own head is replaced
    try:
        tokenizer = AutoTokenizer.from_pretrained(src, local_files_only=True, **hub)
        if folder is not None and labels is not None:
            model = DistilBertForSequenceClassification.from_pretrained(src, local_files_only=True)
            have = [model.config.id2label[i] for i in range(model.config.num_labels)]
            if have != list(labels):
                raise InputError(f"{src}: the classifier predicts {have}, not {list(labels)}")
        else:
            model = DistilBertForSequenceClassification.from_pretrained(src, local_files_only=True, **hub, **head, **kwargs)
    except InputError:
        raise
    except (OSError, ValueError) as e:
        where = f"folder {src}" if folder else f"hub id '{src}'"
        hint = "" if folder else (" (not in the local Hugging Face cache; this pipeline never downloads: run "
                                  f"`hf download {src} --local-dir <dir>` elsewhere and give <dir>)")
        raise InputError(f"cannot load the lyrics classifier from {where}: {type(e).__name__}: "
                         f"{str(e).splitlines()[0][:200]}{hint}") from None
    extra = read_json(folder / "emsync.json") if folder and (folder / "emsync.json").exists() else {}
    return model.to(device).eval(), tokenizer, extra

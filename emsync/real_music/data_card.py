"""The corpus data card (reports/corpus.md): what the corpus is, where it came from and on what
terms, how it was converted and labelled, and what was left out."""

from collections import Counter

from emsync.real_music.labels import LABEL_SOURCE, distribution
from emsync.real_music.sources import LEFT_OUT_OF_THE_WHEEL, SOURCES

MAPPING = (
    "one part (a tune) -> STRINGS; two or more parts: the highest part (by mean pitch) -> STRINGS, "
    "every other part -> PIANO (a keyboard playing the inner voices and the bass), the lowest part "
    "also -> BASS (continuo doubling). No drums, no guitar. Multi-part works get MORE_INSTRUMENTS "
    "and strong chords (a >= 3-note piano chord held >= 2 beats, e.g. a chorale's cadence); tunes "
    "get FEWER_INSTRUMENTS and none."
)


def _reason_kind(reason: str) -> str:
    return reason.split(":")[0] if not reason.startswith("duplicate of") else "duplicate"


def summary(sources, works, rejects, labels) -> dict:
    """The numbers behind the data card."""
    import music21

    kept = works[works["kept"]]
    per = {}
    for name in sources:
        w, k = works[works["source"] == name], kept[kept["source"] == name]
        per[name] = {
            "works": int(len(w)),
            "kept": int(len(k)),
            "rejects": dict(Counter(_reason_kind(r) for r in rejects.loc[rejects["source"] == name, "reason"])),
            "notes": int(k["n_notes"].sum()) if len(k) else 0,
            "hours": round(float(k["duration_s"].sum()) / 3600, 2) if len(k) else 0.0,
            "tempo_from_score": round(float((k["tempo_source"] == "score").mean()), 3) if len(k) else 0.0,
            "test": int((labels.loc[labels["source"] == name, "split"] == "test").sum()),
        }
    return {
        "music21": music21.__version__,
        "sources": list(sources),
        "works": int(len(works)),
        "kept": int(len(kept)),
        "rejected": int(len(rejects)),
        "notes": int(kept["n_notes"].sum()),
        "hours": round(float(kept["duration_s"].sum()) / 3600, 2),
        "test_works": int((labels["split"] == "test").sum()),
        "per_source": per,
        "reject_reasons": dict(Counter(rejects["reason"].str.slice(0, 90)).most_common(12)),
        "labels": distribution(labels),
        "label_source": LABEL_SOURCE,
        "mapping": MAPPING,
    }


def data_card(s: dict) -> str:
    """Markdown data card from `summary`."""
    lines = [
        "# Data card: the music21 public-domain training corpus",
        "",
        f"Works from the music21 {s['music21']} wheel's corpus (`music21/corpus`), converted to MIDI by "
        "`python -m flows.corpus` (stage `corpus` of pipelines/real_music/dvc.yaml). Every number below is from that run.",
        "",
        f"**{s['kept']} works kept** of {s['works']} converted ({s['rejected']} rejects), "
        f"{s['notes']:,} notes, {s['hours']} hours; {s['test_works']} works (5 %) held out as the test split.",
        "",
        "## Sources and their terms",
        "",
        "Rule: a source trains the shipped weights only if the wheel (corpus/license.txt, the folder's "
        "licence, or the rights statement in its files) places no restriction on use and its music is in "
        "the public domain. `corpus/license.txt` says: the encodings are distributed with the encoders' "
        "permission, and 'some encodings included in the corpus may not be used for commercial uses or have "
        "other restrictions: please see the licenses embedded in individual compositions or directories'.",
        "",
        "| source | repertoire | terms in the wheel | licence | used | why |",
        "|---|---|---|---|---|---|",
    ]
    for src in SOURCES.values():
        used = "yes" if src.name in s["sources"] else "no"
        lines.append(f"| {src.name} | {src.what} | {src.terms} | {src.licence} | {used} | {src.why} |")
    lines += [
        "",
        f"Also left out: {LEFT_OUT_OF_THE_WHEEL}.",
        "",
        "## What was converted",
        "",
        "| source | works | kept | rejects | notes | hours | tempo from the score | test works |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in s["per_source"].items():
        rj = ", ".join(f"{k} {v}" for k, v in r["rejects"].items()) or "0"
        lines.append(
            f"| {name} | {r['works']} | {r['kept']} | {rj} | {r['notes']:,} | {r['hours']} | {r['tempo_from_score']:.0%} | {r['test']} |"
        )
    lines += ["", "Most frequent reject reasons:", ""]
    lines += [f"- {n} x {reason}" for reason, n in s["reject_reasons"].items()] or ["- none"]
    lab = s["labels"]
    lines += [
        "",
        "## Instruments",
        "",
        s["mapping"],
        "",
        "## Emotion labels (a deviation from §4.3)",
        "",
        f"Derived from the music, not from Spotify: {s['label_source']}; the formulas and references are in "
        "`emsync/real_music/labels.py`. Works without a tempo mark play at music21's default of 120 "
        "quarter notes per minute (the table above says how many had one).",
        "",
        f"- valence quantiles (5/25/50/75/95 %): {list(lab['valence_quantiles'].values())}",
        f"- arousal quantiles (5/25/50/75/95 %): {list(lab['arousal_quantiles'].values())}",
        f"- major mode: {lab['major_share']:.1%} of works; quadrants {lab['quadrants']}; missing {lab['missing']}",
        "",
        "| source | works | mean valence | mean arousal | major share |",
        "|---|---|---|---|---|",
    ]
    for name, r in lab["by_source"].items():
        lines.append(f"| {name} | {int(r['works'])} | {r['valence']:+.2f} | {r['arousal']:+.2f} | {r['major']:.0%} |")
    lines += [
        "",
        "## Limits",
        "",
        "- Western art music of 1730-1830 and Irish/Scottish fiddle and pipe tunes: no drums, no guitar, "
        "no pop harmony or form; the model speaks this idiom only.",
        "- Tunes are single lines; repeats are not expanded; many works have no tempo mark.",
        "- Labels are a rule over mode, tempo and density, not listener ratings.",
    ]
    return "\n".join(lines) + "\n"

"""emsync demo: build or inspect the embedded demo data.

emsync demo build                      # the demo_data stage (Prefect flow, cached) into data/demo
emsync demo sample /tmp/demo --n-midi 40 --n-videos 4   # a small tree, no Prefect
emsync demo show                       # what data/demo holds, from its ground truth
"""

from collections import Counter
from pathlib import Path

from emsync.core.errors import InputError
from emsync.core.io import read_json


SAMPLE_DIRS = ("midi", "lmd", "videos", "audio", "goemotions", "ground_truth")


def register(sub):
    d = sub.add_parser("demo", help="build or inspect the seeded offline demo corpus (data/demo)")
    ds = d.add_subparsers(dest="demo_cmd", metavar="ACTION", required=True)
    b = ds.add_parser("build", help="run the demo_data flow with params.yaml (what `dvc repro demo_data` runs)")
    b.set_defaults(func=_build)
    s = ds.add_parser("sample", help="write a small demo tree into OUT without Prefect")
    s.add_argument("out", help="output folder (gets midi/, lmd/, videos/, audio/, goemotions/, ground_truth/)")
    s.add_argument("--seed", type=int, default=1234)
    s.add_argument("--n-midi", type=int, default=40)
    s.add_argument("--n-duplicates", type=int, default=4)
    s.add_argument("--n-videos", type=int, default=4)
    s.add_argument("--n-audio", type=int, default=1)
    s.set_defaults(func=_sample)
    w = ds.add_parser("show", help="summarise a demo tree's ground truth")
    w.add_argument("root", nargs="?", help="demo folder (default: demo_data.out_dir from params)")
    w.set_defaults(func=_show)


def _build(args):
    from emsync.flows.demo_data import demo_data_flow

    from emsync.core.config import load_params

    r = demo_data_flow(load_params())
    rep = r["report"]
    print(
        f"demo_data: {r['midi']} MIDI files, {r['videos']} videos, {r['audio']} audio renders; "
        f"{rep.cache_hits}/{rep.tasks} tasks cached, {len(rep.skipped)} skipped"
    )


def _sample(args):
    from emsync.demo.audio import build_audio
    from emsync.demo.build import build_demo_corpus, build_demo_videos
    from emsync.demo.text import build_goemotions
    from emsync.core.io import write_json

    from emsync.core.io import check_output_dir

    check_output_dir("out", args.out, [f"{d}/.emsync-probe" for d in SAMPLE_DIRS])
    root = Path(args.out).resolve()
    if root.is_dir() and any(root.iterdir()) and not (root / "ground_truth" / "midi.json").is_file():
        raise InputError(f"{args.out}: exists, is not empty and is not a demo tree; choose an empty or new folder")
    c = build_demo_corpus(root, seed=args.seed, n_midi=args.n_midi, n_duplicates=args.n_duplicates)
    v = build_demo_videos(root, seed=args.seed, n_videos=args.n_videos)
    write_json(root / "ground_truth" / "audio.json", build_audio(root / "audio", args.seed, args.n_audio))
    build_goemotions(root / "goemotions", args.seed, 100)
    print(f"{len(c.ground_truth['files'])} MIDI files, {len(v.ground_truth)} videos -> {root}")


def _show(args):
    if args.root:
        root = Path(args.root)
    else:
        from emsync.core.config import load_params

        p = load_params()
        root = p.path(p.demo_data.out_dir)
    gt_dir = root / "ground_truth"
    if not (gt_dir / "midi.json").exists():
        raise InputError(f"{gt_dir / 'midi.json'}: not found (run `emsync demo build` first)")
    midi = read_json(gt_dir / "midi.json")
    kinds = Counter(e["kind"] for e in midi["files"].values())
    ok = [e for e in midi["files"].values() if e["kind"] == "ok"]
    print(f"MIDI: {len(midi['files'])} files " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    print(
        f"  duplicate groups {len(midi['duplicate_groups'])}, strong chords {sum(len(e['chord_times']) for e in ok)}, "
        f"with drums {sum(e['has_drums'] for e in ok)}, tempo changes {sum(e['tempo_changes'] for e in ok)}, "
        f"lyrics {dict(Counter(e['lyrics_lang'] for e in ok if e['lyrics_lang']))}, karaoke {sum(e['karaoke'] for e in ok)}"
    )
    if (gt_dir / "videos.json").exists():
        for vid, e in read_json(gt_dir / "videos.json").items():
            print(
                f"  {vid}: {e['width']}x{e['height']} @{e['fps']} {e['duration']:.2f}s audio={e['audio']} "
                f"text={e['text']!r} cuts={e['cuts']}"
            )

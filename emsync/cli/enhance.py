"""`emsync enhance IN -o OUT.wav`: bandwidth extension of an audio file with a trained network (ch. 7).

    emsync enhance song.ogg -o song_full.wav                       # params bandwidth: resnet_da checkpoint
    emsync enhance song.wav -o out.wav --checkpoint data/bandwidth/unet/checkpoint.pt --device cuda

Any format FFmpeg decodes; other sample rates are resampled to 44.1 kHz and mono duplicated to
stereo (printed as notes). The file is streamed: memory stays flat for any length.
"""

import argparse
import json


def register(sub):
    p = sub.add_parser(
        "enhance",
        help="bandwidth-extend an audio file with a trained U-Net/ResNet (ch. 7)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", help="audio file (wav, flac, ogg, ...)")
    p.add_argument("-o", "--output", required=True, help="output WAV (16-bit stereo 44.1 kHz)")
    p.add_argument("--checkpoint", default=None, help="default: <bandwidth.out_dir>/<variant>/checkpoint.pt")
    p.add_argument("--variant", default="resnet_da", help="which trained variant when --checkpoint is not given")
    p.add_argument("--device", default="cpu", help="cpu | cuda")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_enhance)


def _enhance(args):
    from pathlib import Path

    from emsync.bandwidth.enhance import enhance_file
    from emsync.core.config import load_params
    from emsync.core.errors import InputError

    from emsync.core.io import check_outputs

    ckpt = args.checkpoint
    if ckpt is None:
        p = load_params()
        ckpt = p.path(p.bandwidth.out_dir) / args.variant / "checkpoint.pt"
    check_outputs({"-o": args.output}, {"input": args.input, "--checkpoint": ckpt})
    if Path(args.output).suffix.lower() != ".wav":
        raise InputError(f"-o {args.output}: the output must be a .wav file")
    from emsync.core import provenance as P

    s = enhance_file(args.input, args.output, ckpt, device=args.device)
    weights = [P.of_checkpoint(ckpt, "bandwidth extension")]
    if args.json:
        print(json.dumps(s | P.record(weights)))
    else:
        print(f"{args.output}: {s['seconds']} s enhanced" + "".join(f"; {n}" for n in s["notes"]))
        print("\n".join(P.text_lines(weights)))
    return 0

"""emsync train / emsync evaluate: the train and evaluate stages' flows, with overrides.

emsync train                                     # params.yaml's train section (the DVC stage)
emsync train --config 37m --conditioning continuous_concat --checkpoint data/models/concat/checkpoint.pt
emsync evaluate                                  # train.checkpoint (+ evaluate.checkpoints)
emsync evaluate --checkpoint data/models/concat/checkpoint.pt --checkpoint data/models/music/checkpoint.pt
"""


def register(sub):
    p = sub.add_parser("train", help="train the music transformer (resumable; writes the checkpoint + reports)")
    p.add_argument("--params", help="params file (default: params.yaml / EMSYNC_PARAMS)")
    p.add_argument("--config", choices=["tiny", "37m", "145m"], help="model size (train.config)")
    p.add_argument(
        "--conditioning",
        choices=["vanilla", "discrete_token", "continuous_token", "continuous_concat"],
        help="emotion conditioning mode (train.conditioning, §4.2)",
    )
    p.add_argument("--steps", type=int, help="optimizer steps (train.steps); more steps continue a finished run")
    p.add_argument("--device", help="auto | cpu | cuda (train.device)")
    p.add_argument("--checkpoint", help="where to write the model (train.checkpoint)")
    p.add_argument("--no-boundaries", action="store_true", help="train without boundary offsets (§4.1)")
    p.set_defaults(func=_train)

    e = sub.add_parser("evaluate", help="NLL/top-k, emotion L1 and boundary hit rate of generator checkpoints (§4.5)")
    e.add_argument("--params", help="params file (default: params.yaml / EMSYNC_PARAMS)")
    e.add_argument(
        "--checkpoint",
        action="append",
        help="generator checkpoint to evaluate (repeatable; default: train.checkpoint + evaluate.checkpoints)",
    )
    e.set_defaults(func=_evaluate)


def _flag(argv, name, value):
    if value is not None:
        argv += [name, str(value)]


def _train(args):
    from emsync.flows.train import main

    if args.checkpoint:  # the train stage's own kind of output: a checkpoint, never a project file of another kind
        from emsync.core.io import check_outputs

        check_outputs({"--checkpoint": args.checkpoint}, {}, own=("train",), kind="checkpoint")
    argv = []
    for name in ("params", "config", "conditioning", "steps", "device", "checkpoint"):
        _flag(argv, f"--{name}", getattr(args, name))
    if args.no_boundaries:
        argv.append("--no-boundaries")
    main(argv)


def _evaluate(args):
    from emsync.flows.evaluate import main

    argv = []
    _flag(argv, "--params", args.params)
    for c in args.checkpoint or []:
        argv += ["--checkpoint", c]
    main(argv)

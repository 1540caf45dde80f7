"""emsync deploy: register the stages as scheduled Prefect deployments (`dvc repro <stage>`) on a process work pool."""


def register(sub):
    p = sub.add_parser("deploy", help="register scheduled Prefect deployments that run `dvc repro <stage>` (needs PREFECT_API_URL)")
    p.add_argument("--pool", default="emsync", help="process work pool to create/use (default: emsync)")
    p.add_argument("--stage", action="append", help="only this stage (repeatable; default: every stage in dvc.yaml)")
    p.add_argument("--project-dir", default="", help="run `dvc repro` there instead of this repository")
    p.set_defaults(func=_deploy)


def _deploy(args):
    from emsync.core.config import project_root
    from emsync.pipeline.deploy import deploy

    for name, cron in deploy(args.stage, pool=args.pool, project_dir=args.project_dir).items():
        print(f"{name}\t{cron or 'no schedule'}")
    print(f"start a worker: prefect worker start --pool {args.pool}   (from {project_root()})")
    return 0

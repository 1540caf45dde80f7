import sys

from emsync.pipeline.warm import hand_over_cli

hand_over_cli()  # a test session's `python -m emsync` is forked from its warm runner (EMSYNC_WARM_SOCKET)

from emsync.cli import main  # noqa: E402 - after the hand-over, which returns only when this process runs the command

sys.exit(main())

import sys

from emsync.cli import main

sys.exit(main())

"""`python -m mmoc.demo`: the demo's module entry; the demo itself is `mmoc.cli.demo`."""

import sys

from .cli.demo import main

if __name__ == "__main__":
    sys.exit(main())

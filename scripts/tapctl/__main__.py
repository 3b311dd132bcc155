import sys

from scripts.tapctl.cli import main

sys.exit(main())

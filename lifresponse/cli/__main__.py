"""``python -m lifresponse.cli``: the ``lifresponse`` command."""

import sys

from lifresponse.cli.app import main

sys.exit(main())

"""Entry point for ``python -m instructcell_onnx``."""

import sys

from .cli import main

sys.exit(main())

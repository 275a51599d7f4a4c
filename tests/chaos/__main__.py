"""``python -m tests.chaos [--full] [--runs N] [--seed S] [--keep]`` from the repository root."""

from __future__ import annotations

import sys

from tests.chaos.harness import main

sys.exit(main())

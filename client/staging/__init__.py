"""Login-node handling of LTA data: lists of SURLs (``srmlist``) and, later, staging.

Import from the submodules, e.g. ``from grid_lrt.client.staging.surllist import SurlList``;
importing this package does nothing else.
"""

from __future__ import annotations

from typing import List

__all__: List[str] = []

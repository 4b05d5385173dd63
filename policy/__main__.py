"""Pulumi policy pack: `pulumi preview --policy-pack policy` (run from the repository root).

The rules are the pure functions in ``mlops_platform.policy.rules``, the same that
``mlops-scaffold plan`` evaluates offline.
"""

import sys
from pathlib import Path

# In a source checkout, use the library next to this folder rather than an installed copy.
_PLATFORM = Path(__file__).resolve().parents[1] / "platform"
_CLI = Path(__file__).resolve().parents[1] / "cli"
for _path in (_PLATFORM, _CLI):
    if _path.is_dir():
        sys.path.insert(0, str(_path))

from mlops_platform.policy.pack import build_pack  # noqa: E402

build_pack()

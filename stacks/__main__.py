"""The Pulumi program (``main: stacks/`` in Pulumi.yaml): build the stack the config asks for.

Run it with `pulumi up` from the repository root; `mlops-scaffold plan` runs the same
``build_stack`` offline under mocks.
"""

import sys
from pathlib import Path

# In a source checkout the packages live next to this file rather than in site-packages.
_ROOT = Path(__file__).resolve().parents[1]
for _folder in ("stacks", "platform", "cli"):
    if (_ROOT / _folder).is_dir() and str(_ROOT / _folder) not in sys.path:
        sys.path.insert(0, str(_ROOT / _folder))

from mlops_stacks.program import main  # noqa: E402

main()

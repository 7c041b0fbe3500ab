"""The property-based fuzz harness of tests/test_fuzz.py with many more examples per property
(configuration values and --set text, arrays given to predict, results files given to tables,
run logs and run configurations read back): every
input must give a clear error or a correct result.

    python benchmarks/fuzz.py --examples 2000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--examples", type=int, default=2000, help="examples per property")
    args = ap.parse_args()
    root = Path(__file__).resolve().parents[1]
    t0 = time.time()
    rc = subprocess.call(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(root / "tests" / "test_fuzz.py"),
        ],
        env={**os.environ, "MOSAIC_FUZZ_EXAMPLES": str(args.examples)},
        cwd=root,
    )
    print(
        f"{args.examples} examples per property: {'passed' if rc == 0 else 'FAILED'} in "
        f"{time.time() - t0:.0f} s"
    )
    return rc


if __name__ == "__main__":
    sys.exit(main())

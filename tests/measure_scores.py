"""Sweep the ``score`` tests over seeds and print the measured range of every score a threshold rests on.

Run as ``make measure-scores`` (seeds 0-4) or ``python tests/measure_scores.py 0 1 2 3 4 [-- pytest args]``.
Thresholds in the tests are set below the worst seed with a margin stated in a comment beside them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd


def main(argv: list[str]) -> int:
    seeds, extra = (argv[: argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    seeds = seeds or ["0", "1", "2", "3", "4"]
    log = Path(tempfile.mkdtemp()) / "scores.jsonl"
    root = Path(__file__).resolve().parents[1]
    for s in seeds:
        env = {**os.environ, "CLUSTLIB_TEST_SEED": s, "CLUSTLIB_SCORE_LOG": str(log)}
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "score", "-p", "no:cacheprovider", *extra],
                       cwd=root, env=env, check=False)
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    if not rows:
        print("no scores recorded")
        return 1
    frame = pd.DataFrame(rows)
    frame["test"] = frame["test"].str.replace(r"^tests/", "", regex=True)
    table = frame.groupby(["test", "name"]).value.agg(["min", "max", "count"])
    with pd.option_context("display.max_rows", 500, "display.width", 200, "display.max_colwidth", 120):
        print(f"CPU: {frame.cpu.iloc[0]}; seeds {', '.join(seeds)}")
        print(table.round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

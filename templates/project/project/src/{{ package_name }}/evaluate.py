"""Evaluate a trained model on the held-out split, or on another labelled dataset.

    python -m <package>.evaluate [--run models/<run_id>] [--data other.csv]

Without --run the newest run under models/ is evaluated. Results go to the run's
evaluation.json and to stdout.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import TrainConfig, load_config
from .data import file_sha256, load_dataset, split
from .features import build_features
from .lineage import read_record
from .metrics import classification_metrics
from .model import Model


def latest_run(output_dir: Path) -> Path:
    runs = sorted(p for p in output_dir.glob("*") if (p / "lineage.yaml").is_file())
    if not runs:
        raise FileNotFoundError(f"no trained model under {output_dir}; run training first")
    return runs[-1]


def evaluate(run_dir: Path, config: TrainConfig, data_path: Path | None = None) -> dict[str, Any]:
    """Score the model of ``run_dir``; on its own test split unless ``data_path`` is given."""
    read_record(run_dir)  # refuses a model without a valid lineage record
    columns = json.loads((run_dir / "features.json").read_text(encoding="utf-8"))
    if data_path is None:
        _, frame = split(load_dataset(config.data), config.data)
        dataset = config.data.path
    else:
        dataset = data_path
        frame = load_dataset(replace(config.data, path=data_path))
    features, labels, _ = build_features(frame, config.data, columns)
    model = Model.load(run_dir, config.device)
    result = {
        "run_id": run_dir.name,
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": {
            "path": str(dataset),
            "sha256": file_sha256(dataset),
            "rows": len(frame),
            "split": "test" if data_path is None else "all",
        },
        "metrics": classification_metrics(labels, model.predict_proba(features)),
    }
    (run_dir / "evaluation.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate a trained model.")
    parser.add_argument("--config", type=Path, default=Path("configs/train.yaml"))
    parser.add_argument("--run", type=Path, help="run folder (default: the newest under models/)")
    parser.add_argument(
        "--data", type=Path, help="labelled CSV to evaluate on (default: the test split)"
    )
    args = parser.parse_args(argv)
    config = load_config(args.config)
    result = evaluate(args.run or latest_run(config.output_dir), config, args.data)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Train a model from configs/train.yaml and write it, its metrics and its lineage record.

    python -m <package>.train [--config configs/train.yaml] [--ticket ML-123] [--stage staging]

Each run gets its own folder under models/ holding model file, features.json, metrics.json and
lineage.yaml.
"""

from __future__ import annotations

import argparse
import json
import secrets
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import STAGES, TrainConfig, load_config
from .data import describe, file_sha256, load_dataset, split
from .features import build_features
from .lineage import SCHEMA_VERSION, code_version, write_record
from .metrics import classification_metrics
from .model import FRAMEWORK, Model


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    metrics: dict[str, float]
    lineage: dict[str, Any]


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def train(
    config: TrainConfig, *, root: Path | None = None, run_id: str | None = None
) -> TrainResult:
    """Train, score on the held-out split, save model + metrics + lineage; return where."""
    root = Path.cwd() if root is None else root
    started = time.perf_counter()
    frame = load_dataset(config.data)
    train_frame, test_frame = split(frame, config.data)
    features, labels, columns = build_features(train_frame, config.data)
    model = Model(config.model_type, config.hyperparameters, config.device)
    model.fit(features, labels, seed=config.data.seed)
    test_features, test_labels, _ = build_features(test_frame, config.data, columns)
    metrics = classification_metrics(test_labels, model.predict_proba(test_features))
    elapsed = time.perf_counter() - started

    run_dir = config.output_dir / (run_id or new_run_id())
    run_dir.mkdir(parents=True, exist_ok=False)
    model_path = model.save(run_dir)
    (run_dir / "features.json").write_text(json.dumps(columns, indent=2), encoding="utf-8")
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_dir.name,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_seconds": round(elapsed, 3),
        "stage": config.stage,
        "ticket": config.ticket,
        "dataset": {
            "path": _relative(config.data.path, root),
            "sha256": file_sha256(config.data.path),
            "rows": len(frame),
            "columns": [str(c) for c in frame.columns],
        },
        "eda_notes": _relative(config.eda_notes, root) if config.eda_notes else None,
        "model": {
            "framework": FRAMEWORK,
            "type": config.model_type,
            "description": model.description,
            "hyperparameters": model.hyperparameters,
            "file": model_path.name,
            "features": columns,
        },
        "target": {
            "column": config.data.target,
            "classes": sorted(frame[config.data.target].unique().tolist()),
        },
        "data_distribution": describe(frame, config.data),
        "code_version": code_version(root),
        "metrics": metrics,
    }
    write_record(record, run_dir)
    return TrainResult(run_dir=run_dir, metrics=metrics, lineage=record)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train a model and write its lineage record.")
    parser.add_argument("--config", type=Path, default=Path("configs/train.yaml"))
    parser.add_argument("--ticket", help="ticket or epic this model is for, e.g. ML-123")
    parser.add_argument("--stage", choices=STAGES, help="where the model is headed")
    parser.add_argument(
        "--run-id", help="name of the run folder (default: timestamp + random suffix)"
    )
    args = parser.parse_args(argv)
    config = load_config(args.config)
    if args.ticket:
        config = replace(config, ticket=args.ticket)
    if args.stage:
        config = replace(config, stage=args.stage)
    result = train(config, run_id=args.run_id)
    print(f"model and lineage written to {result.run_dir}")
    print(json.dumps(result.metrics, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

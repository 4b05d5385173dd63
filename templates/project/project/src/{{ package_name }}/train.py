"""Train a model from configs/train.yaml and write it, its metrics and its lineage record.

    python -m <package>.train [--config configs/train.yaml] [--ticket ML-123] [--stage staging]
    torchrun --standalone --nproc_per_node=2 -m <package>.train   # PyTorch: 2 processes (DDP)

Each run gets its own folder under models/ holding model file, features.json, metrics.json and
lineage.yaml. Under torchrun every process trains on its share of the data and only the main
process (rank 0) writes; the lineage record says how many processes trained, over which backend,
on which kind of device. A PyTorch run saves a checkpoint after every epoch in
models/.checkpoints/<run_id>/ (removed once the run is written): started again with the same
--run-id, a killed run resumes from it.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import STAGES, TrainConfig, load_config
from .data import describe, file_sha256, load_dataset, split
from .features import build_features
from .lineage import SCHEMA_VERSION, code_version, write_record
from .metrics import classification_metrics
from .model import FRAMEWORK, MODEL_FILE, Model, processes

CHECKPOINTS = ".checkpoints"  # under the output folder: one folder per run that is not written yet


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
    config: TrainConfig,
    *,
    root: Path | None = None,
    run_id: str | None = None,
    checkpoint_dir: Path | None = None,
    on_checkpoint: Callable[[Path], object] | None = None,
) -> TrainResult:
    """Train, score on the held-out split, save model + metrics + lineage; return where.

    Every process of a torchrun group returns the same result; only the main one writes.
    ``checkpoint_dir`` (default models/.checkpoints/<run_id>, removed once the run is written):
    where the model resumes from and saves to after every epoch; ``on_checkpoint`` is called with
    each checkpoint saved."""
    root = Path.cwd() if root is None else root
    with processes(config.device) as group:
        run_id = group.broadcast(run_id or new_run_id())  # the main process names the run
        run_dir = config.output_dir / run_id
        if run_dir.exists():
            raise FileExistsError(f"{run_dir} exists already: train under another --run-id")
        default_checkpoints = checkpoint_dir is None
        if checkpoint_dir is None:
            checkpoint_dir = config.output_dir / CHECKPOINTS / run_id
        started = time.perf_counter()
        frame = load_dataset(config.data)
        train_frame, test_frame = split(frame, config.data)
        features, labels, columns = build_features(train_frame, config.data)
        model = Model(config.model_type, config.hyperparameters, str(group.device))
        model.fit(
            features,
            labels,
            seed=config.data.seed,
            processes=group,
            checkpoint_dir=checkpoint_dir,
            on_checkpoint=on_checkpoint,
        )
        test_features, test_labels, _ = build_features(test_frame, config.data, columns)
        metrics = classification_metrics(test_labels, model.predict_proba(test_features))
        elapsed = time.perf_counter() - started
        record: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "run_id": run_id,
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
                "file": MODEL_FILE,
                "features": columns,
            },
            "target": {
                "column": config.data.target,
                "classes": sorted(frame[config.data.target].unique().tolist()),
            },
            "data_distribution": describe(frame, config.data),
            "code_version": code_version(root),
            "metrics": metrics,
            "compute": {
                "world_size": group.world_size,
                "backend": group.backend,
                "device": group.device_kind,
                "resumed_from_epoch": model.resumed_from_epoch,
            },
        }
        if group.is_main:
            run_dir.mkdir(parents=True)
            model.save(run_dir)
            (run_dir / "features.json").write_text(json.dumps(columns, indent=2), encoding="utf-8")
            (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
            write_record(record, run_dir)
            if default_checkpoints:
                shutil.rmtree(checkpoint_dir, ignore_errors=True)
        group.barrier()  # the run folder exists for every process once this returns
    return TrainResult(run_dir=run_dir, metrics=metrics, lineage=record)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train a model and write its lineage record.")
    parser.add_argument("--config", type=Path, default=Path("configs/train.yaml"))
    parser.add_argument("--ticket", help="ticket or epic this model is for, e.g. ML-123")
    parser.add_argument("--stage", choices=STAGES, help="where the model is headed")
    parser.add_argument(
        "--run-id",
        help="name of the run folder (default: timestamp + random suffix); "
        "a killed run given the same id resumes from its checkpoint",
    )
    args = parser.parse_args(argv)
    config = load_config(args.config)
    if args.ticket:
        config = replace(config, ticket=args.ticket)
    if args.stage:
        config = replace(config, stage=args.stage)
    result = train(config, run_id=args.run_id)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, the main process reports
        print(f"model and lineage written to {result.run_dir}")
        print(json.dumps(result.metrics, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Load and check the training configuration (configs/train.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

STAGES = ("development", "staging", "production")


@dataclass(frozen=True)
class DataConfig:
    path: Path
    target: str
    id_column: str | None = None
    test_size: float = 0.25
    seed: int = 42


@dataclass(frozen=True)
class TrainConfig:
    data: DataConfig
    model_type: str
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    eda_notes: Path | None = None
    output_dir: Path = Path("models")
    ticket: str | None = None
    stage: str = "development"


def load_config(path: Path | str, *, root: Path | None = None) -> TrainConfig:
    """Read a YAML config; relative paths in it are taken from ``root`` (default: cwd)."""
    root = Path.cwd() if root is None else root
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    data = raw["data"]
    model = raw["model"]
    stage = raw.get("stage", "development")
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, not {stage!r}")
    if not 0 < float(data.get("test_size", 0.25)) < 1:
        raise ValueError("data.test_size must be between 0 and 1")
    eda = raw.get("eda_notes")
    return TrainConfig(
        data=DataConfig(
            path=root / data["path"],
            target=data["target"],
            id_column=data.get("id_column"),
            test_size=float(data.get("test_size", 0.25)),
            seed=int(data.get("seed", 42)),
        ),
        model_type=model["type"],
        hyperparameters=dict(model.get("hyperparameters") or {}),
        device=str(model.get("device", "auto")),
        eda_notes=root / eda if eda else None,
        output_dir=root / raw.get("output_dir", "models"),
        ticket=raw.get("ticket"),
        stage=stage,
    )

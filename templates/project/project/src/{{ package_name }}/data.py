"""Load the dataset, describe it and split it reproducibly."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from .config import DataConfig


def file_sha256(path: Path) -> str:
    """Content hash of a data file, recorded in the lineage record."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_dataset(config: DataConfig) -> pd.DataFrame:
    """Read the CSV; fail clearly if it is missing, empty or lacks the target column."""
    if not config.path.is_file():
        raise FileNotFoundError(f"dataset not found: {config.path}")
    frame = pd.read_csv(config.path)
    if frame.empty:
        raise ValueError(f"dataset {config.path} has no rows")
    if config.target not in frame.columns:
        raise ValueError(f"target column {config.target!r} is not in {config.path}")
    if frame[config.target].isna().any():
        raise ValueError(f"target column {config.target!r} has missing values")
    return frame


def split(frame: pd.DataFrame, config: DataConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same stratified train/test split for training and evaluation."""
    train, test = train_test_split(
        frame,
        test_size=config.test_size,
        random_state=config.seed,
        stratify=frame[config.target],
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def describe(frame: pd.DataFrame, config: DataConfig) -> dict[str, Any]:
    """A compact distribution summary: target balance, numeric stats, category counts."""
    balance = frame[config.target].value_counts(normalize=True)
    summary: dict[str, Any] = {
        "rows": len(frame),
        "target": {str(k): round(float(v), 4) for k, v in balance.items()},
        "numeric": {},
        "categorical": {},
    }
    for column in frame.columns:
        if column in (config.target, config.id_column):
            continue
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series):
            summary["numeric"][column] = {
                "mean": round(float(series.mean()), 4),
                "std": round(float(series.std()), 4),
                "min": float(series.min()),
                "max": float(series.max()),
                "missing": int(series.isna().sum()),
            }
        else:
            summary["categorical"][column] = {
                str(k): int(v) for k, v in series.value_counts().items()
            }
    return summary

"""Turn raw columns into model features, the same way at training and at inference."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import DataConfig


def feature_frame(frame: pd.DataFrame, config: DataConfig) -> pd.DataFrame:
    """Drop the id and target, one-hot encode text columns, add derived features."""
    drop = [c for c in (config.id_column, config.target) if c and c in frame.columns]
    features = frame.drop(columns=drop)
    if {"monthly_charges", "tenure_months"} <= set(features.columns):
        features["total_charges"] = features["monthly_charges"] * features["tenure_months"]
    categorical = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    features = pd.get_dummies(features, columns=categorical, dtype=float)
    return features.astype(float)


def build_features(
    frame: pd.DataFrame, config: DataConfig, columns: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features X, labels y and the feature column names.

    Pass the training ``columns`` when building features for new data, so that categories
    unseen at inference get all-zero columns and the column order always matches the model.
    """
    features = feature_frame(frame, config)
    if columns is not None:
        features = features.reindex(columns=columns, fill_value=0.0)
    labels = frame[config.target].to_numpy() if config.target in frame.columns else np.array([])
    return features.to_numpy(dtype=float), labels, list(features.columns)

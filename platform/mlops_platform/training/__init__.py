from mlops_platform.training.component import Training, TrainingArgs

__all__ = ["Training", "TrainingArgs"]

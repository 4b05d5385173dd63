from mlops_platform.tracking.component import Tracking, TrackingArgs

__all__ = ["Tracking", "TrackingArgs"]

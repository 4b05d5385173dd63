from mlops_platform.monitoring.component import Monitoring, MonitoringArgs

__all__ = ["Monitoring", "MonitoringArgs"]

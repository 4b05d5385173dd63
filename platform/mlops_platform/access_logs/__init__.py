from mlops_platform.access_logs.component import AccessLogs, AccessLogsArgs

__all__ = ["AccessLogs", "AccessLogsArgs"]

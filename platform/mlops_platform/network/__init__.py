from mlops_platform.network.component import Network, NetworkArgs

__all__ = ["Network", "NetworkArgs"]

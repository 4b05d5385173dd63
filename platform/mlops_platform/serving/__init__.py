from mlops_platform.serving.component import Serving, ServingArgs

__all__ = ["Serving", "ServingArgs"]

from mlops_platform.storage.component import Storage, StorageArgs

__all__ = ["Storage", "StorageArgs"]

from mlops_platform.feature_store.component import FeatureStore, FeatureStoreArgs

__all__ = ["FeatureStore", "FeatureStoreArgs"]

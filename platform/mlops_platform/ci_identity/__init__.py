from mlops_platform.ci_identity.component import CiIdentity, CiIdentityArgs

__all__ = ["CiIdentity", "CiIdentityArgs"]

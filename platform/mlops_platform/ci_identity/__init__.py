from mlops_platform.ci_identity.component import CiIdentity, CiIdentityArgs, image_repository
from mlops_platform.ci_identity.providers import CiOidc, CiOidcArgs

__all__ = ["CiIdentity", "CiIdentityArgs", "CiOidc", "CiOidcArgs", "image_repository"]

"""The stack program: the components of the configured level, wired together."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_platform.ci_identity import CiIdentity, CiIdentityArgs
from mlops_platform.common import Scope
from mlops_platform.feature_store import FeatureStore, FeatureStoreArgs
from mlops_platform.monitoring import Monitoring, MonitoringArgs
from mlops_platform.naming import physical_name
from mlops_platform.network import Network, NetworkArgs
from mlops_platform.serving import Serving, ServingArgs
from mlops_platform.storage import Storage, StorageArgs
from mlops_platform.tracking import Tracking, TrackingArgs
from mlops_platform.training import Training, TrainingArgs
from mlops_stacks.config import StackConfig
from mlops_stacks.provider import provider_args


@dataclass
class StackResult:
    config: StackConfig
    components: dict[str, pulumi.ComponentResource] = field(default_factory=dict)

    def outputs(self) -> dict[str, Any]:
        """What ``pulumi stack output`` shows."""
        c = self.components
        result: dict[str, Any] = {"level": self.config.level, "components": list(c)}
        if isinstance(ci := c.get("ci_identity"), CiIdentity):
            result |= {"image_repository_url": ci.repository_url, "deploy_role_arn": ci.deploy_role_arn}
        if isinstance(storage := c.get("storage"), Storage):
            result |= {
                "data_bucket": storage.data_bucket_name,
                "artifact_bucket": storage.artifact_bucket_name,
            }
        if isinstance(training := c.get("training"), Training):
            result |= {"training_state_machine_arn": training.state_machine_arn}
        if isinstance(serving := c.get("serving"), Serving):
            result |= {"endpoint_name": serving.endpoint_name, "endpoint_created": serving.endpoint_created}
        if isinstance(monitoring := c.get("monitoring"), Monitoring):
            result |= {"alerts_topic_arn": monitoring.topic_arn}
        return result


def make_provider(config: StackConfig, aws_config: dict[str, Any]) -> aws.Provider:
    """The one AWS provider of the stack."""
    return aws.Provider("aws", **provider_args(aws_config, config))


def build_stack(config: StackConfig, provider: pulumi.ProviderResource | None = None) -> StackResult:
    """Create exactly the components ``config.level`` needs, passing ``provider`` to each."""
    wanted = config.components
    result = StackResult(config)
    if not wanted:  # level 0 runs on a laptop; nothing in the cloud
        return result
    opts = pulumi.ResourceOptions(provider=provider)
    invoke = pulumi.InvokeOutputOptions(provider=provider)
    scope = Scope(
        project=config.project,
        env=config.env,
        account_id=aws.get_caller_identity_output(opts=invoke).account_id,
        region=aws.get_region_output(opts=invoke).region,
    )
    base = physical_name(config.project, config.env, max_length=24)
    c = result.components

    if "ci_identity" in wanted:
        c["ci_identity"] = CiIdentity(
            f"{base}-ci",
            CiIdentityArgs(
                scope=scope,
                repository=config.require_ci_repository(),
                vendor=config.ci_vendor,
                ref=config.ci_ref,
                existing_oidc_provider_arn=config.oidc_provider_arn,
            ),
            opts,
        )
    if "network" in wanted:
        network_args: dict[str, Any] = {"vpc_cidr": config.vpc_cidr, "az_count": config.az_count}
        if config.interface_endpoints is not None:
            network_args["interface_endpoints"] = config.interface_endpoints
        c["network"] = Network(f"{base}-net", NetworkArgs(scope=scope, **network_args), opts)
    if "storage" in wanted:
        c["storage"] = Storage(
            f"{base}-store", StorageArgs(scope=scope, force_destroy=config.force_destroy), opts
        )
    network = c.get("network")
    storage = c.get("storage")
    ci = c.get("ci_identity")

    job_policies: list[pulumi.Input[str]] = []
    if "tracking" in wanted:
        assert isinstance(storage, Storage)
        tracking = Tracking(
            f"{base}-tracking",
            TrackingArgs(
                scope=scope,
                artifact_bucket_name=storage.artifact_bucket_name,
                artifact_bucket_arn=storage.artifact_bucket_arn,
                kms_key_arn=storage.kms_key_arn,
            ),
            opts,
        )
        c["tracking"] = tracking
        job_policies.append(tracking.access_policy_arn)
    if "feature_store" in wanted:
        assert isinstance(storage, Storage)
        features = FeatureStore(
            f"{base}-features",
            FeatureStoreArgs(
                scope=scope,
                package_name=config.package_name,
                data_bucket_name=storage.data_bucket_name,
                data_bucket_arn=storage.data_bucket_arn,
                kms_key_arn=storage.kms_key_arn,
            ),
            opts,
        )
        c["feature_store"] = features
        job_policies.append(features.access_policy_arn)
    if "training" in wanted:
        assert isinstance(network, Network) and isinstance(storage, Storage) and isinstance(ci, CiIdentity)
        registry = c["tracking"]
        assert isinstance(registry, Tracking)
        c["training"] = Training(
            f"{base}-training",
            TrainingArgs(
                scope=scope,
                subnet_ids=network.private_subnet_ids,
                security_group_id=network.workload_security_group_id,
                kms_key_arn=storage.kms_key_arn,
                data_bucket_arn=storage.data_bucket_arn,
                artifact_bucket_arn=storage.artifact_bucket_arn,
                artifact_bucket_name=storage.artifact_bucket_name,
                image_repository_url=ci.repository_url,
                model_package_group_name=registry.model_package_group_name,
                model_package_group_arn=registry.model_package_group_arn,
                image_tag=config.training_image_tag,
                instance_types=config.gpu_instance_types,
                spot=config.spot,
                max_vcpus=config.max_vcpus,
                job_policy_arns=tuple(job_policies),
            ),
            opts,
        )
    if "serving" in wanted:
        assert isinstance(network, Network) and isinstance(storage, Storage)
        c["serving"] = Serving(
            f"{base}-serving",
            ServingArgs(
                scope=scope,
                subnet_ids=network.private_subnet_ids,
                security_group_id=network.workload_security_group_id,
                kms_key_arn=storage.kms_key_arn,
                artifact_bucket_name=storage.artifact_bucket_name,
                artifact_bucket_arn=storage.artifact_bucket_arn,
                image=config.serving_image,
                model_data_url=config.serving_model_data_url,
                instance_type=config.serving_instance_type,
            ),
            opts,
        )
    if "monitoring" in wanted:
        training, serving = c["training"], c["serving"]
        assert isinstance(training, Training) and isinstance(serving, Serving)
        c["monitoring"] = Monitoring(
            f"{base}-monitoring",
            MonitoringArgs(
                scope=scope,
                state_machine_arn=training.state_machine_arn,
                endpoint_name=serving.endpoint_name,
                drift_threshold=config.drift_threshold,
                alert_email=config.alert_email,
            ),
            opts,
        )
    return result

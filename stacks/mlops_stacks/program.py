"""The stack programs: the platform of an environment, and a project's components on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_platform.access_logs import AccessLogs, AccessLogsArgs
from mlops_platform.ci_identity import CiIdentity, CiIdentityArgs, CiOidc, CiOidcArgs
from mlops_platform.ci_identity.oidc import subject
from mlops_platform.common import Scope
from mlops_platform.feature_store import FeatureStore, FeatureStoreArgs
from mlops_platform.monitoring import Monitoring, MonitoringArgs
from mlops_platform.naming import physical_name
from mlops_platform.network import Network, NetworkArgs
from mlops_platform.serving import Serving, ServingArgs
from mlops_platform.storage import Storage, StorageArgs
from mlops_platform.tracking import Tracking, TrackingArgs
from mlops_platform.training import Training, TrainingArgs
from mlops_stacks.config import (
    AnyConfig,
    PlatformConfig,
    StackConfig,
    check_mlflow_egress,
    load_config,
    read_stack_values,
)
from mlops_stacks.platform_ref import PlatformOutputs, platform_outputs
from mlops_stacks.provider import provider_args, read_aws_config


@dataclass
class StackResult:
    config: AnyConfig
    components: dict[str, pulumi.ComponentResource] = field(default_factory=dict)
    platform: PlatformOutputs | None = None  # what a project stack read from its platform

    def outputs(self) -> dict[str, Any]:
        """What ``pulumi stack output`` shows (a platform stack's are what project stacks read)."""
        c = self.components
        if isinstance(self.config, PlatformConfig):
            network, oidc, logs = c["network"], c["ci_oidc"], c["access_logs"]
            assert isinstance(network, Network) and isinstance(oidc, CiOidc) and isinstance(logs, AccessLogs)
            return {
                "env": self.config.env,
                "vpc_id": network.vpc_id,
                "private_subnet_ids": network.private_subnet_ids,
                "workload_security_group_id": network.workload_security_group_id,
                "access_log_bucket": logs.bucket_name,
                "egress": self.config.egress,
            } | {f"{vendor}_oidc_provider_arn": arn for vendor, arn in oidc.provider_arns.items()}
        result: dict[str, Any] = {"level": self.config.level, "components": list(c)}
        if isinstance(ci := c.get("ci_identity"), CiIdentity):
            result |= {
                "training_image_repository_url": ci.training_repository_url,
                "deploy_role_arn": ci.deploy_role_arn,
            }
        if isinstance(storage := c.get("storage"), Storage):
            result |= {
                "data_bucket": storage.data_bucket_name,
                "artifact_bucket": storage.artifact_bucket_name,
            }
        if isinstance(training := c.get("training"), Training):
            result |= {"training_state_machine_arn": training.state_machine_arn}
        if isinstance(serving := c.get("serving"), Serving):
            result |= {
                "endpoint_name": serving.endpoint_name,
                "endpoint_created": serving.endpoint_created,
                "serving_image_repository_url": serving.repository_url,
            }
        if isinstance(monitoring := c.get("monitoring"), Monitoring):
            result |= {"alerts_topic_arn": monitoring.topic_arn}
        if isinstance(ci, CiIdentity):
            result["ci_variables"] = self._ci_variables(
                ci, serving=serving if isinstance(serving, Serving) else None
            )
        return result

    def _ci_variables(self, ci: CiIdentity, *, serving: Serving | None) -> dict[str, Any]:
        """The CI variables of this environment, named as the generated workflows read them
        (AWS_REGION, the stack's region, is set by hand): the deploy role and the training image
        repository CI publishes to (the stack has a CI identity from the level that trains on
        AWS); from level 3, the serving image repository the deploy jobs push to."""
        assert isinstance(self.config, StackConfig)
        github = self.config.ci_vendor == "github"

        def repository(url: pulumi.Output[str]) -> pulumi.Output[str]:
            # GitHub workflows read the repository name (the registry comes from the ECR login),
            # GitLab pipelines its URI.
            return url.apply(lambda u: u.split("/", 1)[1]) if github else url

        variables: dict[str, Any] = {
            "AWS_DEPLOY_ROLE_ARN": ci.deploy_role_arn,
            "ECR_TRAINING_REPOSITORY": repository(ci.training_repository_url),
        }
        if serving is not None:
            variables["ECR_REPOSITORY"] = repository(serving.repository_url)
        return variables


def main() -> None:
    """The Pulumi program (this repository's stacks/__main__.py and a platform repository's
    __main__.py): build the stack its config describes and export its outputs."""
    config = load_config(read_stack_values())
    result = build_stack(config, make_provider(config, read_aws_config()))
    for name, value in result.outputs().items():
        pulumi.export(name, value)


def make_provider(config: AnyConfig, aws_config: dict[str, Any]) -> aws.Provider:
    """The one AWS provider of the stack."""
    return aws.Provider("aws", **provider_args(aws_config, config))


def _scope(project: str, env: str, provider: pulumi.ProviderResource | None) -> Scope:
    invoke = pulumi.InvokeOutputOptions(provider=provider)
    return Scope(
        project=project,
        env=env,
        account_id=aws.get_caller_identity_output(opts=invoke).account_id,
        region=aws.get_region_output(opts=invoke).region,
    )


def build_stack(config: AnyConfig, provider: pulumi.ProviderResource | None = None) -> StackResult:
    """The platform stack or a project stack, whichever ``config`` describes."""
    if isinstance(config, PlatformConfig):
        return build_platform(config, provider)
    return build_project(config, provider)


def build_platform(config: PlatformConfig, provider: pulumi.ProviderResource | None = None) -> StackResult:
    """What every project of an account and environment shares: network, OIDC providers, log bucket."""
    opts = pulumi.ResourceOptions(provider=provider)
    scope = _scope("platform", config.env, provider)
    base = f"platform-{config.env}"
    result = StackResult(config)
    c = result.components
    logs = AccessLogs(
        f"{base}-logs",
        AccessLogsArgs(
            scope=scope, retention_days=config.log_retention_days, force_destroy=config.force_destroy
        ),
        opts,
    )
    c["network"] = Network(
        f"{base}-net",
        NetworkArgs(
            scope=scope,
            flow_log_bucket_arn=logs.bucket_arn,
            vpc_cidr=config.vpc_cidr,
            az_count=config.az_count,
            endpoint_az_count=config.endpoint_az_count,
            egress=config.egress,
            interface_endpoints=config.interface_endpoints,
        ),
        opts,
    )
    c["ci_oidc"] = CiOidc(
        f"{base}-oidc",
        CiOidcArgs(scope=scope, github=config.github_oidc_provider, gitlab=config.gitlab_oidc_provider),
        opts,
    )
    c["access_logs"] = logs
    return result


def _job_subnets(config: StackConfig, platform: PlatformOutputs) -> Any:
    """The platform subnets the training and drift jobs run in, once the platform's egress lets
    their MLflow calls out (check_mlflow_egress fails the preview otherwise)."""
    if platform.source == "config" and config.mlflow == "app" and "training" in config.components:
        pulumi.log.warn(
            "mlops:mlflow is 'app': the training and drift jobs reach the MLflow App only through a NAT "
            "gateway (it has no VPC endpoint); make sure the subnets in mlops:subnetIds route to one."
        )
    if platform.egress is None:
        return platform.subnet_ids

    def checked(values: list[Any]) -> Any:
        check_mlflow_egress(config.mlflow, values[1], platform=config.platform_reference)
        return values[0]

    return pulumi.Output.all(platform.subnet_ids, platform.egress).apply(checked)


def build_project(config: StackConfig, provider: pulumi.ProviderResource | None = None) -> StackResult:
    """Create exactly the components ``config.level`` needs, on the environment's platform."""
    wanted = config.components
    result = StackResult(config)
    if not wanted:  # levels 0 and 1 run on a laptop and in CI; nothing in the cloud
        return result
    opts = pulumi.ResourceOptions(provider=provider)
    scope = _scope(config.project, config.env, provider)
    platform = platform_outputs(config)
    result.platform = platform
    base = physical_name(config.project, config.env, max_length=24)
    c = result.components
    job_subnets = _job_subnets(config, platform)

    if "ci_identity" in wanted:
        repository = config.require_ci_repository()
        c["ci_identity"] = CiIdentity(
            f"{base}-ci",
            CiIdentityArgs(
                scope=scope,
                repository=repository,
                vendor=config.ci_vendor,
                subject=config.ci_subject
                or subject(
                    config.ci_vendor,
                    repository,
                    environment=config.env,
                    branch=config.ci_branch,
                    release_tags=config.is_prod,  # GitLab prod: protected v* tags, not the branch
                ),
                provider_arn=platform.oidc_provider_arn,
                # The image AWS Batch runs is never expired by the repository's lifecycle policy.
                keep_tags=(config.training_image_tag,) if config.training_image_tag else (),
            ),
            opts,
        )
    if "storage" in wanted:
        c["storage"] = Storage(
            f"{base}-store",
            StorageArgs(
                scope=scope, access_log_bucket=platform.access_log_bucket, force_destroy=config.force_destroy
            ),
            opts,
        )
    storage = c.get("storage")
    ci = c.get("ci_identity")
    tracking = None

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
                mode=config.mlflow,
                server_size=config.mlflow_server_size,
            ),
            opts,
        )
        c["tracking"] = tracking
        job_policies.append(tracking.write_policy_arn)
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
        assert isinstance(storage, Storage) and isinstance(ci, CiIdentity) and isinstance(tracking, Tracking)
        c["training"] = Training(
            f"{base}-training",
            TrainingArgs(
                scope=scope,
                subnet_ids=job_subnets,
                security_group_id=platform.security_group_id,
                kms_key_arn=storage.kms_key_arn,
                data_bucket_arn=storage.data_bucket_arn,
                artifact_bucket_arn=storage.artifact_bucket_arn,
                artifact_bucket_name=storage.artifact_bucket_name,
                image_repository_url=ci.training_repository_url,
                image_repository_arn=ci.training_repository_arn,
                vpc_id=platform.vpc_id,
                package_name=config.package_name,
                model_package_group_name=tracking.model_package_group_name,
                model_package_group_arn=tracking.model_package_group_arn,
                image_tag=config.require_training_image_tag(),
                # PyTorch trains on GPU hosts (and several at once); scikit-learn on CPUs.
                compute="gpu" if config.require_framework() == "pytorch" else "cpu",
                instance_types=config.gpu_instance_types,
                spot=config.spot,
                max_vcpus=config.max_vcpus,
                multi_node_instance_type=config.multi_node_instance_type,
                nodes=config.training_nodes,
                job_policy_arns=tuple(job_policies),
            ),
            opts,
        )
    if "serving" in wanted:
        assert isinstance(storage, Storage) and isinstance(ci, CiIdentity) and isinstance(tracking, Tracking)
        provisioned = config.effective_serving_mode == "provisioned"
        count = config.effective_instance_count
        c["serving"] = Serving(
            f"{base}-serving",
            ServingArgs(
                scope=scope,
                kms_key_arn=storage.kms_key_arn,
                artifact_bucket_name=storage.artifact_bucket_name,
                artifact_bucket_arn=storage.artifact_bucket_arn,
                deploy_role=ci.deploy_role.id,
                registry_read_statements=tracking.read_statements(),
                subnet_ids=platform.subnet_ids if provisioned else None,
                security_group_id=platform.security_group_id if provisioned else None,
                image=config.serving_image,
                model_data_url=config.serving_model_data_url,
                mode=config.effective_serving_mode,
                instance_type=config.serving_instance_type,
                min_instances=count,
                max_instances=config.serving_max_instances or 2 * count,
                serverless_memory_mb=config.serverless_memory_mb,
                serverless_max_concurrency=config.serverless_max_concurrency,
                app_capture="monitoring" in wanted,
            ),
            opts,
        )
    if "monitoring" in wanted:
        training, serving = c["training"], c["serving"]
        assert isinstance(training, Training) and isinstance(serving, Serving)
        assert isinstance(storage, Storage) and isinstance(ci, CiIdentity) and isinstance(tracking, Tracking)
        c["monitoring"] = Monitoring(
            f"{base}-monitoring",
            MonitoringArgs(
                scope=scope,
                package_name=config.package_name,
                state_machine_arn=training.state_machine_arn,
                endpoint_name=serving.endpoint_name,
                training_image=training.image,
                training_repository_arn=ci.training_repository_arn,
                subnet_ids=job_subnets,
                security_group_id=platform.security_group_id,
                artifact_bucket_arn=storage.artifact_bucket_arn,
                kms_key_arn=storage.kms_key_arn,
                registry_read_statements=tracking.read_statements(),
                drift_threshold=config.drift_threshold,
                alert_email=config.alert_email,
                drift_schedule=config.drift_schedule,
            ),
            opts,
        )
    return result

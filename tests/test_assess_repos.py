"""`assess` on repositories shaped like the public ones issue 10 tried, rebuilt here in miniature.

Each fixture keeps the layout and the kind of code of its model (a cookiecutter-data-science render,
an MLOps reference package, SageMaker's and Azure's MLOps templates, a ZenML render, Databricks MLOps
Stacks, a plain library) with just enough content to carry its signals. The old assess put every
one of them at level 0 with an "write ADRs" plan.
"""

# Fixture trees hold one file per entry, as the repositories would: long lines read better here.
# ruff: noqa: E501

from __future__ import annotations

import json
from pathlib import Path

from assess_support import LEVEL_0, LEVEL_3, build_tree, found
from helpers import runner

from mlops_scaffold.assess import assess
from mlops_scaffold.cli import app

CCDS = {  # cookiecutter-data-science v2 render: flat package, Makefile, no CI
    "pyproject.toml": '[build-system]\nrequires = ["flit_core >=3.2,<4"]\n\n[project]\nname = "churn"\nversion = "0.0.1"\n'
    'description = "Churn model"\nauthors = [{ name = "Data team" }]\nrequires-python = "~=3.11"\n',
    "requirements.txt": "pandas\nscikit-learn\ntyper\nloguru\n",
    "Makefile": "PYTHON_INTERPRETER = python\n\n## Install Python dependencies\n.PHONY: requirements\nrequirements:\n"
    "\t$(PYTHON_INTERPRETER) -m pip install -U pip\n\t$(PYTHON_INTERPRETER) -m pip install -r requirements.txt\n\n"
    "## Make dataset\n.PHONY: data\ndata: requirements\n\t$(PYTHON_INTERPRETER) churn/dataset.py\n",
    "churn/__init__.py": "from churn import config  # noqa: F401\n",
    "churn/config.py": "from pathlib import Path\n\nPROJ_ROOT = Path(__file__).resolve().parents[1]\n",
    "churn/dataset.py": "import typer\n\napp = typer.Typer()\n\n@app.command()\ndef main() -> None: ...\n\nif __name__ == '__main__':\n    app()\n",
    "churn/modeling/__init__.py": "",
    "churn/modeling/train.py": "import typer\nfrom sklearn.ensemble import RandomForestClassifier\n\napp = typer.Typer()\n\n"
    "@app.command()\ndef main() -> None:\n    RandomForestClassifier().fit([[0]], [0])\n\nif __name__ == '__main__':\n    app()\n",
    "churn/modeling/predict.py": "def main() -> None: ...\n",
    "tests/test_data.py": "def test_code_is_tested() -> None:\n    assert False\n",
    "notebooks/.gitkeep": "",
    "references/.gitkeep": "",
    "reports/figures/.gitkeep": "",
    "docs/mkdocs.yml": "site_name: churn\n",
}

REFERENCE_PACKAGE = {  # fmind/mlops-python-package: invoke tasks, MLflow registry, pandera, jobs run by one CLI
    "pyproject.toml": '[project]\nname = "bikes"\nrequires-python = ">=3.12"\ndependencies = ["mlflow", "pandera", "scikit-learn"]\n'
    '[project.scripts]\nbikes = "bikes.scripts:main"\n',
    "uv.lock": "version = 1\n",
    "MLproject": "name: bikes\npython_env: python_env.yaml\nentry_points:\n  main:\n    command: 'bikes {conf_file}'\n",
    # The image's entry point is the project's CLI, which runs the training job (among others).
    "Dockerfile": 'FROM python:3.12-slim\nCOPY --from=build /app/.venv /app/.venv\nENV PATH="/app/.venv/bin:$PATH"\n'
    'ENTRYPOINT ["bikes"]\nCMD ["--help"]\n',
    ".github/workflows/check.yml": "on: pull_request\njobs:\n  checks:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - uses: actions/checkout@v4\n      - run: uv run invoke checks\n",
    ".pre-commit-config.yaml": "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: v0.8.0\n    hooks: [{id: ruff}]\n",
    "tasks/__init__.py": "from invoke import Collection\n\nfrom tasks import checks\n\nns = Collection(checks)\n",
    "tasks/checks.py": "from invoke.context import Context\nfrom invoke.tasks import task\n\n@task\ndef code(ctx: Context) -> None:\n    ctx.run('ruff check src')\n",
    "src/bikes/__init__.py": "",
    "src/bikes/scripts.py": "import argparse\n\nfrom bikes import settings\n\ndef main(argv: list[str] | None = None) -> int:\n"
    "    args = argparse.ArgumentParser().parse_args(argv)\n    setting = settings.MainSettings.model_validate(args)\n"
    "    with setting.job as runner:\n        runner.run()\n    return 0\n",
    "src/bikes/settings.py": "import pydantic_settings as pdts\n\nfrom bikes import jobs\n\n"
    "class MainSettings(pdts.BaseSettings):\n    job: jobs.JobKind\n",
    "src/bikes/jobs/__init__.py": "from bikes.jobs.evaluations import EvaluationsJob\nfrom bikes.jobs.promotion import PromotionJob\n"
    "from bikes.jobs.training import TrainingJob\n\nJobKind = TrainingJob | PromotionJob | EvaluationsJob\n",
    "src/bikes/core/__init__.py": "",
    "src/bikes/core/schemas.py": "import pandera as pa\n\nclass InputsSchema(pa.DataFrameModel): ...\n",
    "src/bikes/io/__init__.py": "",
    "src/bikes/io/registries.py": "import mlflow\n\nclass MlflowRegister:\n    def register(self, name: str, model_uri: str):\n"
    "        return mlflow.register_model(name=name, model_uri=model_uri)\n",
    # One job reads, validates (pandera), trains, scores and registers (MLflow) in one run.
    "src/bikes/jobs/training.py": "import mlflow\n\nfrom bikes.core import schemas\nfrom bikes.io import registries\n\n"
    "class TrainingJob:\n    def run(self) -> None:\n        with self.mlflow_service.run_context() as run:\n"
    "            inputs = schemas.InputsSchema.check(self.inputs.read())\n"
    "            targets = schemas.TargetsSchema.check(self.targets.read())\n"
    "            self.model.fit(inputs=inputs, targets=targets)\n"
    "            score = self.metric.score(targets=targets, outputs=self.model.predict(inputs=inputs))\n"
    "            mlflow.log_metric(key='score', value=score)\n"
    "            model_info = self.saver.save(model=self.model)\n"
    "            registries.MlflowRegister().register(name='bikes', model_uri=model_info.model_uri)\n",
    "src/bikes/jobs/promotion.py": "import mlflow\n\ndef promote(version: str) -> None:\n"
    "    mlflow.MlflowClient().set_registered_model_alias('bikes', 'Champion', version)\n",
    # Fixed thresholds and no baseline: model validation, not a champion/challenger gate.
    "src/bikes/jobs/evaluations.py": "import mlflow\nfrom mlflow.models import MetricThreshold\n\n"
    "def run(model_uri: str, data) -> None:\n    result = mlflow.evaluate(model=model_uri, data=data, targets='cnt', model_type='regressor')\n"
    "    mlflow.validate_evaluation_results(candidate_result=result, baseline_result=None,\n"
    "        validation_thresholds={'r2_score': MetricThreshold(threshold=0.5, greater_is_better=True)})\n",
    "confs/training.yaml": "job:\n  KIND: TrainingJob\n",
    "tests/test_training.py": "from bikes.jobs.training import TrainingJob\n\ndef test_training(inputs_reader) -> None:\n"
    "    assert TrainingJob(inputs=inputs_reader).run()['model_version'].version == 1\n",
}

SAGEMAKER_BUILD = {  # SageMaker project template, model build: CodeBuild, SageMaker Pipelines, registry, gate
    "setup.py": "import setuptools\n\nsetuptools.setup(name='pipelines', packages=setuptools.find_packages(), python_requires='>=3.8')\n",
    "codebuild-buildspec.yml": "version: 0.2\nphases:\n  install:\n    commands:\n      - pip install .\n"
    "  build:\n    commands:\n      - run-pipeline --module-name pipelines.abalone.pipeline\n",
    "pipelines/__init__.py": "",
    "pipelines/run_pipeline.py": "import argparse\n\ndef main() -> None:\n    argparse.ArgumentParser()\n\nif __name__ == '__main__':\n    main()\n",
    "pipelines/abalone/__init__.py": "",
    "pipelines/abalone/pipeline.py": "import sagemaker\nfrom sagemaker.estimator import Estimator\n"
    "from sagemaker.workflow.condition_step import ConditionStep\n"
    "from sagemaker.workflow.conditions import ConditionLessThanOrEqualTo\n"
    "from sagemaker.workflow.functions import JsonGet\nfrom sagemaker.workflow.pipeline import Pipeline\n"
    "from sagemaker.workflow.step_collections import RegisterModel\nfrom sagemaker.workflow.steps import TrainingStep\n\n"
    "def get_pipeline(region: str) -> Pipeline:\n"
    "    xgb_train = Estimator(image_uri='xgboost', instance_type='ml.m5.xlarge', instance_count=1)\n"
    "    step_train = TrainingStep(name='TrainAbaloneModel', estimator=xgb_train)\n"
    "    step_register = RegisterModel(name='RegisterAbaloneModel', estimator=xgb_train)\n"
    "    cond_lte = ConditionLessThanOrEqualTo(left=JsonGet(step_name='EvaluateAbaloneModel', json_path='mse'), right=6.0)\n"
    "    step_cond = ConditionStep(name='CheckMSEAbaloneEvaluation', conditions=[cond_lte], if_steps=[step_register])\n"
    "    return Pipeline(name='Abalone', steps=[step_train, step_cond])\n",
    "pipelines/abalone/preprocess.py": "import pandas as pd\n\nif __name__ == '__main__':\n    pd.read_csv('x')\n",
    "pipelines/abalone/evaluate.py": "import xgboost\n\nif __name__ == '__main__':\n    xgboost.Booster()\n",
    "tests/test_pipelines.py": "import pytest\n\n@pytest.mark.xfail\ndef test_that_you_wrote_tests() -> None:\n    assert False\n",
}

# Azure MLOps v2 (Azure/mlops-project-template, classical/aml-cli-v2, with the config-infra files
# mlops-v2 puts at the root): Azure DevOps pipelines that pick the dev or prod configuration by
# branch, an Azure ML pipeline job, an online endpoint, a promotion that compares scores. As in the
# real tree: no pyproject.toml, no requirements.txt, no __init__.py; the dependencies are a conda
# file. The classical tree ships no tests; the one here sits where the template's rai-aml-cli-v2
# variant keeps its tests (data-science/src/train/test_train.py).
_AZURE_CONFIG = (
    "variables:\n  - ${{ if eq(variables['Build.SourceBranchName'], 'main') }}:\n"
    "      - template: ../../config-infra-prod.yml\n"
    "  - ${{ if ne(variables['Build.SourceBranchName'], 'main') }}:\n"
    "      - template: ../../config-infra-dev.yml\n  - name: version\n    value: aml-cli-v2\n"
)
AZURE_MLOPS_V2 = {
    "config-infra-dev.yml": "variables:\n  location: westeurope\n  environment: dev\n",
    "config-infra-prod.yml": "variables:\n  location: westeurope\n  environment: prod\n",
    "mlops/devops-pipelines/deploy-model-training-pipeline.yml": _AZURE_CONFIG
    + "trigger: none\npool:\n  vmImage: ubuntu-22.04\nstages:\n  - stage: DeployTrainingPipeline\n    jobs:\n"
    "      - job: DeployTrainingPipeline\n        steps:\n          - checkout: self\n          - task: AzureCLI@2\n"
    "            inputs:\n              scriptType: bash\n              inlineScript: az ml job create --file mlops/azureml/train/pipeline.yml\n",
    "mlops/devops-pipelines/deploy-online-endpoint-pipeline.yml": _AZURE_CONFIG
    + "trigger: none\npool:\n  vmImage: ubuntu-22.04\n"
    "stages:\n  - stage: CreateOnlineEndpoint\n    jobs:\n      - job: DeployOnlineEndpoint\n        steps:\n"
    "          - script: az ml online-endpoint create -f mlops/azureml/deploy/online/online-endpoint.yml\n",
    "mlops/azureml/train/pipeline.yml": "$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\n"
    "type: pipeline\njobs:\n  prep_data:\n    type: command\n  train_model:\n    type: command\n  evaluate_model:\n"
    "    type: command\n  register_model:\n    type: command\n",
    "mlops/azureml/deploy/online/online-endpoint.yml": "$schema: https://azuremlschemas.azureedge.net/latest/"
    "managedOnlineEndpoint.schema.json\nname: taxi-online\nauth_mode: key\n",
    "data-science/src/train.py": "import argparse\nimport mlflow\nfrom sklearn.ensemble import RandomForestRegressor\n\n"
    "def main(args) -> None:\n    RandomForestRegressor().fit([[0]], [0])\n    mlflow.sklearn.save_model(None, 'model')\n\n"
    "if __name__ == '__main__':\n    main(argparse.ArgumentParser().parse_args())\n",
    "data-science/src/evaluate.py": "from mlflow.tracking import MlflowClient\n\n"
    "def model_promotion(model_name: str, score: float) -> int:\n    scores = {}\n"
    "    for version in MlflowClient().search_model_versions(f\"name='{model_name}'\"):\n"
    "        scores[version.version] = 0.0\n    deploy_flag = 1\n    if scores and score < max(scores.values()):\n"
    "        deploy_flag = 0\n    return deploy_flag\n",
    "data-science/src/register.py": "import mlflow\n\ndef main(deploy_flag: int, run_id: str) -> None:\n"
    "    if deploy_flag:\n        mlflow.register_model(f'runs:/{run_id}/model', 'taxi-model')\n",
    "data-science/environment/train-conda.yml": "channels:\n  - defaults\n  - conda-forge\ndependencies:\n  - python=3.11\n"
    "  - pip\n  - pip:\n      - mlflow==2.9.2\n      - azureml-mlflow==1.57.0\n      - azure-ai-ml==1.23.0\n      - scikit-learn==1.5.2\n",
    "data-science/src/train/test_train.py": "import train\n\ndef test_train_model(tmp_path) -> None:\n"
    "    train.main(train.parse_args(['--model_output', str(tmp_path)]))\n    assert (tmp_path / 'MLmodel').exists()\n",
}

ZENML_RENDER = {  # a ZenML template render: pipelines and steps, no tests, no CI
    "requirements.txt": "zenml[server]>=0.50\nscikit-learn\n",
    "run.py": "import click\n\nfrom pipelines import training\n\n@click.command()\ndef main() -> None:\n    training()\n\n"
    "if __name__ == '__main__':\n    main()\n",
    "pipelines/__init__.py": "from .training import training\n",
    "pipelines/training.py": "from zenml import pipeline\n\nfrom steps import data_loader, model_trainer\n\n"
    "@pipeline\ndef training() -> None:\n    model_trainer(data_loader())\n",
    "steps/__init__.py": "",
    "steps/model_trainer.py": "from sklearn.linear_model import SGDClassifier\nfrom zenml import step\n\n"
    "@step\ndef model_trainer(dataset) -> SGDClassifier:\n    model = SGDClassifier()\n    model.fit([[0]], [0])\n    return model\n",
    "steps/data_loader.py": "from zenml import step\n\n@step\ndef data_loader() -> list:\n    return []\n",
    "configs/training.yaml": "model:\n  name: breast_cancer_classifier\nsettings:\n  docker:\n    required_integrations: [sklearn]\n",
}

# Databricks MLOps Stacks (databricks/mlops-stacks, the rendered project folder): asset bundle, jobs,
# monitoring, staged CI deploys. As in the real tree: a requirements.txt, notebooks kept as .py
# sources, tests named *_test.py; no pyproject.toml and no __init__.py.
DATABRICKS_STACKS = {
    "databricks.yml": "bundle:\n  name: churn\ninclude:\n  - ./resources/*.yml\ntargets:\n  dev:\n    default: true\n"
    "  staging:\n    workspace: {host: https://staging.cloud.databricks.com}\n  prod:\n    workspace: {host: https://prod.cloud.databricks.com}\n",
    "resources/model-workflow-resource.yml": "resources:\n  jobs:\n    model_training_job:\n      name: churn-model-training\n"
    "      schedule:\n        quartz_cron_expression: '0 0 9 * * ?'\n        timezone_id: UTC\n      tasks:\n"
    "        - task_key: Train\n          notebook_task:\n            notebook_path: ../training/notebooks/Train.py\n"
    "        - task_key: ModelValidation\n          notebook_task:\n            notebook_path: ../validation/notebooks/ModelValidation.py\n"
    "        - task_key: ModelDeployment\n          notebook_task:\n            notebook_path: ../deployment/model_deployment/notebooks/ModelDeployment.py\n",
    "resources/monitoring-resource.yml": "resources:\n  quality_monitors:\n    churn_monitor:\n      table_name: main.churn.inference\n"
    "      inference_log:\n        problem_type: PROBLEM_TYPE_CLASSIFICATION\n",
    "resources/ml-artifacts-resource.yml": "resources:\n  registered_models:\n    model:\n      name: churn-model\n"
    "  experiments:\n    experiment:\n      name: /churn-experiment\n",
    ".github/workflows/churn-bundle-ci.yml": "on: pull_request\njobs:\n  staging:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - run: databricks bundle validate -t staging\n      - run: pytest tests\n",
    ".github/workflows/churn-bundle-cd-staging.yml": "on:\n  push:\n    branches: [main]\njobs:\n  staging:\n    runs-on: ubuntu-latest\n"
    "    steps:\n      - run: databricks bundle deploy -t staging\n",
    ".github/workflows/churn-bundle-cd-prod.yml": "on:\n  push:\n    branches: [release]\njobs:\n  prod:\n    runs-on: ubuntu-latest\n"
    "    steps:\n      - run: databricks bundle deploy -t prod\n",
    "training/notebooks/Train.py": "# Databricks notebook source\nimport mlflow\nfrom sklearn.ensemble import RandomForestClassifier\n\n"
    "mlflow.sklearn.autolog()\nRandomForestClassifier().fit([[0]], [0])\n",
    # As in the stack: the champion is the baseline when `enable_baseline_comparison` is set.
    "validation/notebooks/ModelValidation.py": "import mlflow\nfrom mlflow.models import MetricThreshold\n\n"
    "thresholds = {'roc_auc': MetricThreshold(threshold=0.8, min_relative_change=0.01, greater_is_better=True)}\n"
    "baseline_model_uri = 'models:/churn@champion'\nenable_baseline_comparison = True\n"
    "mlflow.evaluate(model='models:/churn@challenger', data='t', validation_thresholds=thresholds,\n"
    "                baseline_model=None if not enable_baseline_comparison else baseline_model_uri)\n",
    "deployment/model_deployment/deploy.py": "from mlflow import MlflowClient\n\n"
    "def deploy(model_uri: str) -> None:\n    MlflowClient().set_registered_model_alias('churn', 'champion', '2')\n",
    "resources/batch-inference-workflow-resource.yml": "resources:\n  jobs:\n    batch_inference_job:\n      tasks:\n"
    "        - task_key: batch_inference_job\n          notebook_task:\n"
    "            notebook_path: ../deployment/batch_inference/notebooks/BatchInference.py\n",
    "deployment/batch_inference/notebooks/BatchInference.py": "import mlflow\n\n"
    "predict = mlflow.pyfunc.spark_udf(spark, 'models:/churn@champion')\n",
    "requirements.txt": "mlflow==2.11.3\nscikit-learn\n",
    "tests/training/train_test.py": "from training.steps.train import train\n\ndef test_train(spark) -> None:\n"
    "    assert train(spark.createDataFrame([(1, 0)], ['x', 'y'])) is not None\n",
}

LIBRARY = {  # a plain, non-ML library with CI, tests and a task runner
    "pyproject.toml": '[project]\nname = "slugs"\ndependencies = ["regex"]\n[tool.hatch.envs.default.scripts]\ntest = "pytest"\n',
    "src/slugs/__init__.py": "import regex\n\ndef slugify(text: str) -> str:\n    return regex.sub(r'\\W+', '-', text)\n",
    "src/slugs/constrain.py": "def constrain(value: int, low: int, high: int) -> int:\n    return max(low, min(high, value))\n",
    "tests/test_slugs.py": "from slugs import slugify\n\ndef test_slugify() -> None:\n    assert slugify('a b') == 'a-b'\n",
    ".github/workflows/ci.yml": "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: hatch run test\n"
    "  release:\n    runs-on: ubuntu-latest\n    environment: production\n    steps:\n      - run: hatch publish\n",
}


def test_cookiecutter_data_science_render(tmp_path: Path) -> None:
    result = assess(build_tree(tmp_path / "churn", CCDS))
    evidence = found(result)
    assert (result.ml_project, result.level, result.next_level) == (True, 0, 1)
    assert evidence["entry_points"] == ["churn/modeling/train.py"]
    assert {"layout", "task_runner"} <= set(evidence)
    assert "unit_tests" not in evidence  # its one test is `assert False`, a placeholder
    assert [s.key for s in result.plan.required] == ["unit_tests", "ci"]
    assert "adr" in {s.key for s in result.plan.recommended}  # recommended, not what caps the level


def test_mlops_reference_package(tmp_path: Path) -> None:
    result = assess(build_tree(tmp_path / "bikes", REFERENCE_PACKAGE))
    evidence = found(result)
    assert (result.level, result.next_level) == (2, 3)
    assert evidence["task_runner"] == ["tasks/checks.py"]
    assert evidence["ci"] == [".github/workflows/check.yml"]
    assert "src/bikes/io/registries.py" in evidence["experiment_tracking"]
    assert evidence["data_validation"] == ["src/bikes/core/schemas.py"]
    # The training job reads, validates, trains, scores and registers in one run: a pipeline.
    assert evidence["training_pipeline"] == ["src/bikes/jobs/training.py"]
    # The image runs the CLI, whose settings import the jobs, the training job among them.
    assert evidence["training_image"] == ["Dockerfile"]
    # An alias set without comparing metrics, and fixed thresholds without a baseline: no gate.
    assert "promotion_gate" not in evidence
    assert [s.key for s in result.plan.required] == ["serving", "staged_deployment", "promotion_gate"]
    assert result.stack["tracking"] == ["mlflow"]


def test_sagemaker_mlops_template(tmp_path: Path) -> None:
    result = assess(build_tree(tmp_path / "abalone", SAGEMAKER_BUILD))
    evidence = found(result)
    # Its only test is `@pytest.mark.xfail` with `assert False`: a placeholder, so level 0.
    assert (result.level, result.next_level) == (0, 1)
    assert "unit_tests" not in evidence
    assert [s.key for s in result.plan.required] == ["unit_tests"]
    assert evidence["ci"] == ["codebuild-buildspec.yml"]
    assert evidence["training_pipeline"] == ["pipelines/abalone/pipeline.py"]
    assert evidence["entry_points"] == ["pipelines/abalone/pipeline.py"]  # the pipeline trains
    assert "promotion_gate" not in evidence  # `mse <= 6.0` is a fixed bar, not the champion's score
    assert result.stack["cloud"] == ["sagemaker"]
    assert {s.key for s in result.plan.recommended} >= {"pre_commit", "locked_dependencies"}
    with_tests = {**SAGEMAKER_BUILD, "tests/test_pipelines.py": "from pipelines.abalone.pipeline import get_pipeline\n\n"
                  "def test_pipeline() -> None:\n    assert get_pipeline('us-east-1').name == 'Abalone'\n"}  # fmt: skip
    result = assess(build_tree(tmp_path / "tested", with_tests))
    steps = {s.key: s.text for s in result.plan.required}
    assert (result.level, set(steps)) == (2, {"serving", "staged_deployment", "promotion_gate"})
    assert "SageMaker endpoint" in steps["serving"]


def test_azure_mlops_v2_template(tmp_path: Path) -> None:
    result = assess(build_tree(tmp_path / "mlops-v2", AZURE_MLOPS_V2))
    evidence = found(result)
    assert (result.level, result.next_level) == (3, 4)
    assert set(evidence["ci"]) == {
        "mlops/devops-pipelines/deploy-model-training-pipeline.yml",
        "mlops/devops-pipelines/deploy-online-endpoint-pipeline.yml",
    }
    assert evidence["training_pipeline"] == ["mlops/azureml/train/pipeline.yml"]
    assert evidence["serving"] == ["mlops/azureml/deploy/online/online-endpoint.yml"]
    assert evidence["promotion_gate"] == ["data-science/src/evaluate.py"]
    assert set(evidence["staged_deployment"]) == {"config-infra-dev.yml", "config-infra-prod.yml"}
    assert result.stack["ci"] == ["azure"] and result.stack["cloud"] == ["azureml"]
    # The layout is judged by practice (modules, declared dependencies), not by this scaffold's habits.
    assert "data-science/environment/train-conda.yml" in evidence["layout"]


def test_zenml_render(tmp_path: Path) -> None:
    result = assess(build_tree(tmp_path / "zenml-starter", ZENML_RENDER))
    evidence = found(result)
    assert (result.level, result.next_level) == (0, 1)
    assert evidence["training_pipeline"] == ["pipelines/training.py"]
    assert set(evidence["entry_points"]) == {"pipelines/training.py", "steps/model_trainer.py"}
    assert [s.key for s in result.plan.required] == ["unit_tests", "ci"]


def test_databricks_mlops_stacks(tmp_path: Path) -> None:
    result = assess(build_tree(tmp_path / "churn-stack", DATABRICKS_STACKS))
    evidence = found(result)
    assert (result.level, result.next_level) == (4, None)
    assert evidence["training_pipeline"] == ["resources/model-workflow-resource.yml"]
    assert evidence["automated_retraining"] == ["resources/model-workflow-resource.yml"]
    assert evidence["drift_monitoring"] == ["resources/monitoring-resource.yml"]
    assert evidence["promotion_gate"] == ["validation/notebooks/ModelValidation.py"]
    assert {".github/workflows/churn-bundle-cd-prod.yml", "databricks.yml"} <= set(
        evidence["staged_deployment"]
    )
    assert set(evidence["serving"]) == {
        "deployment/batch_inference/notebooks/BatchInference.py",
        "resources/batch-inference-workflow-resource.yml",
    }
    assert result.stack["cloud"] == ["databricks"]
    assert "requirements.txt" in evidence["layout"] and evidence["unit_tests"] == [
        "tests/training/train_test.py"
    ]


def test_plain_library(tmp_path: Path) -> None:
    result = assess(build_tree(tmp_path / "slugs", LIBRARY))
    assert (result.ml_project, result.level, result.next_level) == (False, 0, None)
    assert result.verdict.startswith("Not an ML project")
    assert not result.plan.required and not result.plan.recommended


# Azure MLOpsPython (microsoft/MLOpsPython): Azure ML SDK v1 pipeline of PythonScriptSteps
# (train -> evaluate -> register) published by an Azure DevOps CI; the evaluate step compares the
# new model with production's; score.py (init/run) deployed by the CD pipeline through an inference
# configuration; a batch-scoring pipeline (a Pipeline that does not train) beside it.
_V1_STEP = (
    "    {var} = PythonScriptStep(name='{name}', script_name={script}, compute_target=aml_compute,\n"
    "                             source_directory=e.sources_directory_train, runconfig=run_config)\n"
)
MLOPS_PYTHON = {
    ".pipelines/diabetes_regression-ci.yml": "pr: none\ntrigger:\n  branches:\n    include: [master]\npool:\n  vmImage: ubuntu-latest\n"
    "stages:\n- stage: 'Model_CI'\n  jobs:\n  - job: 'Model_CI_Pipeline'\n    steps:\n    - script: pytest --junitxml=unit-testresults.xml\n"
    "    - task: AzureCLI@1\n      inputs:\n        inlineScript: python -m ml_service.pipelines.diabetes_regression_build_train_pipeline\n"
    "      displayName: 'Publish Azure Machine Learning Pipeline'\n",
    ".pipelines/diabetes_regression-cd.yml": "trigger: none\nresources:\n  pipelines:\n  - pipeline: model-train-ci\n"
    "    source: Model-Train-Register-CI\nstages:\n- stage: 'Deploy_ACI'\n  displayName: 'Deploy to ACI'\n  jobs:\n"
    "  - job: 'Deploy_ACI'\n    steps:\n    - task: AzureCLI@1\n      displayName: 'Deploy to ACI (CLI)'\n      inputs:\n"
    "        workingDirectory: $(Build.SourcesDirectory)/$(SOURCES_DIR_TRAIN)/scoring\n"
    "        inlineScript: az ml model deploy --name $(ACI_DEPLOYMENT_NAME) --ic inference_config.yml --dc deployment_config_aci.yml\n"
    "    - task: AzureCLI@1\n      displayName: 'Smoke test'\n      inputs:\n"
    "        inlineScript: python -m ml_service.util.smoke_test_scoring_service --type ACI\n",
    ".pipelines/diabetes_regression-batchscoring-ci.yml": "trigger: none\nstages:\n- stage: 'Batch_Scoring_Pipeline_CI'\n"
    "  jobs:\n  - job: 'Batch_Scoring'\n    steps:\n    - script: python -m ml_service.pipelines.diabetes_regression_build_parallel_batchscore_pipeline\n",
    "ml_service/__init__.py": "",
    "ml_service/pipelines/__init__.py": "",
    "ml_service/pipelines/diabetes_regression_build_train_pipeline.py": "from azureml.core import Workspace\n"
    "from azureml.core.runconfig import RunConfiguration\nfrom azureml.pipeline.core import Pipeline, PipelineData\n"
    "from azureml.pipeline.steps import PythonScriptStep\n\nfrom ml_service.util.env_variables import Env\n\n\ndef main():\n"
    "    e = Env()\n    aml_workspace = Workspace.get(name=e.workspace_name, subscription_id=e.subscription_id)\n"
    "    run_config = RunConfiguration()\n"
    + _V1_STEP.format(var="train_step", name="Train Model", script="e.train_script_path")
    + _V1_STEP.format(var="evaluate_step", name="Evaluate Model ", script="e.evaluate_script_path")
    + _V1_STEP.format(var="register_step", name="Register Model ", script="e.register_script_path")
    + "    evaluate_step.run_after(train_step)\n    register_step.run_after(evaluate_step)\n"
    "    train_pipeline = Pipeline(workspace=aml_workspace, steps=[train_step, evaluate_step, register_step])\n"
    "    train_pipeline.publish(name=e.pipeline_name, description='Model training/retraining pipeline')\n\n\n"
    "if __name__ == '__main__':\n    main()\n",
    "ml_service/pipelines/diabetes_regression_build_parallel_batchscore_pipeline.py": "from azureml.core import Workspace\n"
    "from azureml.pipeline.core import Pipeline\nfrom azureml.pipeline.steps import ParallelRunStep, PythonScriptStep\n\n\n"
    "def main():\n    ws = Workspace.get(name='ws')\n    scoring_step = ParallelRunStep(name='scoringstep', parallel_run_config=None)\n"
    "    copying_step = PythonScriptStep(name='scorecopystep', script_name='parallel_batchscore_copyoutput.py')\n"
    "    Pipeline(workspace=ws, steps=[scoring_step, copying_step]).publish(name='diabetes-scoring')\n",
    "ml_service/util/smoke_test_scoring_service.py": "import requests\n\n\ndef call_web_app(url, headers):\n"
    "    response = requests.post(url, json={'data': [[1, 2]]}, headers=headers)\n    return response.json()\n",
    "diabetes_regression/conda_dependencies.yml": "name: diabetes\ndependencies:\n  - python=3.7.*\n  - pip\n"
    "  - pip:\n      - azureml-sdk==1.27.*\n      - scikit-learn==0.24.*\n",
    "diabetes_regression/util/__init__.py": "",
    "diabetes_regression/training/train.py": "from sklearn.linear_model import Ridge\nfrom sklearn.metrics import mean_squared_error\n\n\n"
    "def train_model(data, ridge_args):\n    reg_model = Ridge(**ridge_args)\n    reg_model.fit(data['train']['X'], data['train']['y'])\n"
    "    return reg_model\n\n\ndef get_model_metrics(model, data):\n"
    "    return {'mse': mean_squared_error(model.predict(data['test']['X']), data['test']['y'])}\n",
    "diabetes_regression/training/train_aml.py": "from azureml.core.run import Run\n\nfrom train import get_model_metrics, train_model\n\n\n"
    "def main():\n    run = Run.get_context()\n    model = train_model({}, {'alpha': 0.5})\n"
    "    for (k, v) in get_model_metrics(model, {}).items():\n        run.log(k, v)\n\n\nif __name__ == '__main__':\n    main()\n",
    "diabetes_regression/training/test_train.py": "import numpy as np\n\nfrom diabetes_regression.training.train import train_model\n\n\n"
    "def test_train_model():\n    X_train = np.array([1, 2, 3, 4, 5, 6]).reshape(-1, 1)\n    y_train = np.array([10, 9, 8, 8, 6, 5])\n"
    "    reg_model = train_model({'train': {'X': X_train, 'y': y_train}}, {'alpha': 1.2})\n"
    "    np.testing.assert_almost_equal(reg_model.predict([[1], [2]]), [9.93939393939394, 9.03030303030303])\n",
    "diabetes_regression/evaluate/evaluate_model.py": "from azureml.core import Run\n\nrun = Run.get_context()\n"
    "metric_eval = 'mse'\nmodel = get_model(model_name='diabetes_model.pkl')\nif model is not None:\n"
    "    production_model_mse = float(model.tags[metric_eval])\n"
    "    new_model_mse = float(run.parent.get_metrics().get(metric_eval))\n"
    "    if new_model_mse < production_model_mse:\n        print('New trained model performs better, thus it should be registered')\n"
    "    else:\n        run.parent.cancel()\n",
    "diabetes_regression/register/register_model.py": "from azureml.core import Run\nfrom azureml.core.model import Model as AMLModel\n\n\n"
    "def register_aml_model(model_path, model_name, exp, run_id):\n"
    "    return AMLModel.register(workspace=exp.workspace, model_name=model_name, model_path=model_path)\n",
    "diabetes_regression/scoring/score.py": "import joblib\nfrom azureml.core.model import Model\n\n\ndef init():\n    global model\n"
    "    model = joblib.load(Model.get_model_path('diabetes_model.pkl'))\n\n\ndef run(data, request_headers):\n"
    "    return {'result': model.predict(data).tolist()}\n",
    "diabetes_regression/scoring/inference_config.yml": "entryScript: score.py\nruntime: python\ncondaFile: ../conda_dependencies.yml\n",
    "diabetes_regression/scoring/parallel_batchscore.py": "import joblib\n\n\ndef init():\n    global model\n"
    "    model = joblib.load('model.pkl')\n\n\ndef run(mini_batch):\n    return model.predict(mini_batch)\n",
}


def test_azure_mlopspython_sdk_v1(tmp_path: Path) -> None:
    result = assess(build_tree(tmp_path / "MLOpsPython", MLOPS_PYTHON))
    evidence = found(result)
    assert evidence["training_pipeline"] == [
        "ml_service/pipelines/diabetes_regression_build_train_pipeline.py"
    ]
    # The deployed scoring script: the CD pipeline deploys it through inference_config.yml.
    assert evidence["serving"] == ["diabetes_regression/scoring/score.py"]
    serving = next(f for f in result.findings if f.key == "serving").evidence[0]
    assert ".pipelines/diabetes_regression-cd.yml deploys" in serving.why and serving.tool == "azureml"
    assert evidence["promotion_gate"] == ["diabetes_regression/evaluate/evaluate_model.py"]
    assert evidence["unit_tests"] == ["diabetes_regression/training/test_train.py"]
    assert (result.level, [s.key for s in result.plan.required]) == (2, ["staged_deployment"])
    assert result.stack["cloud"] == ["azureml"] and result.stack["ci"] == ["azure"]


# Made With ML (GokuMohandas/Made-With-ML): a GitHub workflow submits an Anyscale job whose entry
# point is a shell script: data checks -> train -> evaluate -> save to S3. Ray Train and Ray Serve.
MADE_WITH_ML = {
    "requirements.txt": "mlflow==2.3.1\nray[air]==2.7.0\ntorch==2.0.0\ntransformers==4.28.1\n",
    "pyproject.toml": '[tool.black]\nline-length = 150\n[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
    ".github/workflows/workloads.yaml": "name: workloads\non:\n  workflow_dispatch:\n  pull_request:\n    branches: [main]\n"
    "jobs:\n  workloads:\n    runs-on: ubuntu-22.04\n    steps:\n      - uses: actions/checkout@v3\n"
    "      - run: python3 -m pip install anyscale==0.5.131 typer==0.9.0\n      - name: Workloads\n        run: |\n"
    "          export ANYSCALE_HOST=${{ secrets.ANYSCALE_HOST }}\n          anyscale jobs submit deploy/jobs/workloads.yaml --wait\n",
    "deploy/jobs/workloads.yaml": "name: workloads\nproject_id: prj_wn6el5cu9dqwktk6t4cv54x8zh\ncluster_env: madewithml-cluster-env\n"
    "compute_config: madewithml-cluster-compute\nruntime_env:\n  working_dir: .\n  upload_path: s3://madewithml/jobs\n"
    "entrypoint: bash deploy/jobs/workloads.sh\nmax_retries: 0\n",
    "deploy/jobs/workloads.sh": "#!/bin/bash\nexport PYTHONPATH=$PYTHONPATH:$PWD\nmkdir results\n\n# Test data\n"
    "export RESULTS_FILE=results/test_data_results.txt\npytest --dataset-loc=$DATASET_LOC tests/data --verbose > $RESULTS_FILE\n\n"
    '# Train\nexport TRAIN_LOOP_CONFIG=\'{"dropout_p": 0.5, "lr": 1e-4}\'\npython madewithml/train.py \\\n'
    '    --experiment-name "$EXPERIMENT_NAME" \\\n    --train-loop-config "$TRAIN_LOOP_CONFIG" \\\n    --results-fp $RESULTS_FILE\n\n'
    "# Evaluate\npython madewithml/evaluate.py --run-id $RUN_ID --dataset-loc $HOLDOUT_LOC --results-fp $RESULTS_FILE\n\n"
    "# Save to S3\naws s3 cp $MODEL_REGISTRY s3://madewithml/$GITHUB_USERNAME/mlflow/ --recursive\n",
    "madewithml/__init__.py": "",
    "madewithml/config.py": "import mlflow\n\nMODEL_REGISTRY = '/tmp/mlflow'\nmlflow.set_tracking_uri('file://' + MODEL_REGISTRY)\n",
    "madewithml/train.py": "import typer\nfrom ray.train.torch import TorchTrainer\n\napp = typer.Typer()\n\n\n@app.command()\n"
    "def train_model(experiment_name: str) -> None:\n    TorchTrainer(train_loop_per_worker=None).fit()\n\n\n"
    "if __name__ == '__main__':\n    app()\n",
    "madewithml/evaluate.py": "import typer\nfrom sklearn.metrics import precision_recall_fscore_support\n\napp = typer.Typer()\n",
    "madewithml/serve.py": "from ray import serve\n\n\n@serve.deployment(num_replicas='1')\nclass ModelDeployment:\n    ...\n",
    "tests/code/test_data.py": "from madewithml import data\n\n\ndef test_clean_text():\n    assert data.clean_text('hi!') == 'hi'\n",
    "tests/data/test_dataset.py": "def test_dataset(df):\n    df.expect_table_columns_to_match_ordered_list(column_list=['id', 'tag'])\n",
}


def test_ray_anyscale_jobs_submitted_from_ci(tmp_path: Path) -> None:
    result = assess(build_tree(tmp_path / "Made-With-ML", MADE_WITH_ML))
    pipeline = {e.path: e for f in result.findings if f.key == "training_pipeline" for e in f.evidence}
    assert set(pipeline) == {"deploy/jobs/workloads.yaml", ".github/workflows/workloads.yaml"}
    assert "(data checks -> train -> evaluate -> save)" in pipeline["deploy/jobs/workloads.yaml"].why
    assert pipeline["deploy/jobs/workloads.yaml"].tool == "anyscale"
    assert (
        "CI submits the job in deploy/jobs/workloads.yaml" in pipeline[".github/workflows/workloads.yaml"].why
    )
    assert (result.level, [s.key for s in result.plan.required]) == (
        2,
        ["staged_deployment", "promotion_gate"],
    )
    # A job that only trains is a training job, not a pipeline.
    single = {**MADE_WITH_ML, "deploy/jobs/workloads.sh": "python madewithml/train.py --num-workers 1\n"}
    assert "training_pipeline" not in found(assess(build_tree(tmp_path / "single", single)))


# A TFX template project (`tfx template copy --model=taxi`) with the Dockerfile the TFX CLI writes.
TFX_TEMPLATE = {
    "Dockerfile": 'FROM gcr.io/tfx-oss-public/tfx:0.21.4\nWORKDIR /pipeline\nCOPY ./ ./\nENV PYTHONPATH="/pipeline:${PYTHONPATH}"\n',
    "models/__init__.py": "",
    "models/keras_model/model.py": "import tensorflow as tf\n\n\ndef run_fn(fn_args):\n    model = tf.keras.Sequential()\n"
    "    model.fit(fn_args.train_files, epochs=1)\n",
    "models/keras_model/model_test.py": "import tensorflow as tf\n\nfrom models.keras_model import model\n\n\n"
    "class ModelTest(tf.test.TestCase):\n    def testBuildKerasModel(self):\n        self.assertIsNotNone(model.run_fn)\n",
    "pipeline/__init__.py": "",
    # As tfx/experimental/templates/taxi/pipeline/pipeline.py: the Evaluator blesses the trained
    # model only if it does not fall below the latest blessed one (a change threshold).
    "pipeline/pipeline.py": "import tensorflow_model_analysis as tfma\nfrom tfx import v1 as tfx\n\n\n"
    "def create_pipeline(pipeline_name, data_path, run_fn, eval_accuracy_threshold):\n"
    "    example_gen = tfx.components.CsvExampleGen(input_base=data_path)\n"
    "    trainer = tfx.components.Trainer(run_fn=run_fn, examples=example_gen.outputs['examples'])\n"
    "    model_resolver = tfx.dsl.Resolver(strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,\n"
    "        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model)).with_id('latest_blessed_model_resolver')\n"
    "    eval_config = tfma.EvalConfig(metrics_specs=[tfma.MetricsSpec(metrics=[tfma.MetricConfig(\n"
    "        class_name='BinaryAccuracy', threshold=tfma.MetricThreshold(\n"
    "            value_threshold=tfma.GenericValueThreshold(lower_bound={'value': eval_accuracy_threshold}),\n"
    "            change_threshold=tfma.GenericChangeThreshold(direction=tfma.MetricDirection.HIGHER_IS_BETTER,\n"
    "                                                         absolute={'value': -1e-10})))])])\n"
    "    evaluator = tfx.components.Evaluator(examples=example_gen.outputs['examples'], model=trainer.outputs['model'],\n"
    "        baseline_model=model_resolver.outputs['model'], eval_config=eval_config)\n"
    "    return tfx.dsl.Pipeline(pipeline_name=pipeline_name, components=[example_gen, trainer, model_resolver, evaluator])\n",
}


def test_tfx_template(tmp_path: Path) -> None:
    result = assess(build_tree(tmp_path / "taxi", TFX_TEMPLATE))
    evidence = found(result)
    assert evidence["training_image"] == ["Dockerfile"]  # a TFX image runs the pipeline's trainer
    assert evidence["training_pipeline"] == ["pipeline/pipeline.py"]
    gate = next(f for f in result.findings if f.key == "promotion_gate").evidence
    assert [(e.path, e.tool) for e in gate] == [("pipeline/pipeline.py", "tfx")]
    assert evidence["unit_tests"] == ["models/keras_model/model_test.py"]


# A monorepo of two ML projects and a shared library, with one workflow per project (path filters)
# and a shared lint workflow: each project is assessed on its own.
_CHURN_CI = (
    "on:\n  push:\n    paths: ['churn/**']\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - run: cd churn && pytest\n  staging:\n    runs-on: ubuntu-latest\n    environment: staging\n"
    "    steps:\n      - run: make -C churn deploy\n  production:\n    runs-on: ubuntu-latest\n"
    "    environment: production\n    steps:\n      - run: make -C churn deploy\n"
)
MONOREPO = {
    "README.md": "# ML monorepo\n\nchurn/ and fraud/ are separate models; libs/common is shared.\n",
    "pyproject.toml": "[tool.ruff]\nline-length = 100\n",  # tool settings only: the root is no package
    ".github/workflows/churn.yml": _CHURN_CI,
    ".github/workflows/fraud.yml": _CHURN_CI.replace("churn", "fraud").split("  staging:")[0],
    ".github/workflows/lint.yml": "on: push\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - run: ruff check .\n",
    **{f"churn/{k}": v for k, v in LEVEL_3.items() if not k.startswith(".github/")},
    "fraud/pyproject.toml": '[project]\nname = "fraud"\ndependencies = ["xgboost"]\n',
    "fraud/fraud/__init__.py": "",
    "fraud/fraud/train.py": "import xgboost\n\n\ndef main() -> None:\n    xgboost.XGBClassifier().fit([[0]], [0])\n",
    "fraud/tests/test_train.py": "from fraud.train import main\n\n\ndef test_main() -> None:\n    assert main() is None\n",
    "libs/common/pyproject.toml": '[project]\nname = "common"\n',
    "libs/common/common/__init__.py": "def slug(text: str) -> str:\n    return text.lower()\n",
}


def test_a_monorepo_is_assessed_per_project_never_pooled(tmp_path: Path) -> None:
    from mlops_scaffold.assess.fleet import rows

    repo = build_tree(tmp_path / "mono", MONOREPO)
    result = assess(repo)
    assert result.kind == "monorepo"
    projects = {p.path.relative_to(repo).as_posix(): p for p in result.projects}
    assert set(projects) == {"churn", "fraud", "libs/common"}
    churn, fraud, common = projects["churn"], projects["fraud"], projects["libs/common"]
    assert (churn.level, fraud.level) == (3, 1)
    assert not common.ml_project and common.kind == "not_ml"
    # Pooled, fraud would borrow churn's pipeline, serving and gate: it does not.
    assert not {"training_pipeline", "serving", "promotion_gate", "staged_deployment"} & set(found(fraud))
    assert set(found(fraud)["ci"]) == {".github/workflows/fraud.yml", ".github/workflows/lint.yml"}
    assert ".github/workflows/churn.yml" in found(churn)["staged_deployment"]
    assert [s.key for s in fraud.plan.required] == ["training_pipeline", "experiment_tracking"]
    assert (result.level, result.ml_project) == (1, True)  # its least mature ML project's
    assert "churn: level 3; fraud: level 1; libs/common: level 0 (not ML)" in result.verdict
    assert [r.assessment.path.name for r in rows([result], installed="v1")] == ["churn", "fraud", "common"]
    report = json.loads(runner.invoke(app, ["assess", str(repo), "--json"]).stdout)
    assert report["kind"] == "monorepo" and [p["level"] for p in report["projects"]] == [3, 1, 0]
    text = runner.invoke(app, ["assess", str(repo)], terminal_width=200)
    assert text.exit_code == 0, text.output
    assert "A monorepo of 3 projects" in text.output and f"{repo / 'fraud'}: MLOps level 1" in text.output


def test_what_makes_a_monorepo(tmp_path: Path) -> None:
    from mlops_scaffold.assess import find_projects
    from mlops_scaffold.assess.scan import Repository

    def projects(name: str, files: dict[str, str]) -> list[str]:
        return find_projects(Repository(str(build_tree(tmp_path / name, files))))

    # A uv workspace: the root is a package and still a monorepo of its members.
    workspace = {
        **MONOREPO,
        "pyproject.toml": '[project]\nname = "mono"\n[tool.uv.workspace]\nmembers = ["churn", "fraud"]\n',
    }
    assert projects("workspace", workspace) == ["churn", "fraud", "libs/common"]
    # One system whose training and serving images each have a requirements.txt: one project.
    components = {**LEVEL_0, "training/requirements.txt": "torch\n", "training/train.py": "import torch\n",
                  "serving/requirements.txt": "fastapi\n", "serving/app.py": "import fastapi\n"}  # fmt: skip
    assert projects("components", components) == []
    # A package at the root with an example project inside is one project.
    assert projects("example", {**MONOREPO, "pyproject.toml": '[project]\nname = "mono"\n'}) == []


# Template repositories, as their real trees are: cookiecutter-data-science (its own `ccds` package,
# tests and CI beside the template), databricks/mlops-stacks (a Databricks bundle template) and a
# copier template whose questions file is at the root.
CCDS_TEMPLATE = {
    "cookiecutter.json": '{"project_name": "project_name", "repo_name": "{{ cookiecutter.project_name }}"}',
    "pyproject.toml": '[project]\nname = "cookiecutter-data-science"\ndependencies = ["cookiecutter", "click"]\n'
    '[project.scripts]\nccds = "ccds.__main__:main"\n',
    "ccds/__init__.py": "",
    "ccds/__main__.py": "from cookiecutter import cli\n\n\ndef main():\n    cli.main()\n",
    "hooks/post_gen_project.py": "import shutil\n\nshutil.rmtree('docs', ignore_errors=True)\n",
    "{{ cookiecutter.repo_name }}/{{ cookiecutter.module_name }}/modeling/train.py": "from sklearn.svm import SVC\n\n\n"
    "def main():\n    SVC().fit([[0]], [0])\n",
    "tests/test_creation.py": "from ccds.__main__ import main\n\n\ndef test_baking_configs(tmp_path):\n    assert main() is None\n",
    ".github/workflows/tests.yml": "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test\n",
    "Makefile": "test:\n\tpytest -vvv tests\n",
}
DATABRICKS_TEMPLATE = {
    "databricks_template_schema.json": '{"properties": {"input_project_name": {"type": "string"}}}',
    "template/{{.input_root_dir}}/{{template `project_name_alphanumeric_underscore` .}}/training/notebooks/Train.py.tmpl": "import mlflow\nfrom sklearn.ensemble import RandomForestRegressor\n",
    "template/{{.input_root_dir}}/{{template `project_name_alphanumeric_underscore` .}}/databricks.yml.tmpl": "bundle:\n  name: x\n",
    "library/template_variables.tmpl": "{{ define `project_name_alphanumeric_underscore` -}}x{{- end }}\n",
    "tests/test_create_project.py": "import subprocess\n\n\ndef test_generate(tmp_path):\n"
    "    assert subprocess.run(['databricks', 'bundle', 'init', '.'], check=False).returncode == 0\n",
    ".github/workflows/run-checks.yaml": "on: push\njobs:\n  tests:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest tests\n",
    "dev-requirements.txt": "pytest\n",
}
COPIER_TEMPLATE = {
    "copier.yml": "_subdirectory: template\nproject_name:\n  type: str\n",
    "template/src/{{ package }}/train.py.jinja": "from sklearn.svm import SVC\n",
    "template/pyproject.toml.jinja": '[project]\nname = "{{ project_name }}"\n',
    "tests/test_copy.py": "import copier\n\n\ndef test_copy(tmp_path):\n    assert copier.run_copy('.', tmp_path, defaults=True)\n",
}


def test_template_repositories_are_reported_as_templates(tmp_path: Path) -> None:
    for name, files, engines in (
        ("ccds", CCDS_TEMPLATE, "cookiecutter"),
        ("mlops-stacks", DATABRICKS_TEMPLATE, "Databricks bundle template"),
        ("copier-template", COPIER_TEMPLATE, "copier"),
    ):
        result = assess(build_tree(tmp_path / name, files))
        assert (result.kind, result.ml_project) == ("template", False), name
        assert result.verdict.startswith(f"A project template ({engines}), not a project"), result.verdict
        assert not result.plan.required and not result.plan.recommended
    report = runner.invoke(
        app, ["assess", str(tmp_path / "ccds"), str(tmp_path / "mlops-stacks"), "--markdown"]
    )
    assert report.exit_code == 0, report.output
    assert "| ccds | 0 (a project template) |" in report.stdout

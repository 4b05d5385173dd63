"""`assess` on repositories shaped like the public ones issue 10 tried, rebuilt here in miniature.

Each fixture keeps the layout and the kind of code of its model (a cookiecutter-data-science render,
an MLOps reference package, SageMaker's and Azure's MLOps templates, a ZenML render, Databricks MLOps
Stacks, a plain library) with just enough content to carry its signals. The old assess put every
one of them at level 0 with an "write ADRs" plan.
"""

# Fixture trees hold one file per entry, as the repositories would: long lines read better here.
# ruff: noqa: E501

from __future__ import annotations

from pathlib import Path

from assess_support import build_tree, found

from mlops_scaffold.assess import assess

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

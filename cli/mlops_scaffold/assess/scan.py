"""How assess reads a repository: its files, the role of each file, and parsed views of content.

Evidence is only ever taken from parsed content: Python through its syntax tree, notebooks
through their code cells, YAML/JSON/TOML through their keys and values, Dockerfiles, Makefiles,
Jenkinsfiles and Terraform through their instructions. Comments never count.

Every reader is linear in the size of its input, so one odd file cannot stall an assessment:

- YAML is built from the C parser's event stream (PyYAML's own constructor resolves each scalar
  with Python regular expressions and costs seconds per megabyte);
- parsed trees are walked once, iteratively, with a guard against shared (aliased) nodes;
- no regular expression spans more than a line, and none backtracks over a whole file;
- sizes and nesting are bounded (``bounded``): a file over MAX_TEXT_BYTES, or whose JSON, TOML or
  YAML nests deeper than ``bounded.MAX_DEPTH``, is skipped and listed in the assessment's notes
  ("Not read: ... (nested deeper than 100 levels)"), never a traceback.

Roles come from a file's place in the tree: tests (``tests/``, ``test_*.py``, ``*_test.py``,
``*_tests.py``), documentation (``docs/``) and template sources (``{{cookiecutter...}}`` and
copier paths, ``*.jinja``/``*.j2``/``*.tmpl`` files, the folder a ``cookiecutter.json`` or a
``copier.yml`` renders) are told apart from the project's own files.
"""

from __future__ import annotations

import ast
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml

from mlops_scaffold.bounded import (
    MAX_DEPTH,
    NotRead,
    load_json,
    load_toml,
    printable,
    read_bytes,
    size_words,
)

MAX_FILES = 200_000
MAX_TEXT_BYTES = 4_000_000  # code and configuration larger than this is listed, not read
MAX_NOTEBOOK_BYTES = 32_000_000  # notebooks carry their outputs

# Folders that hold tools, environments, vendored code or outputs rather than the repository's own work.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".env",
        "env",
        "node_modules",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".ipynb_checkpoints",
        "site-packages",
        ".eggs",
        ".cache",
        ".idea",
        ".vscode",
        "mlruns",
        "wandb",
        ".dvc",
        "third_party",
        "third-party",
        "vendor",
        "_vendor",
    }
)
TEST_DIRS = frozenset({"tests", "test", "testing", "__tests__"})
DOC_DIRS = frozenset({"docs", "doc"})
TEMPLATE_SUFFIXES = (".jinja", ".jinja2", ".j2", ".tmpl", ".tpl")
_TEST_NAME = re.compile(r"^(?:test_.*|.*_tests?|tests|conftest)\.py$")

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


@lru_cache(maxsize=65536)
def _tokens(text: str) -> frozenset[str]:
    return frozenset(word.lower() for word in _WORD.findall(text))


def tokens(text: str) -> set[str]:
    """The words of an identifier, path or command: 'TrainingJob' -> {'training', 'job'}."""
    return set(_tokens(text))


def shown(path: str) -> str:
    """A file name safe to print and to encode as JSON (undecodable bytes become U+FFFD, control
    characters such as a newline or a terminal escape are written as escapes)."""
    return printable(path.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


@dataclass(frozen=True, slots=True)
class File:
    path: str  # relative posix path, as on disk
    name: str  # lower-case file name
    dirs: tuple[str, ...]  # lower-case folder names, outermost first
    size: int
    test: bool  # a test file (by name or folder)
    doc: bool  # documentation
    template: str | None  # the template engine when the file is template source

    @property
    def suffix(self) -> str:
        dot = self.name.rfind(".")
        return self.name[dot:] if dot > 0 else ""

    @property
    def stem(self) -> str:
        dot = self.name.rfind(".")
        return self.name[:dot] if dot > 0 else self.name

    @property
    def own(self) -> bool:
        """Part of the project proper: not a test, documentation or template source."""
        return not (self.test or self.doc or self.template)


@dataclass(frozen=True)
class TemplateSource:
    path: str  # a folder (or file) of template sources
    engine: str  # cookiecutter, copier or jinja


# --- walking ---------------------------------------------------------------------------------------


def _copier_subdirectory(path: str) -> str | None:
    """The `_subdirectory` a copier.yml renders ('' for the whole folder); None when unreadable."""
    try:
        data = load_yaml(read_bytes(path, MAX_TEXT_BYTES).decode("utf-8", "replace"))
    except (OSError, NotRead):  # also a FIFO or a symlink named copier.yml: never opened
        return None
    config = data[0] if data and isinstance(data[0], dict) else {}
    sub = config.get("_subdirectory")
    return sub.strip("/") if isinstance(sub, str) else ""


def _template_engine(part: str) -> str | None:
    if "{{" in part or "{%" in part:
        return "cookiecutter" if "cookiecutter" in part else "jinja"
    return None


def walk(root: str, notes: list[str]) -> tuple[list[File], list[TemplateSource]]:
    """Every regular file below ``root`` with its role; symlinks are never followed."""
    files: list[File] = []
    templates: dict[str, str] = {}
    # (folder, relative folder, lower-case folder names, template engine of the folder)
    stack: list[tuple[str, str, tuple[str, ...], str | None]] = [(root, "", (), None)]
    while stack:
        folder, rel, dirs, engine = stack.pop()
        try:
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError:
            continue
        names = {entry.name for entry in entries}
        # What a template marker in this folder makes template source: {child name: engine}.
        marked: dict[str, str] = {}
        whole: str | None = None
        if engine is None and "cookiecutter.json" in names:
            marked = {"cookiecutter.json": "cookiecutter", "hooks": "cookiecutter"}
        if engine is None and "databricks_template_schema.json" in names:
            # A Databricks asset bundle template: the schema, the template/ tree it renders and the
            # library/ of helper templates (https://docs.databricks.com/aws/en/dev-tools/bundles/templates).
            marked |= {n: "databricks" for n in ("databricks_template_schema.json", "template", "library")}
        if engine is None and names & {"copier.yml", "copier.yaml"}:
            marker = "copier.yml" if "copier.yml" in names else "copier.yaml"
            sub = _copier_subdirectory(os.path.join(folder, marker))
            marked[marker] = "copier"
            if sub:
                marked[sub.split("/")[0]] = "copier"
            elif sub == "":
                whole = "copier"
                templates.setdefault(rel or ".", "copier")
        children: list[tuple[str, str, tuple[str, ...], str | None]] = []
        for entry in entries:
            child_rel = f"{rel}/{entry.name}" if rel else entry.name
            child_engine = engine or whole or marked.get(entry.name) or _template_engine(entry.name)
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name in SKIP_DIRS or entry.name.endswith(".egg-info"):
                        continue
                    if os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                        continue  # a virtual environment under another name
                    if child_engine and not engine:
                        templates.setdefault(child_rel, child_engine)
                    children.append((entry.path, child_rel, (*dirs, entry.name.lower()), child_engine))
                    continue
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue  # symlinks, pipes, sockets: never read
            if len(files) >= MAX_FILES:
                notes.append(
                    f"Stopped after {MAX_FILES} files; the rest of the repository was not inspected."
                )
                return files, _template_list(templates)
            name = entry.name.lower()
            if not child_engine and name.endswith(TEMPLATE_SUFFIXES):
                child_engine = "jinja"
            if child_engine and not engine and not whole:
                templates.setdefault(child_rel, child_engine)
            files.append(
                File(
                    path=child_rel,
                    name=name,
                    dirs=dirs,
                    size=info.st_size,
                    test=bool(TEST_DIRS.intersection(dirs)) or bool(_TEST_NAME.match(name)),
                    doc=bool(DOC_DIRS.intersection(dirs)),
                    template=child_engine,
                )
            )
        stack.extend(reversed(children))
    return files, _template_list(templates)


MAX_TEMPLATES = 20


def _template_list(found: dict[str, str]) -> list[TemplateSource]:
    """The outermost template folders, at most ``MAX_TEMPLATES``.

    Linear in the number of paths: each path's ancestors are looked up in a set of the paths, so
    a tree with thousands of template folders costs no more than its listing.
    """
    if "." in found:
        return [TemplateSource(".", found["."])]
    kept: list[TemplateSource] = []
    for path in sorted(found):
        parts = path.split("/")
        if any("/".join(parts[:end]) in found for end in range(1, len(parts))):
            continue  # inside a template folder listed already
        kept.append(TemplateSource(shown(path), found[path]))
        if len(kept) == MAX_TEMPLATES:
            break
    return kept


# --- YAML, read from the event stream -------------------------------------------------------------

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_NO_KEY = object()
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _scalar(event: yaml.ScalarEvent) -> Any:
    value = event.value
    if not event.implicit[0]:  # quoted or tagged: a string
        return value
    if value in _NULLS:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value[:1].isdigit() or (value[:1] in "-+." and value[1:2].isdigit()):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return value
    return value


def load_yaml(text: str) -> list[Any]:
    """The documents of a YAML stream (YAML 1.2 core scalars; unknown tags ignored); [] if invalid,
    NotRead when it nests deeper than ``MAX_DEPTH`` (aliases followed) or an alias refers to a
    node that contains it.

    `on:` stays the string 'on' (GitHub Actions), `!Ref x` is 'x' (CloudFormation), and an alias
    is the anchored object itself, never a copy, so anchor bombs cost nothing.
    """
    documents: list[Any] = []
    stack: list[list[Any]] = []  # [container, pending key, height of its tallest child]
    anchors: dict[str, Any] = {}
    heights: dict[int, int] = {}  # id(container) -> how deep it nests, once it is complete

    def add(value: Any, height: int = 0) -> None:
        if not stack:
            documents.append(value)
            return
        top = stack[-1]
        top[2] = max(top[2], height)
        container = top[0]
        if isinstance(container, list):
            container.append(value)
        elif top[1] is _NO_KEY:
            top[1] = value if isinstance(value, str | int | float | bool | None) else "<complex key>"
        else:
            key, top[1] = top[1], _NO_KEY
            if key == "<<" and isinstance(value, dict):
                for merged_key, merged in value.items():
                    container.setdefault(merged_key, merged)
            else:
                container[key] = value

    too_deep = NotRead(f"nested deeper than {MAX_DEPTH} levels")
    try:
        for event in yaml.parse(text, Loader=_Loader):
            kind = type(event)
            anchor = getattr(event, "anchor", None)
            if isinstance(event, yaml.ScalarEvent):
                value = _scalar(event)
                if anchor:
                    anchors[anchor] = value
                add(value)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                container: Any = {} if kind is yaml.MappingStartEvent else []
                if anchor:
                    anchors[anchor] = container
                add(container)
                stack.append([container, _NO_KEY, 0])
                if len(stack) > MAX_DEPTH:
                    raise too_deep
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                done, _, tallest = stack.pop()
                heights[id(done)] = tallest + 1
                if stack:
                    stack[-1][2] = max(stack[-1][2], tallest + 1)
            elif kind is yaml.AliasEvent:
                target = anchors.get(str(anchor))
                height = 0
                if isinstance(target, dict | list):
                    if id(target) not in heights:
                        raise NotRead("a YAML alias refers to a node that contains it")
                    height = heights[id(target)]
                    if len(stack) + height > MAX_DEPTH:
                        raise too_deep
                add(target, height)
    except NotRead:
        raise
    except yaml.YAMLError as error:
        if "nesting depth" in str(error):  # libyaml's own limit
            raise too_deep from None
        return []
    except (ValueError, IndexError, TypeError, RecursionError):
        return []
    return documents


def strip_jinja(text: str) -> str:
    """Template YAML made parseable: `{{ ... }}` becomes `x`, lines holding only `{% ... %}` go."""
    lines = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("{%", "{{-")) and stripped.endswith(("%}", "}}")):
            continue
        out, start = [], 0
        while (opening := line.find("{{", start)) >= 0:
            closing = line.find("}}", opening + 2)
            if closing < 0:
                break
            out.append(line[start:opening])
            out.append("x")
            start = closing + 2
        out.append(line[start:])
        lines.append("".join(out))
    return "\n".join(lines)


def nodes(documents: Iterable[Any]) -> Iterator[dict[str, Any] | list[Any]]:
    """Every mapping and sequence of parsed documents, each once (shared nodes too)."""
    seen: set[int] = set()
    stack = [d for d in documents if isinstance(d, dict | list)]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        children = node.values() if isinstance(node, dict) else node
        stack.extend(child for child in children if isinstance(child, dict | list))


def present(value: Any) -> bool:
    """A setting that is really set: not null, empty, false, zero or 'unspecified'."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value > 0
    if isinstance(value, str):
        text = value.strip().lower()
        return text not in ("", "0", "none", "null", "false", "~") and "unspecified" not in text
    if isinstance(value, dict | list):
        return bool(value)
    return True


# --- Python, read through its syntax tree ---------------------------------------------------------

METRIC_WORDS = frozenset(
    {
        "accuracy",
        "acc",
        "auc",
        "roc",
        "f1",
        "precision",
        "recall",
        "rmse",
        "mse",
        "mae",
        "mape",
        "r2",
        "loss",
        "score",
        "scores",
        "metric",
        "metrics",
        "logloss",
        "error",
        "ndcg",
        "bleu",
        "rouge",
        "perplexity",
        "gini",
        "kappa",
    }
)
# What a function that compares metrics to decide a promotion is called (or its module). Broader
# words (validate, select, register, compare, deploy) name data checks, feature selection and
# early stopping as often: there the comparison counts only next to a registry move (below).
GATE_WORDS = frozenset({"promote", "promotion", "gate", "champion", "challenger"})
# Calls that move a model version in a registry (a promotion, if metrics decide it).
REGISTRY_ACTIONS = frozenset(
    {
        "set_registered_model_alias",
        "transition_model_version_stage",
        "update_model_version",
        "copy_model_version",
        "register_model",
        "update_model_package",
        "create_model_package",
        "link_model",
    }
)
_ORDERING = (ast.Gt, ast.GtE, ast.Lt, ast.LtE)
# A metric compared with a fixed number or a configured bar is a quality threshold, not a
# champion/challenger comparison: that compares the challenger with the model in service.
THRESHOLD_WORDS = frozenset({"threshold", "thresholds", "thresh", "cutoff", "limit", "minimum", "maximum"})
# Words that name the model a challenger is compared with (early stopping's `best_loss` is not one).
REFERENCE_WORDS = frozenset(
    {"champion", "production", "prod", "baseline", "incumbent", "deployed", "serving", "live"}
)
# SageMaker Pipelines' conditions (sagemaker.workflow.conditions): `left` against `right`.
CONDITION_CALLS = frozenset(
    {
        "ConditionGreaterThan",
        "ConditionGreaterThanOrEqualTo",
        "ConditionLessThan",
        "ConditionLessThanOrEqualTo",
    }
)


@dataclass
class PyFacts:
    """What a Python file (or a notebook's code) does, from its syntax tree."""

    imports: set[str] = field(default_factory=set)  # dotted modules and every prefix of them
    relative_imports: set[str] = field(default_factory=set)  # '.schemas', '..core.metrics', as written
    calls: set[str] = field(default_factory=set)  # resolved dotted names of called functions
    called: set[str] = field(default_factory=set)  # the last name of every call: 'fit', 'deploy'
    kwargs: dict[str, list[Any]] = field(default_factory=dict)  # keyword -> constant values passed
    decorators: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)
    bases: set[str] = field(default_factory=set)  # resolved base classes
    main_guard: bool = False
    tests: int = 0  # test functions and test classes
    real_tests: int = 0  # test functions that exercise something (not placeholders, not fixtures)
    gates: list[str] = field(default_factory=list)  # scopes that compare metrics to promote
    strings: list[str] = field(default_factory=list)  # string constants (short ones)

    def uses(self, *modules: str) -> bool:
        return any(module in self.imports for module in modules)

    def kw(self, *names: str) -> list[Any]:
        return [value for name in names for value in self.kwargs.get(name, ())]


def _dotted(node: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    if isinstance(node, ast.Call):  # Foo().bar -> Foo.bar
        inner = _dotted(node.func)
        return ".".join([inner, *reversed(parts)]) if inner else None
    return None


def _identifier_words(node: ast.AST) -> set[str]:
    words: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            words |= tokens(child.id)
        elif isinstance(child, ast.Attribute):
            words |= tokens(child.attr)
        elif isinstance(child, ast.Constant) and isinstance(child.value, str) and len(child.value) < 40:
            words |= tokens(child.value)
    return words


# Fields that never hold what the reader looks for: skipping them halves the nodes visited.
_SKIP_FIELDS = frozenset({"ctx", "type_comment", "annotation", "returns", "type_params"})
_FIELDS: dict[type, tuple[str, ...]] = {}


class _Scope:
    __slots__ = ("compares", "moves", "name", "reference", "words")

    def __init__(self, name: str, words: set[str]) -> None:
        self.name = name
        self.words = words
        self.compares = False  # compares two metrics (neither a fixed bar) with an ordering operator
        self.reference = False  # one of them is the champion's, production's or baseline's
        self.moves = False  # moves a model version in a registry


class _Reader:
    """One pass over a syntax tree, in source order, with an explicit stack (no recursion)."""

    def __init__(self, facts: PyFacts, module_words: set[str]) -> None:
        self.facts = facts
        self.aliases: dict[str, str] = {}
        self.module = _Scope("<module>", module_words)
        self.scopes: list[_Scope] = [self.module]

    def resolve(self, dotted: str) -> str:
        head, _, rest = dotted.partition(".")
        origin = self.aliases.get(head)
        if origin is None:
            return dotted
        return f"{origin}.{rest}" if rest else origin

    def _module(self, name: str) -> None:
        parts = name.split(".")
        for index in range(1, len(parts) + 1):
            self.facts.imports.add(".".join(parts[:index]))

    def read(self, tree: ast.AST) -> None:
        stack: list[tuple[ast.AST, _Scope]] = [(tree, self.module)]
        facts = self.facts
        while stack:
            node, scope = stack.pop()
            kind = type(node)
            if kind is ast.Call:
                self._call(node, scope)  # type: ignore[arg-type]
            elif kind is ast.Import:
                for alias in node.names:  # type: ignore[attr-defined]
                    self._module(alias.name)
                    head = alias.name.split(".")[0]
                    self.aliases[alias.asname or head] = alias.name if alias.asname else head
                continue
            elif kind is ast.ImportFrom:
                self._import_from(node)  # type: ignore[arg-type]
                continue
            elif kind is ast.Compare:
                if not scope.reference and _metric_compare(node):  # type: ignore[arg-type]
                    scope.compares = True
                    scope.reference = bool(_identifier_words(node) & REFERENCE_WORDS)
            elif kind is ast.Constant:
                value = node.value  # type: ignore[attr-defined]
                if isinstance(value, str) and len(value) <= 300 and len(facts.strings) < 2000:
                    facts.strings.append(value)
                continue
            elif kind is ast.Name:
                continue
            elif kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
                scope = self._scope(node)  # type: ignore[arg-type]
            elif kind is ast.If and scope is self.module:
                test = node.test  # type: ignore[attr-defined]
                if (
                    isinstance(test, ast.Compare)
                    and isinstance(test.left, ast.Name)
                    and test.left.id == "__name__"
                ):
                    facts.main_guard = True
            fields = _FIELDS.get(kind)
            if fields is None:
                fields = _FIELDS[kind] = tuple(f for f in kind._fields if f not in _SKIP_FIELDS)
            children: list[tuple[ast.AST, _Scope]] = []
            for name in fields:
                value = getattr(node, name, None)
                if isinstance(value, list):
                    children.extend((item, scope) for item in value if isinstance(item, ast.AST))
                elif isinstance(value, ast.AST):
                    children.append((value, scope))
            stack.extend(reversed(children))

    def finish(self) -> None:
        """Name the scopes that compare metrics to decide a promotion (the gates)."""
        for scope in self.scopes:
            if scope.compares and (scope.moves or scope.reference or scope.words & GATE_WORDS):
                self.facts.gates.append(scope.name)

    def _import_from(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            # Relative imports name the project's own modules: kept apart, as written ('..core.schemas').
            base = "." * node.level + (node.module or "")
            for alias in node.names:
                if alias.name != "*":
                    name = f"{base}.{alias.name}" if node.module else base + alias.name
                    self.facts.relative_imports.add(name)
            if node.module:
                self.facts.relative_imports.add(base)
            return
        self._module(node.module)
        for alias in node.names:
            if alias.name == "*":
                continue
            self.facts.imports.add(f"{node.module}.{alias.name}")
            self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def _scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> _Scope:
        facts = self.facts
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            dotted = _dotted(target)
            if dotted:
                facts.decorators.add(self.resolve(dotted))
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                dotted = _dotted(base)
                if dotted:
                    facts.bases.add(self.resolve(dotted))
            if node.name.startswith("Test") or any(
                (_dotted(b) or "").endswith("TestCase") for b in node.bases
            ):
                facts.tests += 1
        else:
            facts.functions.add(node.name)
            if node.name.startswith("test"):
                facts.tests += 1
                if not _placeholder_test(node, self.resolve):
                    facts.real_tests += 1
        scope = _Scope(node.name, tokens(node.name) | self.module.words)
        self.scopes.append(scope)
        return scope

    def _call(self, node: ast.Call, scope: _Scope) -> None:
        facts = self.facts
        dotted = _dotted(node.func)
        if dotted:
            resolved = self.resolve(dotted)
            facts.calls.add(resolved)
            last = resolved.rsplit(".", 1)[-1]
            facts.called.add(last)
            if last in REGISTRY_ACTIONS:
                scope.moves = True
            if last in ("Condition", "If", "Elif") and any(
                isinstance(arg, ast.Compare) and _metric_compare(arg) for arg in node.args
            ):
                facts.gates.append(f"{last}(...)")
            elif last in CONDITION_CALLS:
                sides = [k.value for k in node.keywords if k.arg in ("left", "right")] or node.args[:2]
                if len(sides) == 2 and not any(_fixed(side) for side in sides):
                    facts.gates.append(f"{last}(...)")
        for keyword in node.keywords:
            if keyword.arg is not None:
                value = keyword.value
                constant = value.value if isinstance(value, ast.Constant) else ...
                facts.kwargs.setdefault(keyword.arg, []).append(constant)


def _fixed(node: ast.AST) -> bool:
    """A fixed bar: a number, or a value named as a threshold (`min_auc_threshold`, `cfg.limit`)."""
    if isinstance(node, ast.UnaryOp):
        node = node.operand
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int | float) and not isinstance(node.value, bool)
    words = _identifier_words(node)
    return bool(words & THRESHOLD_WORDS) and not words & REFERENCE_WORDS


def _metric_compare(node: ast.Compare) -> bool:
    """An ordering of metrics where no side is a fixed bar (a champion/challenger comparison)."""
    return (
        any(isinstance(op, _ORDERING) for op in node.ops)
        and bool(_identifier_words(node) & METRIC_WORDS)
        and not any(_fixed(side) for side in [node.left, *node.comparators])
    )


_SKIPPING = frozenset({"xfail", "skip", "expectedFailure"})


def _placeholder_test(node: ast.FunctionDef | ast.AsyncFunctionDef, resolve: Callable[[str], str]) -> bool:
    """A test that cannot catch a regression: marked to fail or skip unconditionally (``xfail``,
    ``skip``, ``unittest.skip``), a fixture, or a body of nothing but docstrings, ``pass``,
    ``assert`` of a constant, ``pytest.fail()``/``skip()`` or ``raise NotImplementedError``."""
    for decorator in node.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        name = resolve(_dotted(call.func if call else decorator) or "")
        last = name.rsplit(".", 1)[-1]
        conditional = call is not None and (call.args or any(k.arg == "condition" for k in call.keywords))
        if (last in _SKIPPING and not (last == "xfail" and conditional)) or last == "fixture":
            return True
    for statement in node.body:
        if isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # a docstring or `...`
        if isinstance(statement, ast.Assert) and isinstance(statement.test, ast.Constant):
            continue
        if isinstance(statement, ast.Raise) and statement.exc is not None:
            raised = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
            if (_dotted(raised) or "").endswith("NotImplementedError"):
                continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            called = (_dotted(statement.value.func) or "").rsplit(".", 1)[-1]
            constant = all(isinstance(a, ast.Constant) for a in statement.value.args)
            if called in ("fail", "skip", "xfail", "skipTest") or (called.startswith("assert") and constant):
                continue
        return False
    return True


def python_facts(sources: Iterable[str], module_words: set[str]) -> PyFacts | None:
    """Facts of one or more pieces of Python (a module, or a notebook's cells); None if none parse."""
    facts = PyFacts()
    reader = _Reader(facts, module_words)
    parsed = False
    for source in sources:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        reader.read(tree)
        parsed = True
    if not parsed:
        return None
    reader.finish()
    return facts


def notebook_cells(text: str) -> list[str]:
    """The code cells of a notebook, IPython magics and shell escapes left out (NotRead when it
    nests deeper than ``MAX_DEPTH``)."""
    try:
        notebook = load_json(text)
    except NotRead:
        raise
    except ValueError:
        return []
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    sources = []
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source")
        code = "".join(source) if isinstance(source, list) else str(source or "")
        lines = [line for line in code.split("\n") if not line.lstrip().startswith(("%", "!", "?"))]
        sources.append("\n".join(lines))
    return sources


# --- line-oriented formats ------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, arguments = current.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    return instructions


_MAKE_NAMES = re.compile(r"[A-Za-z0-9_.%/-][A-Za-z0-9_.%/ -]*")
_JUST_NAME = re.compile(r"@?([A-Za-z0-9_-]+)")


def _target_names(line: str, *, just: bool) -> list[str]:
    """The targets a rule line defines (`train test:`, `train arg:` in a justfile); [] for others.

    The line is split at its first ':' and each side checked whole, so a long line costs one pass.
    """
    head, colon, rest = line.partition(":")
    if not colon or rest.startswith("=") or head.startswith((".", "export ", "set ")):
        return []
    if just:
        match = _JUST_NAME.match(head)
        return [match.group(1)] if match and "=" not in head else []
    return head.split() if _MAKE_NAMES.fullmatch(head.rstrip()) else []


def task_targets(text: str, *, just: bool = False) -> dict[str, list[str]]:
    """Targets (Makefile) or recipes (justfile) and their command lines."""
    targets: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.split("\n"):
        if line[:1] in ("\t", " ") and current is not None:
            command = line.strip()
            if command and not command.startswith("#"):
                current.append(command)
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        names = _target_names(line, just=just)
        if not names:
            current = None
            continue
        current = []
        for name in names:
            targets.setdefault(name, current)
    return targets


_TF_RESOURCE = re.compile(r'^\s*(resource|data)\s+"([A-Za-z0-9_]+)"')
_TF_SETTING = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=(.*)$")


def terraform(text: str) -> tuple[set[str], list[tuple[str, str]]]:
    """Resource types and `key = value` settings of a Terraform file, comments dropped."""
    types: set[str] = set()
    settings: list[tuple[str, str]] = []
    in_comment = False
    for line in text.split("\n"):
        if in_comment:
            if "*/" in line:
                in_comment = False
                line = line.split("*/", 1)[1]
            else:
                continue
        if "/*" in line:
            line, _, rest = line.partition("/*")
            in_comment = "*/" not in rest
        stripped = line.strip()
        if stripped.startswith(("#", "//")):
            continue
        if match := _TF_RESOURCE.match(line):
            if match.group(1) == "resource":
                types.add(match.group(2))
            continue
        if match := _TF_SETTING.match(line):
            value = match.group(2).split(" #", 1)[0].split(" //", 1)[0].strip().strip('"')
            settings.append((match.group(1).lower(), value))
    return types, settings


_GROOVY_STAGE = re.compile(r"""\bstage\s*\(\s*['"]([^'"]*)['"]""")
_GROOVY_CRON = re.compile(r"""\bcron\s*\(\s*['"]([^'"]*)['"]""")
_GROOVY_SH = re.compile(r"""\b(?:sh|bat|powershell)\s*\(?\s*(?:script\s*:\s*)?['"]{1,3}([^'"]*)""")


def jenkinsfile(text: str) -> tuple[list[str], list[str], list[str]]:
    """Stage names, cron triggers and shell commands of a Jenkinsfile, comments dropped."""
    stages, crons, commands = [], [], []
    for line in text.split("\n"):
        code = line.split("//", 1)[0] if "://" not in line else line
        if code.strip().startswith(("*", "/*")):
            continue
        stages += _GROOVY_STAGE.findall(code)
        crons += _GROOVY_CRON.findall(code)
        commands += _GROOVY_SH.findall(code)
    return stages, crons, commands


_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def requirement_names(lines: Iterable[str]) -> list[tuple[str, str]]:
    """(normalised name, version spec) of requirement lines; options and comments left out."""
    found = []
    for line in lines:
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-", "http:", "https:", "git+")):
            continue
        if match := _REQUIREMENT.match(line):
            found.append((re.sub(r"[-_.]+", "-", match.group(1)).lower(), match.group(3)))
    return found


# --- the repository -------------------------------------------------------------------------------


class Repository:
    """The files of a repository and their parsed content, each file read and parsed at most once."""

    def __init__(
        self, root: str, *, part_of: Repository | None = None, files: list[File] | None = None
    ) -> None:
        """The repository at ``root``, or (``part_of``, ``files``) a view of some of its files
        (one project of a monorepo) that shares what the whole has read and parsed."""
        self.root = root
        self.notes: list[str] = []
        if part_of is None:
            self.files, self.templates = walk(root, self.notes)
        else:
            self.files = files or []
            self.templates = [
                t
                for t in part_of.templates
                if any(f.path == t.path or f.path.startswith(f"{t.path}/") for f in self.files if f.template)
            ]
        self.by_name: dict[str, list[File]] = {}
        self.by_suffix: dict[str, list[File]] = {}
        for file in self.files:
            self.by_name.setdefault(file.name, []).append(file)
            self.by_suffix.setdefault(file.suffix, []).append(file)
        self.not_read: dict[str, str] = part_of.not_read if part_of else {}  # path -> why it was skipped
        self._text: dict[str, str | None] = part_of._text if part_of else {}
        self._python: dict[str, PyFacts | None] = part_of._python if part_of else {}
        self._data: dict[str, list[Any]] = part_of._data if part_of else {}
        self._mappings: dict[str, list[dict[str, Any]]] = part_of._mappings if part_of else {}
        self._keys: dict[str, dict[str, list[Any]]] = part_of._keys if part_of else {}
        self._strings: dict[str, list[str]] = part_of._strings if part_of else {}

    # selection

    def named(self, *names: str, own: bool = True) -> list[File]:
        return [f for n in names for f in self.by_name.get(n, ()) if f.own or not own]

    def suffixed(self, *suffixes: str, tests: bool = False, docs: bool = False) -> list[File]:
        return [
            f
            for s in suffixes
            for f in self.by_suffix.get(s, ())
            if not f.template and (tests or not f.test) and (docs or not f.doc)
        ]

    def python_files(self, *, tests: bool = False) -> list[File]:
        return self.suffixed(".py", ".ipynb", tests=tests)

    def config_files(self, *, tests: bool = False) -> list[File]:
        return self.suffixed(".yml", ".yaml", ".json", ".toml", tests=tests)

    # reading

    def text(self, file: File) -> str | None:
        if file.path not in self._text:
            self._text[file.path] = None
            limit = MAX_NOTEBOOK_BYTES if file.suffix == ".ipynb" else MAX_TEXT_BYTES
            if file.size > limit:
                self.not_read[file.path] = f"larger than {size_words(limit)}"
            else:
                try:  # a file swapped for a symlink or a FIFO since the walk is not read
                    content = read_bytes(os.path.join(self.root, file.path), limit)
                    self._text[file.path] = content.decode("utf-8", "replace")
                except NotRead as error:
                    self.not_read[file.path] = str(error)
                except OSError:
                    pass
        return self._text[file.path]

    def python(self, file: File) -> PyFacts | None:
        if file.path not in self._python:
            text = self.text(file)
            facts = None
            if text is not None:
                words = tokens(file.stem) | {w for d in file.dirs[-1:] for w in tokens(d)}
                try:
                    sources = notebook_cells(text) if file.suffix == ".ipynb" else [text]
                except NotRead as error:
                    self.not_read[file.path] = str(error)
                    sources = []
                facts = python_facts(sources, words)
            self._python[file.path] = facts
        return self._python[file.path]

    def data(self, file: File) -> list[Any]:
        """The parsed documents of a YAML, JSON or TOML file ([] when it does not parse)."""
        if file.path not in self._data:
            text = self.text(file)
            documents: list[Any] = []
            try:
                documents = self._parse(file, text) if text is not None else []
            except NotRead as error:
                self.not_read[file.path] = str(error)
                documents = []
            self._data[file.path] = documents
        return self._data[file.path]

    @staticmethod
    def _parse(file: File, text: str) -> list[Any]:
        if file.suffix == ".json" or file.name.endswith(".ipynb"):
            try:
                return [load_json(text)]
            except NotRead:
                raise
            except ValueError:
                return []
        if file.suffix == ".toml":
            try:
                return [load_toml(text)]
            except NotRead:
                raise
            except ValueError:  # incl. tomllib.TOMLDecodeError
                return []
        documents = load_yaml(text)
        if not documents and ("{{" in text or "{%" in text):
            documents = load_yaml(strip_jinja(text))
        return documents

    def not_read_notes(self, shown_files: int = 10) -> list[str]:
        """One note per reason files were skipped, naming the first ``shown_files`` of them."""
        by_reason: dict[str, list[str]] = {}
        for path, reason in sorted(self.not_read.items()):
            by_reason.setdefault(reason, []).append(shown(path))
        notes = []
        for reason, paths in by_reason.items():
            more = f" and {len(paths) - shown_files} more" if len(paths) > shown_files else ""
            notes.append(f"Not read ({reason}): {', '.join(paths[:shown_files])}{more}.")
        return notes

    def mappings(self, file: File) -> list[dict[str, Any]]:
        """Every mapping of the file's documents, each once (walked once, then kept)."""
        if file.path not in self._mappings:
            self._mappings[file.path] = [n for n in nodes(self.data(file)) if isinstance(n, dict)]
        return self._mappings[file.path]

    def keys(self, file: File) -> dict[str, list[Any]]:
        """Every key of the file's mappings with the values it has (one index per file)."""
        if file.path not in self._keys:
            index: dict[str, list[Any]] = {}
            for mapping in self.mappings(file):
                for key, value in mapping.items():
                    if isinstance(key, str):
                        index.setdefault(key, []).append(value)
            self._keys[file.path] = index
        return self._keys[file.path]

    def strings(self, file: File) -> list[str]:
        """The file's string keys and values (those under 2000 characters)."""
        if file.path not in self._strings:
            found: list[str] = []
            for mapping in self.mappings(file):
                found.extend(k for k in mapping if isinstance(k, str) and len(k) < 2000)
                found.extend(v for v in mapping.values() if isinstance(v, str) and len(v) < 2000)
            for node in nodes(self.data(file)):
                if isinstance(node, list):
                    found.extend(v for v in node if isinstance(v, str) and len(v) < 2000)
            self._strings[file.path] = found
        return self._strings[file.path]

    def first(self, file: File) -> dict[str, Any]:
        """The first document when it is a mapping ({} otherwise)."""
        documents = self.data(file)
        return documents[0] if documents and isinstance(documents[0], dict) else {}

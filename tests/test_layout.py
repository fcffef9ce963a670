"""The package's shape: sub-packages follow the data flow, imports point only backwards along it,
and functions stay short enough to read at once."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "hubkit"

# The data flow, first to last. Top-level modules below `data` are shared by every stage; those
# after `experiments` (cli, demo, the train shims) may use everything.
STAGES = ["errors", "languages", "files", "options", "hardware", "redact",
          "data", "models", "evaluation", "augment", "hub", "training", "serve", "experiments"]
FOUNDATION = set(STAGES[:STAGES.index("data")])
MAX_FUNCTION_LINES = 60
LONG_OK = "# long:"  # a function over the limit says why with a comment starting like this


def _stage(module: str) -> int:
    """hubkit.data.readers -> index of `data`; modules after the last stage -> len(STAGES)."""
    parts = module.split(".")
    if parts[0] != "hubkit" or len(parts) == 1:
        return len(STAGES)
    first = parts[1]
    return STAGES.index(first) if first in STAGES else len(STAGES)


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _hubkit_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every `import hubkit...` / `from hubkit... import x`, lazy ones included."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("hubkit"):
            names = [node.module] if node.module != "hubkit" else [f"hubkit.{a.name}" for a in node.names]
            found += [(node.lineno, name) for name in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("hubkit")]
    return found


def _modules():
    return sorted(PACKAGE.rglob("*.py"))


def test_every_stage_is_a_sub_package_with_a_docstring():
    for stage in STAGES:
        if stage in FOUNDATION:
            assert (PACKAGE / f"{stage}.py").is_file(), stage
            continue
        init = PACKAGE / stage / "__init__.py"
        assert init.is_file(), f"hubkit/{stage}/ is not a package"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc.split()) >= 8, f"hubkit/{stage}/__init__.py should say what flows in and out"


def test_imports_point_only_backwards_along_the_data_flow():
    later = []
    for path in _modules():
        module = _module_name(path)
        here = _stage(module)
        for line, imported in _hubkit_imports(ast.parse(path.read_text(encoding="utf-8"))):
            there = _stage(imported)
            if there > here:
                later.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {imported}")
    assert not later, "imports from a later stage:\n" + "\n".join(later)


def test_the_layout_check_sees_a_forward_import():
    tree = ast.parse("def f():\n    from hubkit.serve.tagger import Tagger\n")
    (line, imported), = _hubkit_imports(tree)
    assert _stage(imported) > _stage("hubkit.data.readers")


def _long_functions(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            body = lines[node.lineno - 1:node.end_lineno]
            if length > MAX_FUNCTION_LINES and not any(LONG_OK in line for line in body):
                out.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name} ({length} lines)")
    return out


def test_no_function_is_longer_than_the_limit_without_a_reason():
    long = [entry for path in _modules() for entry in _long_functions(path)]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (split them, or say why with '{LONG_OK}'):\n" \
        + "\n".join(long)


@pytest.mark.parametrize("name, table", [("LANGUAGES", "{"), ("DataError", "class"), ("sha256_file", "def"),
                                         ("atomic_folder", "def")])
def test_one_definition_of_each_shared_thing(name, table):
    """The language table, the data error, the file hash and the atomic folder exist once."""
    pattern = {"{": f"{name}: dict", "class": f"class {name}(", "def": f"def {name}("}[table]
    defined = [str(p.relative_to(PACKAGE.parent)) for p in _modules()
               if any(line.startswith(pattern) or line.startswith(f"{name} = ") for line in
                      p.read_text(encoding="utf-8").splitlines())]
    assert len(defined) == 1, f"{name} defined in {defined}"


def test_no_module_imports_another_modules_private_names():
    private = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hubkit"):
                private += [f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.module}.{a.name}"
                            for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    assert not private, "private names used across modules (make them public or move them):\n" + "\n".join(private)


def test_importing_hubkit_is_light_and_exports_the_public_api():
    import subprocess
    import sys

    code = ("import sys, hubkit; names = hubkit.__all__; [getattr(hubkit, n) for n in names]; "
            "print(len(names), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) >= 15 and out[1] == "False"


@pytest.mark.parametrize("script, verb", [("hubkit/train.py", "hubkit train"), ("hubkit/train_llm.py", "hubkit train-llm")])
def test_the_trainer_scripts_run_by_path(script, verb):
    """`accelerate launch hubkit/train.py` runs the file as a script: the shim must import the package."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True,
                          cwd=PACKAGE.parent)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: {verb} ") and "--model_name_or_path" in proc.stdout


def test_the_four_languages_are_listed_only_in_the_registry():
    from hubkit.languages import LANGUAGES

    spelled = []
    for path in _modules():
        if path.name == "languages.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            # a list of the names (per-language data keyed by them, as dicts, is not a copy)
            if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
                words = {i.value for i in node.elts if isinstance(i, ast.Constant) and isinstance(i.value, str)}
                if words == set(LANGUAGES):
                    spelled.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not spelled, "the four languages spelled out again (use hubkit.languages):\n" + "\n".join(spelled)

"""DVC deps are complete and derived: dvc.yaml is written from the stage declarations
(emsync.pipeline.stages.STAGES); each flow stage's code deps in dvc.yaml equal
its declared list (emsync.pipeline.stages.STAGE_CODE), that list covers every module the flow imports, and
the flow's Prefect cache key hashes the same list."""

import ast
from pathlib import Path

import pytest

from emsync.pipeline.stages import EXTRACTOR_CODE, STAGE_CODE, code_files, digest, stage_digest

ROOT = Path(__file__).resolve().parent.parent
CODE_PREFIXES = ("emsync/", "flows/", "tasks/", "models/", "scripts/")


def pipeline_copy(dest: Path) -> Path:
    """The checkout's pipeline definition (dvc.yaml, params.yaml, .dvc/config) copied to `dest`,
    where DVC may open it: a Repo on the checkout itself would share its .dvc/tmp with a running
    `dvc repro`."""
    import shutil

    from emsync.pipeline.stages import PIPELINES

    (dest / ".dvc").mkdir(parents=True)
    for f in ("params.yaml", *(str(Path(p) / "dvc.yaml") for p in PIPELINES)):  # the root dvc.yaml and pipelines/*/dvc.yaml
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / f, dest / f)
    (dest / ".dvc" / "config").write_text("[core]\n    no_scm = true\n")
    return dest


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory):
    return pipeline_copy(tmp_path_factory.mktemp("pipeline") / "proj")


@pytest.fixture(scope="module")
def stages(repo_copy) -> dict:
    """{stage name: (code key, code deps)} for every dvc.yaml stage that runs `python -m flows.<name>`,
    as DVC resolves them (foreach entries one by one, templates filled from params.yaml). The code
    key is the stage's name (without @item) where STAGE_CODE has it, else the flow's name."""
    from dvc.repo import Repo

    out = {}
    with Repo(str(repo_copy)) as repo:
        for st in repo.index.stages:
            if st.cmd and st.cmd.startswith("python -m flows."):
                deps = [d.def_path for d in st.deps if d.def_path.startswith(CODE_PREFIXES)]
                base = st.name.split("@")[0]
                out[st.name] = (base if base in STAGE_CODE else st.cmd.split("flows.")[1].split()[0], deps)
    return out


def _flow_start(key: str) -> list:
    """Where a stage's imports start: its flow, and for features_<extractor> that extractor's module
    (the flow imports it by name at run time)."""
    if key.startswith("features_") and key[len("features_") :] in EXTRACTOR_CODE:
        return [ROOT / "flows" / "features.py", ROOT / "emsync" / "video" / "extractors" / f"{key[len('features_') :]}.py"]
    return [ROOT / "flows" / f"{key}.py"]


def _module_file(name: str):
    parts = name.split(".")
    if parts[0] == "emsync" and len(parts) > 1 and parts[1] in ("models", "tasks", "flows"):
        parts = parts[1:]  # emsync.models -> the top-level models/ folder (pyproject's package-dir)
    elif parts[0] not in ("emsync", "models", "tasks", "flows"):
        return None
    p = ROOT.joinpath(*parts)
    for cand in (p / "__init__.py", p.with_suffix(".py")):
        if cand.exists():
            return cand
    return None


def _import_closure(*start: Path) -> set:
    """Repository .py files reachable from `start` through static imports (lazy ones included)."""
    seen, todo = set(), list(start)
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        package = list(f.relative_to(ROOT).parts[:-1])
        for n in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names = []
            if isinstance(n, ast.Import):
                names = [a.name for a in n.names]
            elif isinstance(n, ast.ImportFrom):
                base = ".".join(package[: len(package) - n.level + 1] + ([n.module] if n.module else [])) if n.level else n.module
                names = [base] + [f"{base}.{a.name}" for a in n.names]
            todo += [g for g in map(_module_file, names) if g is not None and g not in seen]
    return seen


def test_every_flow_stage_has_a_declared_code_list(stages):
    assert sorted({key for key, _ in stages.values()}) == sorted(STAGE_CODE)


def test_dvc_code_deps_equal_the_declared_list(stages):
    assert len(stages) > 20
    bad = {st: key for st, (key, deps) in stages.items() if len(deps) != len(set(deps)) or sorted(deps) != sorted(STAGE_CODE[key])}
    assert bad == {}, "dvc.yaml's code deps differ from emsync.pipeline.stages.STAGE_CODE"


@pytest.mark.parametrize("stage", sorted(STAGE_CODE))
def test_declared_list_covers_every_module_the_flow_imports(stage):
    declared = {f.resolve() for f in code_files(STAGE_CODE[stage])}
    markers = {ROOT / d / "__init__.py" for d in ("tasks", "models", "flows")}  # empty package markers
    missing = sorted(str(f.relative_to(ROOT)) for f in _import_closure(*_flow_start(stage)) - markers if f.resolve() not in declared)
    assert missing == [], f"add to emsync.pipeline.stages.STAGE_CODE[{stage!r}] and dvc.yaml: {missing}"


@pytest.mark.parametrize("stage", ["demo_data", "labeling", "tokens", "train", "evaluate"])
def test_the_flow_keys_its_tasks_on_the_declared_code(stage):
    src = (ROOT / "flows" / f"{stage}.py").read_text(encoding="utf-8")
    calls = [n for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "stage_digest"]
    assert [c.args[0].value for c in calls] == [stage]


def test_the_digest_follows_the_bytes_and_names(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("x = 1\n")
    first = digest([a])
    assert digest([a]) == first and digest([b]) != first  # same bytes, other file: another key
    a.write_text("x = 2\n")
    assert digest([a]) != first
    assert len(stage_digest("tokens")) == 32


def test_each_extractor_stage_depends_on_its_own_extractor_code_only(stages):
    """Editing one extractor's module (or its network in models/) invalidates only the stages that
    run it: features_clip's deps hold neither the beats extractor nor models/beats.py."""
    clip = set(stages["features_clip"][1])
    assert "emsync/video/extractors/clip.py" in clip
    assert not clip & {"emsync/video/extractors/beats.py", "models/beats.py", "models/audio_tagger.py", "emsync/video"}
    for name in EXTRACTOR_CODE:
        module = f"emsync/video/extractors/{name}.py"
        users = sorted(st for st, (_, deps) in stages.items() if module in deps)
        expected = sorted(f"features_{x}" for x, code in EXTRACTOR_CODE.items() if module in code)
        assert users == expected, f"{module} is a dep of {users}"
    beats_users = [st for st, (_, deps) in stages.items() if "models/beats.py" in deps and st.startswith("features")]
    assert beats_users == ["features_beats"]


def test_stages_reading_features_run_after_every_extractor_stage(repo_copy):
    from dvc.repo import Repo

    with Repo(str(repo_copy)) as repo:
        graph = repo.index.graph  # edges point from a stage to the stages it depends on
        names = {st: st.name for st in graph.nodes}
        import networkx as nx

        for reader in ("train_emotion", "train_genre", "evaluate_classifiers", "store", "features"):
            node = next(st for st, n in names.items() if n == reader)
            upstream = {names[s] for s in nx.descendants(graph, node)}
            missing = {"features_cuts", *(f"features_{x}" for x in EXTRACTOR_CODE)} - upstream
            assert not missing, f"{reader} does not depend on {sorted(missing)}"


def test_every_registered_extractor_has_its_stage_and_dvc_yaml_is_written_from_the_declarations():
    import importlib.util

    from emsync.pipeline.stages import EXTRACTOR_DEPENDS
    from emsync.video.extractors import REGISTRY, get

    assert sorted(EXTRACTOR_CODE) == sorted(REGISTRY), "add the extractor to emsync.pipeline.stages.EXTRACTOR_CODE"
    assert {n: tuple(get(n).DEPENDS) for n in REGISTRY if get(n).DEPENDS} == EXTRACTOR_DEPENDS
    spec = importlib.util.spec_from_file_location("write_dvc_yaml", ROOT / "scripts" / "write_dvc_yaml.py")
    writer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(writer)
    from emsync.pipeline.stages import PIPELINES

    for pipeline in PIPELINES:  # the root dvc.yaml and each pipelines/<name>/dvc.yaml
        assert writer.dvc_yaml(pipeline) == (ROOT / pipeline / "dvc.yaml").read_text(), "run python scripts/write_dvc_yaml.py"


def test_a_declaration_is_what_dvc_runs():
    """Each declared stage is the dvc.yaml stage DVC resolves: command, every dep, params, outs."""
    import yaml

    from emsync.pipeline.stages import STAGES

    for pipeline in {s.pipeline for s in STAGES}:  # the root dvc.yaml and each pipelines/<name>/dvc.yaml
        assert [s.name for s in STAGES if s.pipeline == pipeline] == list(
            yaml.safe_load((ROOT / pipeline / "dvc.yaml").read_text())["stages"]
        )
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    train = next(s for s in STAGES if s.name == "train")
    assert dvc["train"]["cmd"] == "python -m flows.train" == train.cmd and train.flow == "train"
    assert dvc["train"]["deps"] == [*STAGE_CODE["train"], "${tokens.out_dir}"]
    assert dvc["bandwidth_train"]["foreach"] == "${bandwidth.variants}" and "cmd" in dvc["bandwidth_train"]["do"]
    index = set(dvc["reports_index"]["deps"]) - {"emsync/pipeline/reports_index.py", "emsync/cli/reports.py"}
    assert {"reports/train_metrics.json", "reports/soundtrack.md", "reports/lyrics_counts.png"} <= index  # derived from the stages' reports
    assert not any(d.startswith("reports/features/") or d == "reports/inputs.json" for d in index)

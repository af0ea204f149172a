"""audiogan as an installed package: the wheel ships the configs and the console scripts, the commands run
from any directory, a user's own config folder extends the tree (``--config-dir``), and a command that needs
a missing optional dependency group stops naming the pip command that adds it."""

from __future__ import annotations

import configparser
import importlib.util
import shutil
import subprocess
import sys
import zipfile

import pytest
import torch
from conftest import CONF, ROOT, TINY_MELGAN, cli_env, run_in_process
from corpus_fixtures import make_ljspeech
from omegaconf import OmegaConf

import audiogan.cli
from audiogan.export import ExportSpec, export_onnx
from audiogan.utils.extras import EXTRAS, MissingExtraError, require_for_overrides

COMMANDS = ("train", "eval", "infer", "sample", "convert", "report")


@pytest.mark.slow
def test_wheel_ships_every_config_and_a_console_script_per_command(tmp_path):
    checkout = tmp_path / "checkout"  # a copy: building in place would leave build/ in the repository
    shutil.copytree(
        ROOT / "src", checkout / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, checkout / name)
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",  # the venv's setuptools (a dev dependency): no download
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(checkout),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout[-3000:]
    (wheel,) = (tmp_path / "dist").glob("audiogan-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = {f"audiogan/conf/{path.relative_to(CONF).as_posix()}" for path in CONF.rglob("*.yaml")}
    assert len(configs) > 50 and configs <= names
    report_assets = {"page.html", "report.css", "blind.js"}  # the listening report's page
    assert {f"audiogan/report/assets/{name}" for name in report_assets} <= names
    (entry_points,) = (name for name in names if name.endswith(".dist-info/entry_points.txt"))
    parser = configparser.ConfigParser()
    parser.read_string(zipfile.ZipFile(wheel).read(entry_points).decode())
    scripts = parser["console_scripts"]
    for command in COMMANDS:  # what the root script of the same name calls
        assert scripts[f"audiogan-{command}"] == f"audiogan.cli:{command}_main"
        assert callable(getattr(audiogan.cli, f"{command}_main"))


@pytest.mark.slow
def test_train_from_an_empty_directory_writes_the_corpus_and_the_run_there(tmp_path):
    env = {k: v for k, v in cli_env(tmp_path, tmp_path).items() if not k.startswith("AUDIOGAN_")}
    result = subprocess.run(  # what the audiogan-train script runs
        [sys.executable, "-c", "from audiogan.cli import train_main; train_main()", *TINY_MELGAN],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert list((tmp_path / "data" / "tiny_speech").rglob("*.wav"))  # paths.data_dir: data
    (run,) = (tmp_path / "outputs" / "melgan" / "runs").iterdir()  # paths.log_dir: outputs
    assert (run / "checkpoints" / "last.ckpt").exists()
    assert (run / "train.log").exists()  # the log keeps the command's name, not the module's (cli)


@pytest.mark.slow
def test_a_user_config_folder_adds_a_corpus_without_copying_the_tree(data_dir, tmp_path):
    corpus = make_ljspeech(tmp_path / "my_speech", n=20)  # the user's recordings in LJSpeech's layout
    my_conf = tmp_path / "my_conf"
    (my_conf / "data").mkdir(parents=True)
    (my_conf / "data" / "my_corpus.yaml").write_text(
        f"defaults:\n  - ljspeech\n  - _self_\nroot: {corpus}\ncorpus:\n  val_fraction: 0.1\n"
    )
    log_dir = tmp_path / "runs"
    # TINY_MELGAN's experiment picks data=tiny_speech; data= on the command line wins
    result = run_in_process(
        "train.py",
        "--config-dir",
        str(my_conf),
        "data=my_corpus",
        *TINY_MELGAN,
        data_dir=data_dir,
        log_dir=log_dir,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    (run,) = (log_dir / "melgan" / "runs").iterdir()
    cfg = OmegaConf.load(run / "config.yaml")
    assert cfg.data.root == str(corpus)
    assert cfg.data.corpus._target_ == "audiogan.data.corpora.ljspeech.LJSpeech"
    assert cfg.data.corpus.val_fraction == 0.1 and cfg.data.corpus.test_fraction == 0.02  # the rest: ours
    assert (run / "checkpoints" / "last.ckpt").exists()


@pytest.fixture
def without(monkeypatch):
    """``without(*modules)``: those modules look uninstalled to audiogan.utils.extras."""

    def _hide(*modules: str) -> None:
        find_spec = importlib.util.find_spec
        monkeypatch.setattr(
            importlib.util, "find_spec", lambda name: None if name in modules else find_spec(name)
        )

    return _hide


@pytest.mark.parametrize(
    ("args", "extra"),
    [(["-m", "hparams_search=melgan_optuna"], "sweeps"), (["-m", "launcher=slurm", "loss=hinge"], "slurm")],
)
def test_a_command_needing_a_missing_extra_stops_with_the_pip_command(
    without, monkeypatch, caplog, args, extra
):
    without(EXTRAS[extra][0])
    monkeypatch.setattr(sys, "argv", ["audiogan-train", *args])
    with pytest.raises(SystemExit) as stop:
        audiogan.cli.train_main()  # stops before Hydra composes (its error would name a config, not the fix)
    assert stop.value.code == 1
    assert f"pip install 'audiogan[{extra}]'" in caplog.text


def test_commands_without_optional_groups_need_no_extra(without):
    without(*(module for module, _ in EXTRAS.values()))
    require_for_overrides(["model=specgan", "launcher=null", "export=torchscript", "+data.root=/x"])


def test_onnx_export_without_its_extra_names_the_pip_command(without, tmp_path):
    without("onnx")
    spec = ExportSpec(
        torch.nn.Identity(), torch.zeros(1, 4), "x", "y", {"x": {0: "batch"}, "y": {0: "batch"}}
    )
    with pytest.raises(MissingExtraError, match=r"pip install 'audiogan\[export\]'"):
        export_onnx(spec, tmp_path / "generator.onnx")
    assert not list(tmp_path.iterdir())

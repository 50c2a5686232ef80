"""The long studies' command line (python -m helpers.studies): quick help, one-line user errors, one row saved per
finished run, and a stopped study resumed where it stopped."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import recipes, studies
from helpers.config import REPO_ROOT
from tests.conftest import needs_offline

needs_cifar = needs_offline("cifar-10-batches-py")


def _cli(*args, timeout: float, env: dict | None = None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run([sys.executable, "-m", "helpers.studies", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, env=env, timeout=timeout)


def test_help_answers_without_tensorflow_and_shows_the_defaults():
    done = _cli("cifar", "--help", timeout=60)
    assert done.returncode == 0 and "(default: ['plain', 'post_fused', 'crop_flip'])" in done.stdout
    probe = subprocess.run([sys.executable, "-c", "import sys; from helpers import studies; studies.parser(); "
                            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"],
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == "[]", "building the command line must not import TensorFlow or Keras"


def test_the_command_lines_arms_are_the_recipes_arms():
    assert set(studies.CIFAR_ARMS) == set(recipes.CIFAR_ARMS)
    assert set(studies.UNET_ARMS) == set(recipes.UNET_ARMS)


@pytest.mark.parametrize("args, says", [
    (["cifar", "--arms", "mixup"], "invalid choice: 'mixup'"),
    (["cifar", "--n-train", "0"], "--n-train must be at least 1"),
    (["fractions", "--fractions", "1.5"], "a fraction must be in (0, 1]"),
    (["policies", "--arms", "crop_flip+autoaugment"], "unknown part"),
    (["cifar", "--seeds", "1", "1"], "names the same value twice"),
    (["unet", "--crop", "100"], "--crop must be a multiple of 16"),
    (["unet-costs", "--widths", "16", "0"], "a width must be at least 1"),
    (["unet", "--arms", "paper_focal"], "invalid choice: 'paper_focal'"),
])
def test_a_user_error_is_one_line_and_exit_code_2(args, says, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:  # in this process: a subprocess would start TensorFlow again
        studies.main([*args, "--out", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and says in err, err[-2000:]
    assert not (tmp_path / "out.json").exists()


def test_the_policies_command_runs_each_arm_and_seed_and_saves_after_each(tmp_path, monkeypatch):
    from helpers import study_runs

    calls, sizes = [], []
    out = tmp_path / "policies.json"

    def fake_runs(arms, seeds, **kwargs):
        sizes.append(len(json.loads(out.read_text())["rows"]) if out.exists() else 0)
        calls.append((arms, seeds, kwargs["epochs"]))
        return [{"arm": arms[0], "seed": seeds[0]}]

    monkeypatch.setattr(study_runs, "policy_runs", fake_runs)
    studies.main(["policies", "--arms", "crop_flip", "crop_flip+mixup", "--seeds", "0", "1", "--epochs", "2",
                  "--out", str(out)])
    runs = [(a, s) for s in (0, 1) for a in ("crop_flip", "crop_flip+mixup")]
    assert calls == [([a], [s], 2) for a, s in runs]
    assert sizes == [0, 1, 2, 3], "each run's row is saved before the next run starts"
    saved = json.loads(out.read_text())
    assert [(r["arm"], r["seed"]) for r in saved["rows"]] == runs
    assert saved["settings"]["epochs"] == 2 and "command" in saved["provenance"]


def test_a_file_made_at_another_commit_is_refused_and_kept(tmp_path, capsys):
    out = tmp_path / "out.json"
    args = ["cifar", "--n-train", "256", "--out", str(out)]
    wanted = studies.settings(studies.parser().parse_args(args))
    out.write_text(json.dumps({"settings": wanted, "provenance": {"git_commit": "0000000"}, "rows": []}))
    before = out.read_text()
    with pytest.raises(SystemExit) as stopped:
        studies.main(args)
    assert stopped.value.code == 2 and "made at commit 0000000" in capsys.readouterr().err
    assert out.read_text() == before


def test_policy_costs_measures_once_and_keeps_its_arms_in_the_settings(tmp_path, monkeypatch):
    from helpers import study_runs

    calls = []
    monkeypatch.setattr(study_runs, "policy_costs", lambda arms, repeats: calls.append(arms) or [{"arm": a} for a in arms])
    out = tmp_path / "costs.json"
    studies.main(["policy-costs", "--arms", "crop_flip", "crop_flip+mixup", "--out", str(out)])
    studies.main(["policy-costs", "--arms", "crop_flip", "crop_flip+mixup", "--out", str(out)])  # already there
    assert calls == [["crop_flip", "crop_flip+mixup"]]
    with pytest.raises(SystemExit) as stopped:  # other arms: another measurement, not this file
        studies.main(["policy-costs", "--arms", "crop_flip", "--out", str(out)])
    assert stopped.value.code == 2 and calls == [["crop_flip", "crop_flip+mixup"]]


def test_a_file_made_with_other_settings_is_refused_and_kept(tmp_path, capsys):
    out = tmp_path / "out.json"
    out.write_text(json.dumps({"settings": {"study": "cifar", "n_train": 5}, "rows": [{"arm": "plain", "seed": 0}]}))
    before = out.read_text()
    with pytest.raises(SystemExit) as stopped:
        studies.main(["cifar", "--out", str(out)])
    assert stopped.value.code == 2 and "other settings" in capsys.readouterr().err
    assert out.read_text() == before


@pytest.mark.slow
@needs_cifar
def test_a_stopped_study_keeps_its_finished_runs_and_resumes_with_the_rest(tmp_path):
    out = tmp_path / "cifar.json"
    common = ["cifar", "--arms", "plain", "crop_flip", "--seeds", "0", "--n-train", "256", "--n-test", "100",
              "--out", str(out)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "COURSE_QUICK": "1"}
    process = subprocess.Popen([sys.executable, "-m", "helpers.studies", *common, "--epochs-aug", "40"],
                               cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 240
    while not out.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)  # the first run (plain, 1 epoch) ends; the second (40 epochs) is under way
    process.send_signal(signal.SIGINT)  # Ctrl-C
    log = process.communicate(timeout=60)[0]
    first = json.loads(out.read_text())
    assert [(r["arm"], r["seed"]) for r in first["rows"]] == [("plain", 0)], log[-2000:]
    assert "run 1/2: arm plain, seed 0 (1 epochs)" in log and "/epoch" in log, "a run header and Keras's Progbar"
    done = _cli(*common, "--epochs-aug", "1", timeout=240, env=env)
    assert done.returncode == 2 and "other settings" in done.stderr, "another epoch count is another study"
    done = _cli(*common, "--epochs-aug", "40", timeout=400, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "1 finished run(s) kept, 1 to go" in done.stdout
    rows = json.loads(out.read_text())["rows"]
    assert [(r["arm"], r["seed"]) for r in rows] == [("plain", 0), ("crop_flip", 0)]
    assert rows[0] == first["rows"][0], "the finished run is kept as it was, not trained again"
    assert rows[1]["epochs"] == 40
    provenance = json.loads(out.read_text())["provenance"]
    assert [s["runs"] for s in provenance["sessions"]] == [[{"arm": "plain", "seed": 0}], [{"arm": "crop_flip", "seed": 0}]]
    assert provenance["date"] == first["provenance"]["date"], "the first session's provenance is kept"

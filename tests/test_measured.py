"""Measured results: every file has its provenance, and every accuracy the lessons' text or the README
quotes is one of the measured (or quoted-with-source) numbers, so no hand-copied figure can drift."""

import json
import re
from pathlib import Path

import nbformat
import pytest

from helpers import measured

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted(measured.MEASURED_DIR.glob("*.json"))
DECIMAL = re.compile(r"(?<![\d.])0\.\d{3,4}(?!\d)")  # accuracies and losses as quoted: 0.6058, 0.965


def _numbers(value):
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield float(value)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)


def _texts():
    yield "README.md", (ROOT / "README.md").read_text()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        yield path.name, "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_measured_file_says_what_and_where_from(path):
    data = json.loads(path.read_text())
    assert data["about"] and data["rows"], path.name
    assert {"tensorflow", "keras", "device", "command"} <= set(data["provenance"]), path.name
    if "quoted" in data:
        assert data["quoted"]["source"], f"{path.name}: quoted figures need their source"


def _seed_statistics():
    """Mean and sample std over seeds, per arm of the seed studies (lesson 2's, lesson 7's plain and with each
    test-time augmentation, lesson 5's test scores per prediction way): numbers the text may quote."""
    seeds = measured.load("cifar_seeds")["rows"]
    for arm in {r["arm"] for r in seeds}:
        yield from measured.mean_std(r["test_accuracy"] for r in seeds if r["arm"] == arm)
    policies = measured.load("policies")["rows"]
    for arm in {r["arm"] for r in policies}:
        rows = [r for r in policies if r["arm"] == arm]
        for views in rows[0]["tta"]:
            yield from measured.mean_std(r["tta"][views]["accuracy"] for r in rows)
    unet = measured.load("membrane_unet")["rows"]
    for arm in {r["arm"] for r in unet}:
        rows = [r for r in unet if r["arm"] == arm]
        for way in rows[0]["test"]:
            for score in ("pixel_accuracy", "dice_membrane"):
                yield from measured.mean_std(r["test"][way][score] for r in rows)


def test_every_accuracy_quoted_in_the_text_is_a_measured_or_sourced_number():
    numbers = [n for f in FILES for n in _numbers(json.loads(f.read_text()))] + list(_seed_statistics())
    known = {f"{n:.{d}f}" for n in numbers for d in (3, 4)}
    stray = [(name, number) for name, text in _texts() for number in DECIMAL.findall(text)
             if number not in known]
    assert not stray, f"numbers quoted in text but found in no notebooks/measured/*.json: {stray}"


def test_the_guard_reads_numbers_as_the_text_quotes_them():
    assert DECIMAL.findall("reached 0.965 (post: 0.6058), 10.4 points, 2.0x, 0.12345") == ["0.965", "0.6058"]
    known = {f"{n:.4f}" for n in _numbers(measured.load("cifar_seeds"))}
    assert "0.6168" in known and "0.6169" not in known


def test_tables_and_statistics():
    rows = [{"arm": "a", "acc": 0.5}, {"arm": "b", "acc": None}]
    table = measured.markdown_table(rows, [("arm", "arm", ""), ("accuracy", "acc", ".3f"), ("x2", lambda r: 2, "d")])
    assert table.splitlines() == ["| arm | accuracy | x2 |", "|---|---|---|", "| a | 0.500 | 2 |", "| b | - | 2 |"]
    mean, std = measured.mean_std([0.6168, 0.6082, 0.6055])
    assert round(mean, 4) == 0.6102 and round(std, 4) == 0.0059  # sample std (ddof=1), as the lessons say
    assert measured.mean_std([0.5]) == (0.5, 0.0)


def test_write_and_load_round_trip(tmp_path, monkeypatch):
    path = measured.write(tmp_path / "x.json", [{"a": 1}], about="test", command="python -m x")
    data = json.loads(path.read_text())
    assert data["rows"] == [{"a": 1}] and data["provenance"]["command"] == "python -m x"
    monkeypatch.setattr(measured, "MEASURED_DIR", tmp_path)
    assert measured.rows("x", a=1) == [{"a": 1}] and measured.rows("x", a=2) == []
    with pytest.raises(FileNotFoundError, match="known: \\['x'\\]"):
        measured.load("y")
    started = {**measured.provenance("python -m long"), "git_commit": "abc1234"}
    later = json.loads(measured.write(tmp_path / "z.json", [], about="t", origin=started).read_text())
    assert later["provenance"]["git_commit"] == "abc1234", "a long study keeps the commit it started from"


def test_merge_folds_runs_in_keeps_each_runs_provenance_and_refuses_duplicates(tmp_path):
    first = measured.write(tmp_path / "a.json", [{"arm": "x", "seed": 0, "acc": 0.5}], about="study", command="run a")
    second = measured.write(tmp_path / "b.json", [{"arm": "x", "seed": 1, "acc": 0.6},
                                                   {"arm": "y", "seed": 0, "acc": 0.7}], about="study", command="run b")
    into = tmp_path / "measured" / "study.json"
    measured.main(["merge", str(first), str(second), "--into", str(into), "--key", "arm", "seed"])
    merged = json.loads(into.read_text())
    assert [(r["arm"], r["seed"]) for r in merged["rows"]] == [("x", 0), ("x", 1), ("y", 0)]
    assert [run["command"] for run in merged["provenance"]["runs"]] == ["run a", "run b"]
    assert merged["provenance"]["runs"][1]["rows"] == [{"arm": "x", "seed": 1}, {"arm": "y", "seed": 0}]
    again = measured.write(tmp_path / "c.json", [{"arm": "x", "seed": 1, "acc": 0.61}], about="study", command="c")
    with pytest.raises(ValueError, match="already has the row"):
        measured.merge(into, [again], key=["arm", "seed"])
    assert json.loads(into.read_text()) == merged, "a refused merge changes nothing"
    measured.merge(into, [again], key=["arm", "seed"], replace=True)
    assert measured_rows(into) == [0.5, 0.61, 0.7]
    assert json.loads(into.read_text())["about"] == "study"
    measured.main(["merge", str(again), "--into", str(into), "--key", "arm", "seed", "--replace", "--about", "new text"])
    assert json.loads(into.read_text())["about"] == "new text"  # a corrected description; rows unchanged
    assert measured_rows(into) == [0.5, 0.61, 0.7]


def measured_rows(path):
    return [r["acc"] for r in json.loads(path.read_text())["rows"]]

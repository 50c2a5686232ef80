import numpy as np
import pytest

from helpers import config


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("COURSE_QUICK", "COURSE_DATA_DIR", "COURSE_OUTPUT_DIR"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_are_full_mode_and_repo_folders(clean_env):
    settings = config.load_settings()
    assert settings.quick is False and settings.mode == "full"
    assert settings.data_dir == config.REPO_ROOT / "data"
    assert settings.output_dir == config.REPO_ROOT / "outputs"


@pytest.mark.parametrize("raw, quick", [("1", True), ("true", True), ("YES", True), ("0", False), ("", False), ("off", False)])
def test_course_quick_values(clean_env, raw, quick):
    clean_env.setenv("COURSE_QUICK", raw)
    assert config.quick_mode() is quick
    assert config.pick(quick="small", full="big") == ("small" if quick else "big")


def test_unreadable_course_quick_is_a_clear_error(clean_env):
    clean_env.setenv("COURSE_QUICK", "maybe")
    with pytest.raises(config.ConfigError, match="COURSE_QUICK='maybe'"):
        config.load_settings()


def test_data_and_output_dirs_come_from_the_environment(clean_env, tmp_path):
    clean_env.setenv("COURSE_DATA_DIR", str(tmp_path / "d"))
    clean_env.setenv("COURSE_OUTPUT_DIR", str(tmp_path / "o"))
    assert config.data_dir() == tmp_path / "d"
    figures = config.output_dir("figures")
    assert figures == tmp_path / "o" / "figures" and figures.is_dir()
    assert not (tmp_path / "d").exists(), "asking for the data dir must not create it"


def test_output_dir_inside_data_dir_is_refused(clean_env, tmp_path):
    clean_env.setenv("COURSE_DATA_DIR", str(tmp_path))
    clean_env.setenv("COURSE_OUTPUT_DIR", str(tmp_path / "results"))
    with pytest.raises(config.ConfigError, match="inside the data directory"):
        config.load_settings()


def test_a_dangling_link_or_a_file_as_data_dir_is_refused(clean_env, tmp_path):
    # An unmounted stick behind a link: before, the course downloaded into the link's empty target.
    (tmp_path / "stick").symlink_to(tmp_path / "not-mounted")
    clean_env.setenv("COURSE_DATA_DIR", str(tmp_path / "stick"))
    with pytest.raises(config.ConfigError, match="does not exist"):
        config.load_settings()
    (tmp_path / "afile").write_text("x")
    clean_env.setenv("COURSE_DATA_DIR", str(tmp_path / "afile"))
    with pytest.raises(config.ConfigError, match="is a file"):
        config.load_settings()


def test_settings_are_read_when_asked_not_at_import(clean_env):
    assert config.quick_mode() is False
    clean_env.setenv("COURSE_QUICK", "1")
    assert config.quick_mode() is True


def test_set_seed_makes_numpy_and_keras_repeatable():
    import keras

    def draw():
        config.set_seed(7)
        return np.random.rand(3), keras.random.uniform((3,)).numpy()

    (a_np, a_k), (b_np, b_k) = draw(), draw()
    np.testing.assert_array_equal(a_np, b_np)
    np.testing.assert_array_equal(a_k, b_k)
    config.set_seed(8)
    assert not np.array_equal(np.random.rand(3), a_np)


def test_banner_names_the_mode_and_versions(clean_env):
    clean_env.setenv("COURSE_QUICK", "1")
    text = config.banner("Lesson 0")
    assert text.startswith("Lesson 0 | QUICK mode")
    for key in ("tensorflow", "keras", "python", "device", "data dir"):
        assert key in text
    assert config.QUICK_NOTE in text, "the banner and the notes after quick-mode accuracies use the same words"


def test_quick_note_is_one_line_in_quick_mode_and_nothing_in_full_mode(clean_env, capsys):
    clean_env.setenv("COURSE_QUICK", "1")
    config.quick_note()
    assert capsys.readouterr().out == config.QUICK_NOTE + "\n" and "\n" not in config.QUICK_NOTE
    clean_env.setenv("COURSE_QUICK", "0")
    config.quick_note()
    assert capsys.readouterr().out == ""


def test_needs_offline_follows_the_configured_data_directory(tmp_path, monkeypatch):
    from tests.conftest import needs_offline

    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    assert needs_offline("membrane").args[0] is True, "skipped: the folder is not in the data dir"
    (tmp_path / "membrane").mkdir()
    (tmp_path / "flower_photos").mkdir()
    assert needs_offline("membrane", "flowers").args[0] is False

"""The exercises' release and grading, through nbgrader (``make release``, ``make grade``).

Instructor notebooks, with solutions, live in ``notebooks/exercises/<assignment>/``; ``nbgrader_config.py`` at
the repository root sends everything nbgrader writes under ``outputs/``.

``python -m coursetools.grading release``  writes the student versions to ``outputs/release/`` and checks
                                           that no solution line is left in them.
``python -m coursetools.grading grade``    autogrades every submission in
                                           ``outputs/submitted/<student>/<assignment>/`` and writes
                                           ``outputs/grades.csv`` (nbgrader's export) and a score table.

nbgrader does the work; this module only runs it over every assignment and reads its gradebook.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from helpers import config
from helpers.cli import UserError, user_errors
from helpers.service import require_posix

ROOT = config.REPO_ROOT
EXERCISES = ROOT / "notebooks" / "exercises"


class Course:
    """nbgrader's folders under a course root: the repository by default; tests use a copy elsewhere so a
    teacher's own gradebook in outputs/ is never touched."""

    def __init__(self, root: Path = ROOT):
        self.root = Path(root)
        self.exercises = self.root / "notebooks" / "exercises"
        self.release = self.root / "outputs" / "release"
        self.submitted = self.root / "outputs" / "submitted"
        self.grades_csv = self.root / "outputs" / "grades.csv"
        self.logs = self.root / "outputs" / "grading_logs"  # one full nbgrader log per failed submission
        self.db_url = "sqlite:///" + str(self.root / "outputs" / "gradebook.db")


def assignments(course: Course | None = None) -> list[str]:
    """Assignment ids: the folders of ``notebooks/exercises/`` that hold a notebook, in lesson order."""
    folder = (course or Course()).exercises
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


class NbgraderError(RuntimeError):
    """An nbgrader command failed; ``log`` holds its whole output, ``returncode`` its exit code."""

    def __init__(self, args: tuple[str, ...], returncode: int, log: str):
        self.returncode, self.log = returncode, log
        super().__init__(f"nbgrader {' '.join(args)} failed (exit {returncode}): {reason(log)}")


def reason(log: str) -> str:
    """The line of an nbgrader log that says what went wrong: its last error line, else its last line."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "error" in line or "Exception" in line]
    return (errors or lines or ["no output"])[-1][:500]


def nbgrader(course: Course, *args: str, env: dict[str, str] | None = None, time_limit: float | None = None) -> None:
    """Run an nbgrader command with the repository's nbgrader_config.py, on ``course``'s folders. Raises
    NbgraderError with the exit code, the line that says why, and the whole log. After ``time_limit`` seconds of
    wall time the command and every process it started are killed, and the error says so."""
    (course.root / "outputs").mkdir(parents=True, exist_ok=True)
    where = [f"--CourseDirectory.root={course.root}", f"--CourseDirectory.db_url={course.db_url}"]
    # nbgrader runs `alembic` from PATH: put this environment's bin folder first
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
           **(env or {})}
    process = subprocess.Popen([sys.executable, "-m", "nbgrader", *args, *where], cwd=ROOT, text=True, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=time_limit)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # nbgrader and the kernel it started (a sandbox dies with it)
        stdout, stderr = process.communicate()
        raise NbgraderError(args, process.returncode, f"{stdout}\n{stderr}\nTimeLimitError: stopped after "
                            f"{time_limit:g} s, the wall-time limit for one submission") from None
    if process.returncode != 0:
        raise NbgraderError(args, process.returncode, stdout + "\n" + stderr)


def solution_text(notebook: Path) -> list[str]:
    """Every non-blank line an instructor notebook hides from students: the lines between ``### BEGIN SOLUTION``
    and ``### END SOLUTION``, and the model answers of manually graded Markdown cells."""
    lines = []
    for cell in json.loads(Path(notebook).read_text())["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        source = "".join(cell["source"]).splitlines()
        if cell["cell_type"] == "markdown" and meta.get("solution"):
            lines += [line.strip() for line in source if line.strip()]
            continue
        inside = False
        for line in source:
            if "### BEGIN SOLUTION" in line:
                inside = True
            elif "### END SOLUTION" in line:
                inside = False
            elif inside and line.strip():
                lines.append(line.strip())
    return lines


def _lines(notebook: Path) -> list[str]:
    return [line.strip() for cell in json.loads(Path(notebook).read_text())["cells"]
            for line in "".join(cell["source"]).splitlines()]


def leaked(instructor: Path, student: Path) -> list[str]:
    """Solution lines of ``instructor`` that appear, whole, as a line of ``student``, except lines the instructor's
    notebook also shows outside its solutions (``if a:`` in a test cell is no leak)."""
    hidden = solution_text(instructor)
    shown = _lines(instructor)
    for line in hidden:
        shown.remove(line)  # what is left: the lines students are meant to see
    suspect = set(_lines(student)) - set(shown)
    return [line for line in hidden if line in suspect]


def release(names: list[str] | None = None, course: Course | None = None) -> list[Path]:
    """Generate the student version of each assignment into ``outputs/release/`` and return the notebooks.
    Raises if a released notebook still holds a solution line."""
    course = course or Course()
    released = []
    for name in names or assignments(course):
        nbgrader(course, "generate_assignment", name, "--force")
        for source in sorted((course.exercises / name).glob("*.ipynb")):
            student = course.release / name / source.name
            if leaked(source, student):
                lines = leaked(source, student)
                student.unlink()  # made by this release: never hand it out
                raise RuntimeError(f"{student} still contained solution lines, so it was removed: {lines[:3]}")
            released.append(student)
    return released


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # a student or assignment id: one plain folder name


def checked_name(kind: str, value: str) -> str:
    """``value`` if it is a plain folder name (letters, digits, ``_``, ``.``, ``-``; no path, no ``..``), else
    ValueError: ids become folders under ``outputs/submitted/``, and one such folder is replaced on submit."""
    if not isinstance(value, str) or not NAME.fullmatch(value) or ".." in value:
        raise ValueError(f"{kind} {value!r} is not a plain name: use letters, digits, '_', '.' and '-' "
                         "(at most 64, starting with a letter or digit), with no '/' or '..'")
    return value


def submit(student: str, notebooks: dict[str, list[Path]], course: Course | None = None) -> None:
    """Place notebooks as ``student``'s submission of each assignment (``{assignment: [notebook, ...]}``),
    replacing an earlier one, the way a teacher's collection step leaves them. Student and assignment ids must be
    plain names (``checked_name``) and each assignment one of the course's; nothing is touched otherwise."""
    course = course or Course()
    known = set(assignments(course))
    checked_name("student", student)
    for name in notebooks:
        if checked_name("assignment", name) not in known:
            raise ValueError(f"unknown assignment {name!r}; the course has {sorted(known)}")
    for name, files in notebooks.items():
        folder = course.submitted / student / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for path in files:
            shutil.copy(path, folder / Path(path).name)


# ---------------------------------------------------------------- the sandbox student code runs in

SANDBOX_KERNEL = "course-sandboxed"
HIDDEN = (".git", "notebooks/exercises", "outputs", "teacher")  # solutions, gradebook, other students, answer keys
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ssl", "ca-certificates", "passwd", "group", "nsswitch.conf",
       "localtime", "hosts", "mime.types", "matplotlibrc", "fonts", "alternatives")  # /etc/shadow and the rest: not
LIMITS = {"cpu": 1800, "as": 16 << 30, "fsize": 256 << 20}  # CPU seconds, bytes of memory, bytes per file
TIME_LIMIT = 1800.0  # wall-time seconds for one submission (nbgrader_config.py also stops any cell after 600 s)


def sandbox_available() -> str | None:
    """None if bubblewrap can make a sandbox here, else why not."""
    if not shutil.which("bwrap"):
        return "bubblewrap (bwrap) is not installed: sudo apt-get install bubblewrap"
    probe = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--unshare-all", "--dev", "/dev", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"bwrap cannot make a sandbox on this machine: {probe.stderr.strip()[:300]}"
    return None


def sandbox_argv(course: Course, workdir: Path, runtime: Path) -> list[str]:
    """The command line that runs a student's kernel: bubblewrap with no network, its own process, IPC and host
    namespaces, no capabilities, a private /tmp and HOME; the system, Python and the course's library read-only;
    the repository's solutions, gradebook, other students' work and answer keys hidden; only ``workdir`` (this
    submission's autograded folder) and ``runtime`` (the kernel's sockets) writable; CPU, memory and file-size
    limits. The kernel is started with ``prlimit`` inside it."""
    argv = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--unsetenv", "JPY_PARENT_PID",  # ipykernel would take its parent for gone and quit
            "--ro-bind", "/usr", "/usr", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/dev/shm", "--tmpfs", "/tmp",
            "--ro-bind", "/sys", "/sys"]  # CPU topology: without it joblib warns on stderr, which fails a graded cell
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            argv += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            argv += ["--ro-bind", str(path), str(path)]
    for name in ETC:
        if (Path("/etc") / name).exists():
            argv += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    python = {Path(sys.prefix), Path(sys.base_prefix), Path(os.path.realpath(sys.executable)).parent.parent}
    for path in sorted(str(p) for p in python if not str(p).startswith("/usr")):
        argv += ["--ro-bind", path, path]
    root = str(config.REPO_ROOT)
    argv += ["--ro-bind", root, root]
    for hidden in HIDDEN:
        if (config.REPO_ROOT / hidden).exists():
            argv += ["--tmpfs", str(config.REPO_ROOT / hidden)]
    if course.root.resolve() != config.REPO_ROOT.resolve():
        argv += ["--tmpfs", str(course.root)]  # a course elsewhere: none of it but this submission
    data = config.data_dir()
    if data.exists():
        argv += ["--ro-bind", str(data), str(data)]
    argv += ["--bind", str(workdir), str(workdir), "--bind", str(runtime), str(runtime),
             "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp", "--chdir", str(workdir),
             "prlimit", f"--cpu={LIMITS['cpu']}", f"--as={LIMITS['as']}", f"--fsize={LIMITS['fsize']}", "--",
             sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    return argv


def _sandboxed_run(course: Course, student: str, name: str, trusted: bool):
    """(extra nbgrader arguments, extra environment, folder to remove afterwards) for autograding one
    submission: its kernel runs in ``sandbox_argv`` unless ``trusted``."""
    if trusted:
        return [], {}, None
    workdir = course.root / "outputs" / "autograded" / student / name
    workdir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="course-grading-"))
    runtime = scratch / "runtime"
    runtime.mkdir()
    spec = scratch / "kernels" / SANDBOX_KERNEL
    spec.mkdir(parents=True)
    spec.joinpath("kernel.json").write_text(json.dumps({
        "display_name": "Python 3 (sandboxed)", "language": "python",
        "argv": sandbox_argv(course, workdir, runtime)}))
    args = [f"--ExecutePreprocessor.kernel_name={SANDBOX_KERNEL}", "--KernelManager.transport=ipc",
            f"--KernelManager.ip={runtime / 'kernel'}"]
    env = {"JUPYTER_PATH": os.pathsep.join([str(scratch), os.environ.get("JUPYTER_PATH", "")]),
           "JUPYTER_RUNTIME_DIR": str(runtime), "TMPDIR": str(runtime)}  # the connection file lands in runtime
    return args, env, scratch


def submissions(course: Course, names: list[str] | None = None) -> list[tuple[str, str]]:
    """(student, assignment) of every submission folder now in ``submitted/``, for ``names`` (default: all)."""
    names = set(names or assignments(course))
    return sorted((p.parent.name, p.name) for p in course.submitted.glob("*/*") if p.is_dir() and p.name in names)


def autograde(names: list[str] | None = None, course: Course | None = None, *, trusted: bool = False,
              time_limit: float = TIME_LIMIT) -> list[dict]:
    """Autograde every submission, one student and assignment at a time, so that one that cannot be graded
    (invalid JSON, a renamed cell, a crash) stops nobody else. Each student's code runs in a sandbox
    (``sandbox_argv``: it cannot read the solutions, the gradebook or other students' work, write outside its
    folder, reach the network or signal the grader); without one this refuses unless ``trusted``. A submission
    still running after ``time_limit`` seconds is stopped and counted as a failure. Returns the failures, each
    with the student, the assignment, the exit code, the reason and the path of its full log."""
    course = course or Course()
    require_posix("grading (each submission in a process group of its own)")
    if not trusted and (why := sandbox_available()):
        raise UserError(f"student code is only graded in a sandbox, and {why}. If you trust every submission, "
                           "grade without one: make grade TRUSTED=1 (python -m coursetools.grading grade --trusted)")
    todo = submissions(course, names)
    if not todo:
        raise FileNotFoundError(f"no submissions in {course.submitted}/<student>/<assignment>/ for "
                                f"{', '.join(names or assignments(course))}")
    failures = []
    for student, name in todo:
        extra, env, scratch = _sandboxed_run(course, student, name, trusted)
        try:
            nbgrader(course, "autograde", name, f"--student={student}", "--create", "--force", *extra, env=env,
                     time_limit=time_limit)
        except NbgraderError as exc:
            log = course.logs / name / f"{student}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(exc.log)
            failures.append({"student": student, "assignment": name, "returncode": exc.returncode,
                             "reason": reason(exc.log), "log": str(log)})
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
    return failures


def scores(course: Course | None = None) -> list[dict]:
    """One row per submission (still in ``submitted/``) and notebook: the autograded score and its maximum, the
    points still to be graded by hand (written answers), and a warning when graded cells are missing from it."""
    from nbgrader.api import Gradebook

    course = course or Course()
    present = set(submissions(course))
    table = []
    with Gradebook(course.db_url) as gradebook:
        for assignment in gradebook.assignments:
            for submission in gradebook.assignment_submissions(assignment.name):
                if (submission.student_id, assignment.name) not in present:
                    continue  # removed from submitted/ since it was graded
                for notebook in submission.notebooks:
                    auto = [g for g in notebook.grades if g.cell_type == "code" and not g.needs_manual_grade]
                    manual = [g for g in notebook.grades if g not in auto]
                    table.append({
                        "student": submission.student_id,
                        "assignment": assignment.name,
                        "notebook": notebook.name,
                        "auto_score": sum(g.score for g in auto),
                        "auto_max": sum(g.max_score for g in auto),
                        "manual_max": sum(g.max_score for g in manual),
                        "tests_failed": sorted(g.name for g in auto if g.score < g.max_score),
                        "missing_points": max(0.0, float(notebook.max_code_score or 0) - sum(g.max_score for g in auto)),
                    })
    return table


def grade(names: list[str] | None = None, course: Course | None = None, *, trusted: bool = False,
          time_limit: float = TIME_LIMIT) -> tuple[list[dict], list[dict]]:
    """Autograde everything gradable (sandboxed unless ``trusted``, each submission within ``time_limit`` seconds),
    export nbgrader's ``outputs/grades.csv``, and return (:func:`scores`, the failures of :func:`autograde`)."""
    course = course or Course()
    failures = autograde(names, course, trusted=trusted, time_limit=time_limit)
    nbgrader(course, "export", "--to", str(course.grades_csv))
    return scores(course), failures


def print_table(rows: list[dict], failures: list[dict] = ()) -> None:
    print(f"{'student':<14} {'assignment':<38} {'autograded':>11} {'by hand':>8}")
    for r in rows:
        warning = f"   WARNING: graded cells worth {r['missing_points']:g} points are missing" if r.get("missing_points") else ""
        print(f"{r['student']:<14} {r['assignment']:<38} {r['auto_score']:>5g} / {r['auto_max']:<3g} "
              f"{r['manual_max']:>6g} pts{warning}")
    for f in failures:
        print(f"{f['student']:<14} {f['assignment']:<38} NOT GRADED (exit {f['returncode']}): {f['reason']}\n"
              f"{'':<14} full log: {f['log']}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["release", "grade"])
    parser.add_argument("--assignments", nargs="+", metavar="ID", help="assignment ids (default: all)")
    parser.add_argument("--trusted", action="store_true",
                        help="run student code WITHOUT the sandbox (only where no sandbox can be had; see TEACHING.md)")
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT, metavar="SECONDS",
                        help="wall time one submission may take before it is stopped (default: %(default)g)")
    args = parser.parse_args(argv)
    names = args.assignments
    with user_errors("python -m coursetools.grading"):
        unknown = sorted(set(names or ()) - set(assignments()))
        if unknown:
            raise UserError(f"unknown assignment(s) {unknown}; the course has {assignments()}")
        if args.command == "release":
            for path in release(names):
                print(f"released {path.relative_to(ROOT)}")
            return
        if args.time_limit <= 0:
            raise UserError(f"--time-limit must be positive, got {args.time_limit:g}")
        rows, failures = grade(names, trusted=args.trusted, time_limit=args.time_limit)
    print_table(rows, failures)
    print(f"nbgrader's export: {Course().grades_csv.relative_to(ROOT)}")
    if failures:
        sys.exit(f"{len(failures)} submission(s) could not be graded: see above")


if __name__ == "__main__":
    main()

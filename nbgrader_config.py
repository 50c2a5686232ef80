"""nbgrader's settings for the course's exercises (`make release`, `make grade`).

Instructor notebooks, with solutions, live in notebooks/exercises/<assignment>/; everything nbgrader writes
(student release, submissions, autograded copies, feedback, the gradebook) goes under outputs/, which git ignores.
"""

import os

c = get_config()  # noqa: F821 (nbgrader provides it)

ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "augmentation-course"
c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "notebooks/exercises"
c.CourseDirectory.release_directory = "outputs/release"
c.CourseDirectory.submitted_directory = "outputs/submitted"
c.CourseDirectory.autograded_directory = "outputs/autograded"
c.CourseDirectory.feedback_directory = "outputs/feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(ROOT, "outputs", "gradebook.db")
# the exercises' .py text twins hold the solutions: never copy them into a student release
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.py"]
c.ExecutePreprocessor.timeout = 600  # seconds per cell; quick mode needs a few

# Autograding: nbgrader's own steps, with its output limit extended to characters (coursetools/nbgrader_output.py):
# a student's 20 MB one-line print is cut, not stored whole in the graded notebook and the feedback.
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    Execute,
    IgnorePattern,
    SaveAutoGrades,
)

from coursetools.nbgrader_output import LimitOutputSize  # noqa: E402

c.Autograde.autograde_preprocessors = [Execute, IgnorePattern, ClearMetadataPreprocessor, LimitOutputSize,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]

"""coursetools.working_times: teacher/working_times.md's tables are recounted from the lessons and exercises."""

from coursetools import working_times


def test_the_working_time_tables_follow_the_lessons():
    assert working_times.main(["--check"]) == 0, "teacher/working_times.md is stale: python -m coursetools.working_times"
    assert working_times.quick_seconds("**Runtime.** Quick mode (512 images, 1 epoch per arm): 24 s (the sum") == 24
    assert working_times.code_lines("x = 1\n\n# a comment\n    y = 2  # trailing\n") == 2

"""The course's own tooling, for the people who maintain and teach it, not for students: the rendered book
(``book``, Sphinx + myst-nb), the exercises' release and grading (``grading``, nbgrader), each lesson's Colab
badge and setup cell (``colab``) and the export of the lessons' ``#@save`` cells into ``helpers/taught``
(``export``). No lesson imports it, and nothing in ``helpers`` does, so a student's install never needs nbgrader,
Sphinx or Playwright; run it as ``python -m coursetools.<module>`` (``make release``, ``make grade``,
``make book``).
"""

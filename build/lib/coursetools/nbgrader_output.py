"""nbgrader's output limit, extended to characters: ``LimitOutputSize`` (used by ``nbgrader_config.py``).

nbgrader's ``LimitOutput`` caps an autograded cell's output at ``max_lines`` lines, but one line may be any length:
a single 20 MB ``print`` would be stored whole in the graded notebook and the feedback. This subclass also cuts
every text output (streams and ``text/plain``) to ``max_chars`` characters, with a note saying how much was cut.
"""

from __future__ import annotations

from nbgrader.preprocessors import LimitOutput
from traitlets import Integer

NOTE = "\n... {cut:,} more characters cut by the grader ..."


class LimitOutputSize(LimitOutput):
    """``LimitOutput`` plus a cap of ``max_chars`` characters per text output (-1: no cap)."""

    max_chars = Integer(100_000, help="maximum characters of one text output (-1 means no limit)").tag(config=True)

    def _cut(self, text: str) -> str:
        if self.max_chars == -1 or len(text) <= self.max_chars:
            return text
        return text[:self.max_chars] + NOTE.format(cut=len(text) - self.max_chars)

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.cell_type == "code":
            for output in cell.outputs:
                if output.output_type == "stream":
                    output.text = self._cut(output.text)
                elif "data" in output and isinstance(output.data.get("text/plain"), str):
                    output.data["text/plain"] = self._cut(output.data["text/plain"])
        return cell, resources

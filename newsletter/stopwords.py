"""The words a topic is not about: function words, and those every abstract uses ("study", "results")."""

from __future__ import annotations

import re

WORD = re.compile(r"[a-z0-9]+")
# Function words, and words every abstract uses: they carry no topic in any field.
STOPWORDS = frozenset(
    " ".join(
        [
            "a an and are as at be by can for from has have in into is it its of on or our that the their this to",
            "we what when which with via using use used based new towards toward between across over under than",
            "these those such not also both how do does while more most less show propose present study paper",
            "results two one three first find finds found",
        ]
    ).split()
)

"""arXiv's category names: "cs.LG", "hep-th", "cond-mat.stat-mech", checked and spelt as arXiv spells them."""

from __future__ import annotations

import re

# arXiv's archives (https://arxiv.org/category_taxonomy): those whose categories have a subject, with one
# for the error to suggest, and those that are categories on their own (today's, then retired ones that old
# papers are filed in).
_EXAMPLE = {
    "astro-ph": "CO", "cond-mat": "stat-mech", "cs": "LG", "econ": "EM", "eess": "SP", "math": "PR",
    "nlin": "CD", "physics": "optics", "q-bio": "NC", "q-fin": "ST", "stat": "ML",
}  # fmt: skip
_WITH_SUBJECTS = frozenset(_EXAMPLE)
_ALONE = frozenset(
    [
        *("astro-ph", "cond-mat", "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph", "nucl-ex"),
        *("nucl-th", "quant-ph", "acc-phys", "adap-org", "alg-geom", "ao-sci", "atom-ph", "bayes-an", "chao-dyn"),
        *("chem-ph", "cmp-lg", "comp-gas", "dg-ga", "funct-an", "mtrl-th", "patt-sol", "plasm-ph", "q-alg"),
        *("solv-int", "supr-con"),
    ]
)
_CATEGORY = re.compile(r"([A-Za-z]+(?:-[A-Za-z]+)?)(?:\.([A-Za-z]+(?:-[A-Za-z]+)?))?")


def _subject(subject: str) -> str:
    if len(subject) == 2 or subject.isupper():  # cs.LG; the corpus files a few papers under cs.SEC
        return subject.upper()
    return subject.lower()


def arxiv_category(name: str) -> str:
    """The category in arXiv's spelling (a two-letter subject in capitals, any other part in lower case), or
    ValueError saying what is wrong: a name in words ("machine learning") would match no paper."""
    shape = _CATEGORY.fullmatch(name)
    archive, subject = (shape.group(1).lower(), shape.group(2)) if shape else ("", None)
    if shape and subject is None and archive in _WITH_SUBJECTS - _ALONE:
        raise ValueError(f"'{name[:40]}' needs its subject, such as {archive}.{_EXAMPLE[archive]}")
    if not shape or archive not in (_WITH_SUBJECTS if subject else _ALONE):
        raise ValueError(f"'{name[:40]}' is not an arXiv category (such as cs.LG, hep-th or cond-mat.stat-mech)")
    return archive if subject is None else f"{archive}.{_subject(subject)}"

"""arXiv's category names: "cs.LG", "hep-th", "cond-mat.stat-mech", checked and spelt as arXiv spells them."""

from __future__ import annotations

import difflib
import re

# arXiv's archives (https://arxiv.org/category_taxonomy) whose categories have a subject, with their subjects
# (cs.SEC as real papers of the shared corpus are filed), and those that are categories on their own (today's,
# then retired ones that old papers are filed in).
_SUBJECTS = {
    "astro-ph": "CO EP GA HE IM SR",
    "cond-mat": "dis-nn mes-hall mtrl-sci other quant-gas soft stat-mech str-el supr-con",
    "cs": "AI AR CC CE CG CL CR CV CY DB DC DL DM DS ET FL GL GR GT HC IR IT LG LO MA MM MS NA NE NI OH OS PF PL RO"
    " SC SD SE SEC SI SY",
    "econ": "EM GN TH",
    "eess": "AS IV SP SY",
    "math": "AC AG AP AT CA CO CT CV DG DS FA GM GN GR GT HO IT KT LO MG MP NA NT OA OC PR QA RA RT SG SP ST",
    "nlin": "AO CD CG PS SI",
    "physics": "acc-ph ao-ph app-ph atm-clus atom-ph bio-ph chem-ph class-ph comp-ph data-an ed-ph flu-dyn gen-ph"
    " geo-ph hist-ph ins-det med-ph optics plasm-ph pop-ph soc-ph space-ph",
    "q-bio": "BM CB GN MN NC OT PE QM SC TO",
    "q-fin": "CP EC GN MF PM PR RM ST TR",
    "stat": "AP CO ME ML OT TH",
}
_EXAMPLE = {
    "astro-ph": "CO", "cond-mat": "stat-mech", "cs": "LG", "econ": "EM", "eess": "SP", "math": "PR",
    "nlin": "CD", "physics": "optics", "q-bio": "NC", "q-fin": "ST", "stat": "ML",
}  # fmt: skip
_ALONE = frozenset(
    [
        *("astro-ph", "cond-mat", "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph", "nucl-ex"),
        *("nucl-th", "quant-ph", "acc-phys", "adap-org", "alg-geom", "ao-sci", "atom-ph", "bayes-an", "chao-dyn"),
        *("chem-ph", "cmp-lg", "comp-gas", "dg-ga", "funct-an", "mtrl-th", "patt-sol", "plasm-ph", "q-alg"),
        *("solv-int", "supr-con"),
    ]
)
_CATEGORY = re.compile(r"([A-Za-z]+(?:-[A-Za-z]+)?)(?:\.([A-Za-z]+(?:-[A-Za-z]+)?))?")


def arxiv_category(name: str) -> str:
    """The category in arXiv's spelling (a two-letter subject in capitals, any other part in lower case), or
    ValueError saying what is wrong: a name in words ("machine learning") or a subject arXiv does not have
    ("cs.Al" for cs.AI) would match no paper."""
    shape = _CATEGORY.fullmatch(name)
    archive, subject = (shape.group(1).lower(), shape.group(2)) if shape else ("", None)
    if shape and subject is None and archive in set(_SUBJECTS) - _ALONE:
        raise ValueError(f"'{name[:40]}' needs its subject, such as {archive}.{_EXAMPLE[archive]}")
    if not shape or archive not in (_SUBJECTS if subject else _ALONE):
        raise ValueError(f"'{name[:40]}' is not an arXiv category (such as cs.LG, hep-th or cond-mat.stat-mech)")
    if subject is None:
        return archive
    subjects = {s.lower(): s for s in _SUBJECTS[archive].split()}
    if subject.lower() in subjects:
        return f"{archive}.{subjects[subject.lower()]}"
    # A longer subject misspelt is said as the one meant; a two-letter one has too many neighbours to guess.
    near = difflib.get_close_matches(subject.lower(), subjects, n=1, cutoff=0.75) if len(subject) > 2 else []
    hint = f"did you mean {archive}.{subjects[near[0]]}?" if near else f"{archive} has {', '.join(subjects.values())}"
    raise ValueError(f"'{name[:40]}' is not an arXiv category: {hint}")

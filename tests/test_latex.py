"""LaTeX made readable for display."""

import pytest

from newsletter.latex import readable


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (r"Bounds of $\mathcal{O}(n^2)$ for $\alpha$-stable laws", "Bounds of O(n²) for α-stable laws"),
        (r"$k \leq n$ and $\epsilon \to 0$", "k ≤ n and ε → 0"),
        (r"\textbf{Bold} claims about 50\% of \emph{cases}", "Bold claims about 50% of cases"),
        (r"an \unknowncommand stays", "an unknowncommand stays"),
        ("plain text, no math", "plain text, no math"),
        (r"costs $\$5$", "costs $5"),
    ],
)
def test_readable(raw: str, shown: str) -> None:
    assert readable(raw) == shown

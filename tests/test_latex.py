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
        ("Training a model for $100 on one GPU", "Training a model for $100 on one GPU"),
        ("Costs $5 vs $10", "Costs $5 vs $10"),
        (r"display $$\sum_i x_i$$ math", "display ∑_i x_i math"),
        (r"an $n$-gram and $O(n^2)$", "an n-gram and O(n²)"),
        ("into $ n $ carriers in the 0.5$-$10 keV band", "into n carriers in the 0.5-10 keV band"),
        ("$530 billion (1.9% of US GDP)", "$530 billion (1.9% of US GDP)"),
    ],
)
def test_readable(raw: str, shown: str) -> None:
    assert readable(raw) == shown

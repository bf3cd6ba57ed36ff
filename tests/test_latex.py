"""LaTeX made readable for display."""

import gzip
import json
from pathlib import Path

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
        # Half converted before (a reader trial): fonts, roots, fractions, accents, scripts, citations.
        (r"in $\mathbb{R}^{d}$ with $\sqrt{n}$ samples", "in ℝᵈ with √n samples"),
        (r"$\tilde{O}(\sqrt{T})$ regret and a $\frac{1}{2}$ bound", "Õ(√T) regret and a 1/2 bound"),
        (r"as shown before \cite{prior}.", "as shown before."),
        (r"$O(n \log^{3/2} n)$ time, $A^\top x$, $n^{-1}$", "O(n log^(3/2) n) time, Aᵀ x, n⁻¹"),
        (r"$\frac{a+b}{c}$ and $\frac{\sqrt{n}}{2}$", "(a+b)/c and √n/2"),
        (r"the set $\{1,2\}$, a file_name and $x_{ij}$", "the set {1,2}, a file_name and xᵢⱼ"),
        (r"Schr\"odinger, \'{e}t\'e, at 10\,keV, \(x\), {\cal N}=4, \|x\|", "Schrödinger, été, at 10 keV, x, N=4, ‖x‖"),
        (r"code: \url{https://x.org/a} or \href{https://y.org}{here}", "code: https://x.org/a or here (https://y.org)"),
        # A review of the first rewrite: nothing a reader needs lost, no name run into the next.
        (r"\href{https://x.org}{https://x.org}", "https://x.org"),
        (r"$30^{\circ}$, $W^{\prime}$, $y^\prime$, $\binom{N}{k}$", "30°, W′, y′, (N choose k)"),
        (r"$\frac{\epsilon^{2}}{2}$ and $\frac{\sigma_{\max}(E)}{n}$", "ε²/2 and (σₘₐₓ(E))/n"),
        (r"$\hat{\theta}$, $\tilde{\Omega}(n)$, $\widetilde{\mathcal{O}}(n)$, $\overline{MS}$", "θ̂, Ω̃(n), Õ(n), M̅S̅"),
        (r"$\boldsymbol{E}\times\boldsymbol{B}$, $\hat{Q}^\top\hat{Q}$, entropic\-time", "E×B, Q̂ᵀQ̂, entropic-time"),
        (r"an \unknown{argument} and NVIDIA\textsuperscript{\textregistered}", "an unknown{argument} and NVIDIA®"),
    ],
)
def test_readable(raw: str, shown: str) -> None:
    assert readable(raw) == shown


CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "arxiv-metadata-100k.jsonl.gz"


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus of real arXiv records is not here")
def test_real_titles_and_abstracts_show_almost_no_tex() -> None:
    # 25,000 real titles and abstracts with TeX in them: before, 2,612 still showed a backslash and 4,695 a
    # "^{" or "_{"; now 16 and 179 (a script of characters Unicode cannot raise is shown as "^(3/2)").
    with gzip.open(CORPUS, "rt", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if "$" in line or "\\\\" in line]  # TeX's "\" in JSON
    texed = [t for r in records for t in (r["title"], r["abstract"]) if "$" in t or "\\" in t]
    shown = [readable(t) for t in texed]
    assert len(texed) > 20_000
    assert sum("\\" in t for t in shown) <= 50
    assert sum("^{" in t or "_{" in t for t in shown) <= 250

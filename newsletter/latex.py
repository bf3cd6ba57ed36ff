"""LaTeX in titles and abstracts made readable for display: `$\\mathcal{O}(n^2)$` -> `O(n²)`.

Only for showing text to people (the stored paper keeps the original); unknown commands lose their
backslash rather than vanish, so nothing a reader needs disappears.
"""

from __future__ import annotations

import re

SYMBOLS = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "kappa": "κ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "phi": "φ",
    "varphi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Sigma": "Σ",
    "Phi": "Φ",
    "Psi": "Ψ",
    "Omega": "Ω",
    "leq": "≤",
    "le": "≤",
    "geq": "≥",
    "ge": "≥",
    "neq": "≠",
    "ne": "≠",
    "approx": "≈",
    "sim": "~",
    "times": "×",
    "cdot": "·",
    "pm": "±",
    "infty": "∞",
    "to": "→",
    "rightarrow": "→",
    "leftarrow": "←",
    "in": "∈",
    "sum": "∑",
    "prod": "∏",
    "sqrt": "√",
    "partial": "∂",
    "nabla": "∇",
    "ell": "ℓ",
    "log": "log",
    "exp": "exp",
    "min": "min",
    "max": "max",
    "%": "%",
    "&": "&",
    "_": "_",
    "$": "\x00",  # an escaped dollar survives the removal of math delimiters
}
SUPERSCRIPT = str.maketrans("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ")
_WRAPPERS = re.compile(
    r"\\(?:math(?:cal|bf|rm|it|bb|sf|tt|frak)|text(?:bf|it|rm|tt|sc)?|emph|operatorname)\{([^{}]*)\}"
)
_COMMAND = re.compile(r"\\([A-Za-z]+|[%&_$])")
_POWER = re.compile(r"\^(?:\{([0-9+\-=()n]{1,6})\}|([0-9n]))")
_SPAN = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(.+?)(?<!\\)\$", re.S)
_TEX = re.compile(r"[\\^_{}=]")


def readable(text: str) -> str:
    if "$" not in text and "\\" not in text:
        return text
    out = _WRAPPERS.sub(r"\1", _without_math_dollars(text))
    out = _POWER.sub(lambda m: (m.group(1) or m.group(2)).translate(SUPERSCRIPT), out)
    out = _COMMAND.sub(lambda m: SYMBOLS.get(m.group(1), m.group(1)), out)
    out = out.replace("\x00", "$")
    return re.sub(r"\s+", " ", out).strip()


def _without_math_dollars(text: str) -> str:
    """The dollars around math taken away, those of money kept: "$5 vs $10", "for $100"."""
    kept: list[str] = []
    at = 0
    while found := _SPAN.search(text, at):
        inner = found.group(1) if found.group(1) is not None else found.group(2)
        if found.group(1) is not None or _is_math(inner, text[found.end() : found.end() + 1]):
            kept += [text[at : found.start()], inner]
            at = found.end()
        else:  # this dollar opens nothing: the next one may
            kept.append(text[at : found.start() + 1])
            at = found.start() + 1
    return "".join(kept) + text[at:]


def _is_math(inner: str, after: str) -> bool:
    """Whether the text between two dollars is math: TeX's own characters, or else set as TeX writers set it
    (pandoc's rule): no space inside either dollar, and not "$5-$10" (a digit on both sides of the closing
    dollar is a second price)."""
    word = inner.strip()
    if _TEX.search(inner) or (word and " " not in word and not word[0].isdigit()):  # "$ n $" is math too
        return True
    if inner != word:
        return False
    return not (after.isdigit() and inner[0].isdigit())

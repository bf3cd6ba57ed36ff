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


def readable(text: str) -> str:
    if "$" not in text and "\\" not in text:
        return text
    out = _WRAPPERS.sub(r"\1", text)
    out = _POWER.sub(lambda m: (m.group(1) or m.group(2)).translate(SUPERSCRIPT), out)
    out = _COMMAND.sub(lambda m: SYMBOLS.get(m.group(1), m.group(1)), out)
    out = out.replace("$", "").replace("\x00", "$")
    return re.sub(r"\s+", " ", out).strip()

"""LaTeX in titles and abstracts made readable for display: `$\\mathcal{O}(n^2)$` -> `O(n²)`.

Only for showing text to people (the stored paper keeps the original); unknown commands lose their
backslash rather than vanish, so nothing a reader needs disappears.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

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
    "{": "\x01",  # so does an escaped brace the removal of grouping braces
    "}": "\x02",
    "top": "ᵀ",
    "dagger": "†",
    "star": "*",
    "ast": "*",
    "ldots": "…",
    "dots": "…",
    "circ": "°",
    "degree": "°",
    "prime": "′",
    "textregistered": "®",
    "texttrademark": "™",
    "copyright": "©",
    "odot": "⊙",
    "hbar": "ħ",
    "|": "‖",
    "#": "#",
    "-": "-",  # a place to hyphenate, written by some as a dash: shown as a hyphen
    # Spacing, line breaks, the math delimiters "\( \)" and "\[ \]", old font switches ("{\cal N}"): TeX's
    # layout, nothing to show.
    **dict.fromkeys((",", ";", ":", " ", "\\"), " "),
    **dict.fromkeys(("!", "@", "/", "(", ")", "[", "]", "cal", "bf", "rm", "it", "em", "sf", "sc", "tt"), ""),
}
_SUPER = dict(
    zip(
        "0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWαβγδεθφχ",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵅᵝᵞᵟᵋᶿᵠᵡ",
        strict=True,
    )
)
_SUB = dict(zip("0123456789+-=()aehijklmnoprstuvxβγρφχ", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ", strict=True))
_SUPER.update({c: c for c in "′°*†®™"})  # already raised: "30^{\circ}" is "30°", "y^\prime" is "y′"
_SCRIPTS = {"^": _SUPER, "_": _SUB}
# Accents over one letter: the letter and a combining mark ("\tilde{O}" -> "Õ").
ACCENTS = {
    "tilde": "\u0303",
    "widetilde": "\u0303",
    "hat": "\u0302",
    "widehat": "\u0302",
    "bar": "\u0304",
    "overline": "\u0305",
    "vec": "\u20d7",
    "dot": "\u0307",
    "ddot": "\u0308",
}
DOUBLE_STRUCK = str.maketrans("RNZQCPEH", "ℝℕℤℚℂℙ𝔼ℍ")
# Around one argument: brackets of quantum states and norms, and text raised or lowered.
AROUND = {
    "ket": "|{}⟩",
    "bra": "⟨{}|",
    "norm": "‖{}‖",
    "abs": "|{}|",
    "textsuperscript": "^{{{}}}",
    "textsubscript": "_{{{}}}",
}
_ONE_ARGUMENT = re.compile(r"\\(mathbb|sqrt|url|" + "|".join([*ACCENTS, *AROUND]) + r")\s*\{([^{}]*)\}")
_COLOUR = re.compile(r"\\(?:textcolor|colorbox)\s*\{[^{}]*\}")  # the colour's name: its text follows in braces
_FRACTION = re.compile(r"\\([dt]?frac|binom)\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_LINK = re.compile(r"\\href\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
# References to the paper's own parts or its bibliography: keys, nothing a reader can use.
_REFERENCE = re.compile(r"\s*\\(?:cite[a-z]*|ref|eqref|autoref|label)\s*\{[^{}]*\}")
_FONTS = (
    r"math(?:cal|bf|rm|it|sf|tt|frak|scr)|text(?:bf|it|rm|tt|sc|sf|normal|up|sl)?|emph|operatorname|boldsymbol|bm"
    r"|underline|mbox|hbox"
)
_WRAPPERS = re.compile(rf"\\(?:{_FONTS})(?:\s*\{{([^{{}}]*)\}}|\s+([A-Za-z0-9]))")
# Accents of text ("Schr\"odinger", "\'{e}"): the letter and a combining mark, composed.
TEXT_ACCENTS = {"'": "\u0301", '"': "\u0308", "`": "\u0300", "~": "\u0303", "=": "\u0304", "^": "\u0302"}
_TEXT_ACCENT = re.compile(r"\\(['\"`~=^])\s*(?:\{([A-Za-z])\}|([A-Za-z]))")
# A command of SYMBOLS, whole: "\times" in "E\times B", never "\timesB" (a name run into the next letter).
_KNOWN = re.compile(
    r"\\(?:("
    + "|".join(sorted((re.escape(k) for k in SYMBOLS if k.isalpha()), key=len, reverse=True))
    + r")(?![A-Za-z]|\s*\{)|([%&_${},;: !\-@/()\[\]|#\\]))"
)
_UNKNOWN = re.compile(r"\\([A-Za-z]+)(?:\s*\{([^{}]*)\})?")
_SCRIPT = re.compile(r"([\^_])(?:\{([^{}]{1,24})\}|(?<=\^)(\S))")
_SPAN = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(.+?)(?<!\\)\$", re.S)
_TEX = re.compile(r"[\\^_{}=]")


@lru_cache(maxsize=65536)  # a paper's title and abstract, shown to every reader it is picked for
def readable(text: str) -> str:
    if "$" not in text and "\\" not in text:
        return text
    out = _REFERENCE.sub("", _without_math_dollars(text))
    out = _TEXT_ACCENT.sub(lambda m: (m.group(2) or m.group(3)) + TEXT_ACCENTS[m.group(1)], out)
    out = _LINK.sub(
        lambda m: m.group(1) if m.group(2).strip() in ("", m.group(1)) else f"{m.group(2)} ({m.group(1)})", out
    )
    out = _settled(out, _known_commands, 6)  # inside out: "\frac{\sqrt{n}}{2}", "\frac{\epsilon^{2}}{2}"
    # What is left: a symbol before a group ("\sqrt{a}{b}"), and a command this module does not know, which
    # keeps its name and its argument in braces ("\foo{x}" -> "foo{x}"); "\foo{\bar{x}}" the outer one first.
    out = _settled(out, lambda text: _UNKNOWN.sub(_unknown, text), 4)
    # What braces are left only group (TeX shows none of them); an escaped one ("\{") is shown.
    out = out.replace("{", "").replace("}", "")
    out = out.replace("\x00", "$").replace("\x01", "{").replace("\x02", "}").replace("\x03", "^")
    return unicodedata.normalize("NFC", re.sub(r"\s+", " ", out).strip())


def _settled(text: str, step: Callable[[str], str], rounds: int) -> str:
    """`step` applied until it changes nothing more (at most `rounds` times): nested commands, inside out."""
    for _ in range(rounds):
        before, text = text, step(text)
        if text == before:
            break
    return text


def _known_commands(text: str) -> str:
    text = _KNOWN.sub(lambda m: SYMBOLS[m.group(1) or m.group(2)], text)
    text = _COLOUR.sub("", text)
    text = _WRAPPERS.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), text)
    text = _FRACTION.sub(_fraction, text)
    text = _ONE_ARGUMENT.sub(lambda m: _one(m.group(1), m.group(2)), text)
    return _SCRIPT.sub(_script, text)


def _unknown(found: re.Match[str]) -> str:
    name, argument = found.groups()
    return SYMBOLS.get(name, name) + (f"\x01{argument}\x02" if argument is not None else "")


def _fraction(found: re.Match[str]) -> str:
    command, top, bottom = found.groups()
    if command == "binom":
        return f"({top.strip()} choose {bottom.strip()})"
    return f"{_grouped(top)}/{_grouped(bottom)}"


def _one(command: str, argument: str) -> str:
    if command == "mathbb":
        return argument.translate(DOUBLE_STRUCK)
    if command == "sqrt":
        return "√" + _grouped(argument)
    if command in AROUND:
        return AROUND[command].format(argument.strip())
    if command in ACCENTS:
        letters = argument.strip()
        if command in ("bar", "overline"):  # a line over all of it: "\overline{MS}"
            return "".join(c + ACCENTS[command] for c in letters)
        return letters + ACCENTS[command] if letters else ""
    return argument  # url


def _grouped(part: str) -> str:
    """A part of a fraction or a root, in parentheses unless it is one number or name ("n", "12", "(n+1)")."""
    part = part.strip()
    return part if re.fullmatch(r"√?\w+|\(.*\)", part) else f"({part})"


def _script(found: re.Match[str]) -> str:
    """A superscript or a braced subscript in Unicode when every character has one ("n^{-1}" -> "n⁻¹"), else
    plainly ("log^{3/2}" -> "log^(3/2)"); an unbraced "_" stays (snake_case names)."""
    mark, body = found.group(1), found.group(2) if found.group(2) is not None else found.group(3)
    table = _SCRIPTS[mark]
    body = body.replace(" ", "")
    if body and all(c in table or c in table.values() for c in body):
        return "".join(table.get(c, c) for c in body)
    mark = "\x03" if mark == "^" else mark  # a caret shown as is, never read as a script again
    return mark + (body if len(body) == 1 else f"({body})")


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

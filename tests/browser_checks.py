"""What a person checks by eye, measured in the browser: nothing wider than the screen, text contrast ≥ 4.5:1."""

from __future__ import annotations

from typing import Any

# WCAG 2 relative luminance and contrast of each element's own text against the first opaque background
# behind it; hidden elements (the preheader) are skipped.
_CONTRAST_JS = """
() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  };
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    const style = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    if (style.visibility === "hidden" || rect.width === 0 || rect.height === 0 || el.closest("[hidden]")) continue;
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const fg = luminance(parse(style.color)), bg = luminance(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    found.push({ratio: Math.round(ratio * 100) / 100, tag: el.tagName, text: el.textContent.trim().slice(0, 50)});
  }
  return found;
}
"""


def overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the viewport (0 when it fits)."""
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))


def low_contrast(page: Any, minimum: float = 4.5) -> list[dict[str, Any]]:
    """Every visible text element whose contrast is below `minimum`; asserts some text was measured."""
    measured = page.evaluate(_CONTRAST_JS)
    assert measured, "no visible text was measured"
    return [m for m in measured if m["ratio"] < minimum]


def page_background_luminance(page: Any) -> float:
    return float(
        page.evaluate(
            """() => { const m = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number);
                       return (0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]) / 255; }"""
        )
    )

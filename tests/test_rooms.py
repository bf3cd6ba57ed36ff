"""Imports go downward only: shells (cli, web, schedule, demo) -> pipeline -> store, deliver, render -> models."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "newsletter"
SHELLS = (
    "newsletter.cli",
    "newsletter.web",
    "newsletter.schedule",
    "newsletter.demo",
    "newsletter.__main__",
    "newsletter.entry",
)
RENDERING = (
    "newsletter.render",
    "newsletter.inlining",
    "newsletter.message",
    "newsletter.links",
    "newsletter.paper_views",
)
STAGES = (
    "newsletter.selection",
    "newsletter.sources",
    "newsletter.meanings",
    "newsletter.meaning",
    "newsletter.learned",
)


def _in(module: str, rooms: tuple[str, ...]) -> bool:
    return any(module == room or module.startswith(room + ".") for room in rooms)


def imports() -> list[tuple[str, int, str]]:
    """(importing module, line, imported module) for every import of newsletter's own modules, those inside
    functions too: a lazy import is still a dependency."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        package = list(parts[:-1])
        module = ".".join(package if parts[-1] == "__init__" else parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                # `from . import x` and `from ..store import y`: as written from the package's root.
                base = ".".join([*package[: len(package) - node.level + 1], *([node.module] if node.module else [])])
                within = base if node.level else node.module or ""
                # `from newsletter import pipeline` names a module; `from newsletter.x import y` names x.
                names = [f"{within}.{a.name}" for a in node.names] if within.count(".") < 1 else [within]
            found += [(module, node.lineno, name) for name in names if name.startswith("newsletter.")]
    return found


def test_only_the_shells_import_a_shell() -> None:
    assert [f"{m}:{line} {name}" for m, line, name in imports() if _in(name, SHELLS) and not _in(m, SHELLS)] == []


def test_only_the_shells_import_the_pipeline() -> None:
    upward = [
        f"{m}:{line} {name}"
        for m, line, name in imports()
        if _in(name, ("newsletter.pipeline",)) and not _in(m, (*SHELLS, "newsletter.pipeline"))
    ]
    assert upward == []


def test_store_deliver_and_render_do_not_import_each_other() -> None:
    # deliver/ declares the ledger it needs (deliver/ports.py) and is handed a composer; the store knows
    # nothing of mail.
    apart = {
        "newsletter.deliver": ("newsletter.store", *RENDERING),  # it sends bytes made above it
        # The store keeps and finds; what a phrase means or how a paper ranks is worked out above it.
        "newsletter.store": ("newsletter.deliver", *RENDERING, *STAGES),
        **{room: ("newsletter.store", "newsletter.deliver") for room in RENDERING},
    }
    crossing = [
        f"{m}:{line} {name}"
        for m, line, name in imports()
        for room, banned in apart.items()
        if _in(m, (room,)) and _in(name, banned)
    ]
    assert crossing == []


def test_models_import_only_the_table_of_their_fields() -> None:
    # readers/fields.py is the table of Subscriber's fields, which Subscriber.to_dict follows (a lazy import).
    allowed = ("newsletter.models", "newsletter.readers.fields")
    found = [f"{m}:{line} {name}" for m, line, name in imports() if _in(m, allowed[:1]) and not _in(name, allowed)]
    assert found == []


def test_every_module_says_its_job_in_one_line() -> None:
    # The house's rule: a module's docstring opens with one line that a newcomer can read alone.
    unsaid = []
    for path in sorted(PACKAGE.rglob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=False)
        if doc is None or not doc.strip() or "\n" in doc.split("\n\n")[0]:
            unsaid.append(str(path.relative_to(PACKAGE.parent)))
    assert unsaid == []

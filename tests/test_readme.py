"""The README documents the code as it is."""

from __future__ import annotations

from core.settings import PROJECT_ROOT, Settings


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`RAG_{name.upper()}`" not in readme]
    assert missing == []


def test_ci_runs_the_readme_test_command() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in readme and "exec make test" in ci


def test_every_module_is_in_the_readme_folder_table() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| folder | holds |") :]
    table = table[: table.index("\n\n")]
    missing = []
    for package in ("core", "index", "rag", "ui", "eval", "bench"):
        row = next((line for line in table.splitlines() if line.startswith(f"| `{package}/`")), "")
        for module in sorted((PROJECT_ROOT / package).rglob("*.py")):
            if module.name != "__init__.py" and f"`{module.name}`" not in row:
                missing.append(str(module.relative_to(PROJECT_ROOT)))
    assert missing == []

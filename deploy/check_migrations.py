"""Migration safety: flags operations in NEW migrations that break the code still running during a deploy.

A deploy migrates first, then replaces the processes one by one, so for a while the OLD code runs against the
NEW schema. Unsafe then (each needs the expand/contract dance of docs/runbook.md "Deploying"):

- RemoveField, DeleteModel: old code still selects the column or table;
- RenameField, RenameModel, AlterModelTable: old code uses the old name;
- AlterField: a type or nullability change can rewrite the table under an ACCESS EXCLUSIVE lock, or make the
  old code's writes fail (review it and mark it);
- AddField that is NOT NULL without ``db_default``: old code's INSERTs leave the column out (Django's
  ``default`` fills the existing rows and is then dropped from the column; ``db_default`` stays in it);
- RunSQL without ``reverse_sql``, RunPython without ``reverse_code``: the deploy cannot be rolled back.

An operation judged safe after review is marked with a comment ``# migration-safe: <why>`` on the line where it
starts (or the line above). Migrations that existed when the checker came are listed in
``deploy/migrations-grandfathered.txt`` and not checked. Run by ``make lint``; exits 1 with one line per finding.
Static (``ast``): no database and no Django set-up needed."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRANDFATHERED = Path(__file__).resolve().parent / "migrations-grandfathered.txt"
SKIP_DIRS = {".venv", ".git", "node_modules", ".data", "mutants"}
MARK = "migration-safe:"

ALWAYS_UNSAFE = {
    "RemoveField": "drops a column the old code still reads",
    "DeleteModel": "drops a table the old code still reads",
    "RenameField": "renames a column the old code still uses",
    "RenameModel": "renames a table the old code still uses",
    "AlterModelTable": "renames a table the old code still uses",
    "AlterField": "may change a type or nullability (table rewrite, old code's writes failing): review and mark",
}


def _keywords(call: ast.Call) -> dict[str, ast.expr]:
    return {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg}


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _operation_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "migrations":
        return func.attr
    return None


def _field_call(call: ast.Call) -> ast.Call | None:
    field = _keywords(call).get("field")
    if field is None and len(call.args) >= 3:
        field = call.args[2]
    return field if isinstance(field, ast.Call) else None


def _add_field_problem(call: ast.Call) -> str | None:
    field = _field_call(call)
    if field is None:
        return None
    name = field.func.attr if isinstance(field.func, ast.Attribute) else getattr(field.func, "id", "")
    if name == "ManyToManyField":
        return None
    options = _keywords(field)
    if _is_true(options.get("null")) or "db_default" in options:
        return None
    if "primary_key" in options:
        return None
    return "adds a NOT NULL column without db_default: the old code's INSERTs fail (null=True or db_default)"


def check_source(source: str, filename: str = "<migration>") -> list[tuple[int, str, str]]:
    """(line, operation, why) for each unsafe, unmarked operation in a migration's source."""
    tree = ast.parse(source, filename)
    lines = source.splitlines()
    findings = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        operation = _operation_name(node)
        if operation is None:
            continue
        problem = ALWAYS_UNSAFE.get(operation)
        if operation == "AddField":
            problem = _add_field_problem(node)
        elif operation == "RunSQL" and "reverse_sql" not in _keywords(node) and len(node.args) < 2:
            problem = "has no reverse_sql: the deploy cannot be rolled back"
        elif operation == "RunPython" and "reverse_code" not in _keywords(node) and len(node.args) < 2:
            problem = "has no reverse_code (use migrations.RunPython.noop if nothing needs undoing)"
        if problem is None:
            continue
        nearby = lines[max(node.lineno - 2, 0) : node.lineno]
        if any(MARK in line for line in nearby):
            continue
        findings.append((node.lineno, operation, problem))
    return findings


def migration_files(root: Path = ROOT) -> list[Path]:
    found = []
    for path in root.rglob("migrations/*.py"):
        relative = path.relative_to(root)
        if relative.parts[0] in SKIP_DIRS or path.name == "__init__.py" or relative.parts[0] == "tests":
            continue
        found.append(path)
    return sorted(found)


def grandfathered() -> set[str]:
    if not GRANDFATHERED.exists():
        return set()
    entries = (line.split("#", 1)[0].strip() for line in GRANDFATHERED.read_text().splitlines())
    return {entry for entry in entries if entry}


def main(argv: list[str]) -> int:
    old = grandfathered()
    paths = [Path(arg).resolve() for arg in argv] or migration_files()
    failures = 0
    for path in paths:
        relative = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
        if relative in old:
            continue
        for line, operation, problem in check_source(path.read_text(), relative):
            print(f"{relative}:{line}: {operation} {problem}")
            failures += 1
    if failures:
        print(
            f"{failures} unsafe migration operation(s). Split them into expand/contract steps (docs/runbook.md, "
            f"Deploying) or, after review, mark the line with '# {MARK} <why>'."
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

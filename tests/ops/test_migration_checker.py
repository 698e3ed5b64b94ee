"""deploy/check_migrations.py (run by make lint): unsafe operations in new migrations are flagged, safe ones
and reviewed (marked) ones pass, the grandfathered migrations are not checked, and the tree is clean."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("check_migrations", ROOT / "deploy" / "check_migrations.py")
checker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(checker)

HEAD = "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    operations = [\n"


def ops(*lines: str) -> str:
    return HEAD + "".join(f"        {line}\n" for line in lines) + "    ]\n"


@pytest.mark.parametrize(
    ("operation", "flagged"),
    [
        ('migrations.RemoveField(model_name="order", name="note"),', "RemoveField"),
        ('migrations.DeleteModel(name="Order"),', "DeleteModel"),
        ('migrations.RenameField(model_name="order", old_name="a", new_name="b"),', "RenameField"),
        ('migrations.RenameModel(old_name="A", new_name="B"),', "RenameModel"),
        ('migrations.AlterModelTable(name="order", table="x"),', "AlterModelTable"),
        ('migrations.AlterField(model_name="order", name="n", field=models.BigIntegerField()),', "AlterField"),
        ('migrations.AddField(model_name="order", name="n", field=models.IntegerField()),', "AddField"),
        ('migrations.AddField(model_name="order", name="n", field=models.IntegerField(default=0)),', "AddField"),
        ('migrations.RunSQL("UPDATE x SET y = 1"),', "RunSQL"),
        ("migrations.RunPython(forwards),", "RunPython"),
    ],
)
def test_unsafe_operations_are_flagged(operation, flagged):
    findings = checker.check_source(ops(operation))
    assert [name for _line, name, _why in findings] == [flagged]


@pytest.mark.parametrize(
    "operation",
    [
        'migrations.AddField(model_name="order", name="n", field=models.IntegerField(null=True)),',
        'migrations.AddField(model_name="order", name="n", field=models.IntegerField(db_default=0)),',
        'migrations.AddField(model_name="order", name="tags", field=models.ManyToManyField(to="x.Tag")),',
        'migrations.CreateModel(name="New", fields=[("id", models.BigAutoField(primary_key=True))]),',
        'migrations.AddIndex(model_name="order", index=models.Index(fields=["n"], name="n_idx")),',
        'migrations.RunSQL("UPDATE x SET y = 1", reverse_sql=migrations.RunSQL.noop),',
        'migrations.RunSQL("UPDATE x SET y = 1", "UPDATE x SET y = 0"),',
        "migrations.RunPython(forwards, migrations.RunPython.noop),",
        "migrations.RunPython(forwards, reverse_code=backwards),",
    ],
)
def test_safe_operations_pass(operation):
    assert checker.check_source(ops(operation)) == []


def test_a_reviewed_operation_is_marked_safe():
    source = ops(
        "# migration-safe: the column was unused since release 12 (expand/contract step 3)",
        'migrations.RemoveField(model_name="order", name="note"),',
        'migrations.AlterField(model_name="o", name="n", field=models.TextField()),  # migration-safe: varchar->text',
    )
    assert checker.check_source(source) == []


def test_new_migrations_are_checked_and_grandfathered_ones_are_not(tmp_path, capsys):
    new = tmp_path / "0099_drop.py"
    new.write_text(ops('migrations.RemoveField(model_name="order", name="note"),'))
    assert checker.main([str(new)]) == 1
    assert "0099_drop.py:6: RemoveField" in capsys.readouterr().out
    assert "billing/migrations/0006_payment_foreign_keys.py" in checker.grandfathered()


def test_the_tree_passes():
    assert checker.main([]) == 0

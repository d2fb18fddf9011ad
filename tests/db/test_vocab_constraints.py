"""The CHECK constraints of the MIGRATED database allow exactly the codes of hub/vocab.py (both backends).

Alembic does not compare CHECK contents, so a code added to a vocabulary without a migration would pass
`alembic check` and be rejected by the database; this test is what catches it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text

from db.vocab_migration import Check, database_checks, differences, model_checks, render_migration
from hub import vocab

ROOT = Path(__file__).resolve().parents[2]


def test_migrated_checks_match_the_vocabularies(sf):
    with sf.kw["bind"].connect() as conn:
        found = database_checks(conn)
        assert differences(conn) == [], [d.describe() for d in differences(conn)]
    # the comparison really read the vocabulary constraints of the database
    assert found[("hub_case", "ck_hub_case_primary_outcome_known")].codes == set(vocab.PRIMARY_OUTCOMES)
    assert found[("practice", "ck_practice_nation_known")].codes == set(vocab.NATIONS)
    assert found[("hub_case", "ck_hub_case_status_known")].codes == set(vocab.CASE_STATUSES)
    assert found[("goal", "ck_goal_baseline_level_range")].codes == set()  # numbers are not codes


def test_every_vocabulary_check_of_the_models_is_compared():
    checks = model_checks()
    assert checks[("decision", "ck_decision_primary_outcome_known")].codes == set(vocab.PRIMARY_OUTCOMES)
    assert checks[("case_flag", "ck_case_flag_severity_known")].codes == set(vocab.FLAG_SEVERITIES)
    assert checks[("user_role", "ck_user_role_role_known")].codes == set(vocab.ROLES)


def test_codes_of_postgresql_and_sqlite_texts():
    pg = Check("t", "c", "((status)::text = ANY "
                         "((ARRAY['draft'::character varying, 'final'::character varying])::text[]))")
    assert pg.codes == {"draft", "final"}
    assert Check("t", "c", "(baseline_level = ANY (ARRAY['-2'::integer, '-1'::integer]))").codes == set()
    assert Check("t", "c", "status IN ('draft', 'final')").codes == {"draft", "final"}


# A fresh interpreter adds codes to two vocabularies BEFORE the models are imported (as an edit of
# hub/vocab.py would), compares the migrated database, then applies the migration the generator writes
# and compares again, then downgrades it.
_SCRIPT = textwrap.dedent("""
    import json, sys
    import hub.vocab as v
    v.PRIMARY_OUTCOMES["bpi"] = "Brief Pain Inventory"
    v.NATIONS["iom"] = "Isle of Man"
    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from db.engine import make_engine
    from db.vocab_migration import differences, render_migration
    engine = make_engine(sys.argv[1])
    out = {}
    with engine.begin() as conn:
        diffs = differences(conn)
        out["before"] = [d.describe() for d in diffs]
        source = render_migration(diffs, "add bpi and iom", "9999", "0012")
        out["source"] = source
        module = {}
        exec(compile(source, "generated", "exec"), module)
        ctx = MigrationContext.configure(conn, opts={"render_as_batch": conn.dialect.name == "sqlite"})
        with Operations.context(ctx):
            module["upgrade"]()
            out["after_upgrade"] = [d.describe() for d in differences(conn)]
            module["downgrade"]()
            out["after_downgrade"] = [d.describe() for d in differences(conn)]
    engine.dispose()
    # the command line writes the file into the versions folder given
    import contextlib, io, pathlib
    from db.vocab_migration import main
    with contextlib.redirect_stdout(io.StringIO()):
        out["main"] = main(["add bpi and iom", "--versions", sys.argv[2]])
    out["written"] = sorted(p.name for p in pathlib.Path(sys.argv[2]).iterdir())
    print(json.dumps(out))
""")


def test_a_code_added_to_a_vocabulary_without_migration_is_reported_and_the_generated_migration_fixes_it(
        sf, tmp_path):
    url = sf.kw["bind"].url.render_as_string(hide_password=False)
    sf.kw["bind"].dispose()
    versions = tmp_path / "versions"
    versions.mkdir()
    run = subprocess.run([sys.executable, "-c", _SCRIPT, url, str(versions)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert sorted(out["before"]) == [
        "decision.ck_decision_primary_outcome_known: codes not allowed by the database: bpi",
        "hub_case.ck_hub_case_primary_outcome_known: codes not allowed by the database: bpi",
        "practice.ck_practice_nation_known: codes not allowed by the database: iom",
    ]
    # the generated file carries the lists as literals and uses batch operations (SQLite)
    assert "primary_outcome IN ('peg', 'nrs', 'mskhq', 'odi', 'bpi')" in out["source"]
    assert "batch_alter_table('practice'" in out["source"]
    assert out["after_upgrade"] == []
    assert len(out["after_downgrade"]) == 3
    assert out["main"] == 0 and len(out["written"]) == 1 and out["written"][0].endswith("_add_bpi_and_iom.py")
    written = (versions / out["written"][0]).read_text()
    assert re.search(r"^down_revision = '\d{4}\w*'$", written, re.MULTILINE)  # revises the head (0016_flags_one_store)
    assert "nation IN ('eng', 'wls', 'sct', 'nir', 'iom')" in written


def test_the_generated_migration_writes_a_file_only_when_something_differs(tmp_path, capsys):
    from db.vocab_migration import main

    assert main(["nothing to do", "--versions", str(tmp_path)]) == 0
    assert list(tmp_path.iterdir()) == []
    assert "Nothing to do" in capsys.readouterr().out


def test_the_database_rejects_a_code_outside_the_vocabulary(sf):
    """The point of the constraints: a code the vocabulary lacks cannot be stored."""
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), sf.begin() as s:
        s.execute(text("INSERT INTO practice (code, name, nation) VALUES ('X', 'X', 'iom')"))
    assert render_migration([], "m", "1", "0").startswith('"""m')

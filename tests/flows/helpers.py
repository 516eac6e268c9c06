import json

import pytest
from django.core.management import call_command


def run_import_command(capsys, *args) -> dict:
    """Run `import_1c ... --json` in-process; return its last stdout line (exit 1 allowed)."""
    try:
        call_command("import_1c", *args, "--json")
    except SystemExit as exc:
        assert exc.code == 1
    out = capsys.readouterr().out.strip().splitlines()
    if not out:
        pytest.fail("import_1c printed no JSON report")
    return json.loads(out[-1])

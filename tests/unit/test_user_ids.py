"""Any user id works (issue 13, row 4): e-mail addresses, dots, slashes, unicode, spaces, control characters.

Store namespace labels may not hold "." (LangGraph refuses them), so every id is encoded by
`plangate.tools.runtime.user_label`; the encoding keeps plain ids as they are and never maps two ids to one label.
"""

from __future__ import annotations

import json

import pytest

from plangate.graph.cli.main import main
from plangate.graph.persistence.savers import open_sqlite
from plangate.tools.runtime import user_label

UGLY_IDS = ["carol@example.com", "alice.smith", "dept/ops\\team", "zoë 日本", "  spaced  out ", "100%.sure",
            "plangate", "a.b.c.d.e", "tab\tand\x1bescape", "..", "%2E", "x" * 300, "default"]


def test_labels_keep_plain_ids_and_never_collide():
    assert user_label("alice") == "alice" and user_label("bob_2-x@y") == "bob_2-x@y"
    labels = [user_label(u) for u in {*UGLY_IDS, "", ".", "%", "%25", "%2E", "a.", "a%2E"}]
    assert len(set(labels)) == len(labels)
    assert all(label and "." not in label and "\x00" not in label for label in labels)


def test_a_dozen_ugly_user_ids_each_plan_and_keep_their_own_timers(tmp_path, capsys):
    db = str(tmp_path / "threads.sqlite")
    for number, user in enumerate(UGLY_IDS):
        code = main(["--json", "--user", user, "--db", db, f"set a timer for {number + 1} minutes and then list my timers"])
        out = json.loads(capsys.readouterr().out)
        assert code == 0 and out["error"] is None, (user, out["error"])
        assert [r["status"] for r in out["step_results"].values()] == ["completed", "completed"], user
        again = main(["--json", "--user", user, "--db", db, "list my timers"])  # a second turn, fresh thread
        assert again == 0, user
        capsys.readouterr()
    with open_sqlite(db) as persistence:
        for number, user in enumerate(UGLY_IDS):
            timers = persistence.store.search(("plangate", "timers", user_label(user)), limit=100)
            assert [t.value["duration_s"] for t in timers] == [60 * (number + 1)], user


@pytest.mark.parametrize("user", ["carol@example.com", "alice.smith"])
def test_the_plan_library_works_for_dotted_ids(tmp_path, capsys, user):
    db = str(tmp_path / "threads.sqlite")
    for minutes in (5, 7):  # the second request reuses the plan the first one stored
        assert main(["--json", "--user", user, "--db", db, f"set a timer for {minutes} minutes and then list my timers"]) == 0
        assert json.loads(capsys.readouterr().out)["error"] is None

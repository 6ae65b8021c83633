"""Processes that start together import ArviZ without racing on its once-a-day notice stamp."""

import datetime
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor

from bayescale import library_notes

# ArviZ's own stamp write made to fail, as it does for the process that loses the race on its fixed temporary name
LOSING_THE_RACE = """
import pathlib
def lost(self, target):
    raise FileNotFoundError(2, "No such file or directory", str(self))
pathlib.Path.replace = lost
import bayescale
import arviz
print(bayescale.library_notes.arviz_stamp_file().read_text())
"""


def _in_fresh_cache(cache, code):
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)


def test_arviz_imports_after_bayescale_even_when_its_own_stamp_write_would_fail(tmp_path):
    done = _in_fresh_cache(tmp_path, LOSING_THE_RACE)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == datetime.date.today().isoformat()
    assert sorted(p.name for p in (tmp_path / "arviz").iterdir()) == ["daily_warning"]  # no temporary left behind
    without = _in_fresh_cache(tmp_path / "other", LOSING_THE_RACE.replace("import bayescale\n", "").replace(
        "print(bayescale.library_notes.arviz_stamp_file().read_text())", ""))
    assert without.returncode != 0 and "FileNotFoundError" in without.stderr  # the failure this guards against


def _stamp_many_days(cache, first_day):
    os.environ["XDG_CACHE_HOME"] = str(cache)
    for offset in range(150):
        library_notes.stamp_arviz_notice(datetime.date.fromordinal(first_day + offset))


def test_processes_stamping_at_once_neither_fail_nor_leave_temporaries(tmp_path):
    start = datetime.date(2026, 1, 1).toordinal()
    with ProcessPoolExecutor(4) as pool:
        for done in [pool.submit(_stamp_many_days, tmp_path, start + k) for k in range(4)]:
            done.result()
    stamp = tmp_path / "arviz" / "daily_warning"
    assert datetime.date.fromisoformat(stamp.read_text()).toordinal() >= start + 149
    assert [p.name for p in stamp.parent.iterdir()] == ["daily_warning"]


def test_a_cache_that_cannot_be_written_is_left_alone(tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    library_notes.stamp_arviz_notice()
    assert blocked.read_text() == "not a directory"

"""Fetching the public data sets into the user cache, from a mirror served on 127.0.0.1 (never the internet)."""

import importlib.util
import json
import socket
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import platformdirs
import pytest
from typer.testing import CliRunner

from bayescale import datasets, downloads
from bayescale.cli import app
from bayescale.errors import DatasetError, MissingFileError

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


class _Mirror(SimpleHTTPRequestHandler):
    """The data directory over HTTP; the server's ``mode`` alters the bytes ("altered") or cuts them off ("half")."""

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()

    def copyfile(self, source, outputfile):
        data = source.read()
        if self.server.mode == "altered":
            data = bytes([data[0] ^ 1]) + data[1:]
        elif self.server.mode == "half":
            data = data[: len(data) // 2]
        outputfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(shared_data):
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Mirror, directory=str(shared_data)))
    server.mode, server.requests = "ok", []
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh, empty user cache as the default data directory (neither $BAYESCALE_DATA nor a mirror set)."""
    folder = tmp_path / "cache"
    monkeypatch.delenv(datasets.DATA_ENV)
    monkeypatch.delenv(downloads.MIRROR_ENV, raising=False)
    monkeypatch.setattr(platformdirs, "user_cache_dir", lambda appname: str(folder))
    assert datasets.data_dir() == folder
    return folder


def _files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def _rows(table: str) -> dict[str, list[str]]:
    """The cells of a printed table's rows, by their first cell."""
    cells = [[cell.strip() for cell in line.split("│")[1:-1]] for line in table.splitlines() if line.startswith("│")]
    return {row[0]: row[1:] for row in cells if row[0]}


@pytest.mark.parametrize("name", ["epoch-chinchilla", "gemstones"])  # gemstones: a '+' in the file name
def test_first_load_downloads_into_the_cache_and_equals_the_shared_copy(name, mirror, cache, shared_data, monkeypatch):
    monkeypatch.setenv(downloads.MIRROR_ENV, mirror.url)
    df = datasets.load_dataset(name)
    expected = datasets.load_dataset(name, data_dir=shared_data)
    pd.testing.assert_frame_equal(df, expected)
    assert df.attrs == expected.attrs
    file = df.attrs["provenance"]["files"][0]
    assert (cache / file).read_bytes() == (shared_data / file).read_bytes() and len(mirror.requests) == 1
    datasets.load_dataset(name)
    assert len(mirror.requests) == 1 and _files(cache) == [cache / file]


def test_a_second_fetch_downloads_nothing_and_a_damaged_file_is_replaced(mirror, cache):
    assert len(datasets.fetch("multipower", cache, mirror.url)) == 27 and len(mirror.requests) == 27
    assert datasets.fetch("multipower", cache, mirror.url) == [] and len(mirror.requests) == 27
    damaged = "multipower_lr_schedules/loss_curve_repo/csv_25/wsdcon_3.csv"
    (cache / damaged).write_text("step,lr,loss\n")
    assert datasets.fetch("multipower", cache, mirror.url) == [damaged] and downloads.verified(cache, damaged)


def test_a_checksum_mismatch_names_the_file_and_both_hashes_and_keeps_nothing(mirror, cache):
    mirror.mode = "altered"
    file = "epoch_chinchilla/svg_extracted_data.csv"
    with pytest.raises(DatasetError, match=rf"{file} downloaded from {mirror.url}/{file} has sha256 [0-9a-f]{{64}}, "
                       rf"expected {downloads.manifest()[file]['sha256']}; the file was not kept"):
        datasets.fetch("epoch-chinchilla", cache, mirror.url)
    assert _files(cache) == []


def test_an_interrupted_download_keeps_nothing_and_a_retry_succeeds(mirror, cache):
    mirror.mode = "half"
    with pytest.raises(DatasetError, match=r"the download of .*svg_extracted_data.csv stopped after 11612 of 23224 bytes; nothing was kept"):
        datasets.fetch("epoch-chinchilla", cache, mirror.url)
    assert _files(cache) == []
    mirror.mode = "ok"
    assert datasets.fetch("epoch-chinchilla", cache, mirror.url) == ["epoch_chinchilla/svg_extracted_data.csv"]
    assert len(datasets.load_dataset("epoch-chinchilla")) == 245


def test_offline_the_error_says_which_url_to_place_where(cache):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    file = "misfitting/scaling_results.csv"
    with pytest.raises(DatasetError) as raised:
        datasets.fetch("misfitting", cache, closed)
    message = str(raised.value)
    assert f"data set 'misfitting': cannot download {closed}/{file} (" in message
    assert f"place the file by hand: download that URL elsewhere and put it at {cache / file} ({file} under the data directory; sha256 " in message
    assert _files(cache) == []


def test_a_derived_file_cannot_be_downloaded_from_the_source_but_from_a_mirror(mirror, cache):
    with pytest.raises(DatasetError, match=r"data set 'porian': porian_resolving/isoflop_points.csv is built from the files of "
                       r"https://github.com/formll/resolving-scaling-law-discrepancies at commit 0dc60d9.*place porian_resolving/"
                       rf"isoflop_points.csv \(sha256 [0-9a-f]{{64}}\) at {cache}/porian_resolving/isoflop_points.csv, or fetch from a mirror"):
        datasets.load_dataset("porian")
    assert mirror.requests == [] and _files(cache) == []
    assert datasets.fetch("porian", cache, mirror.url) == ["porian_resolving/isoflop_points.csv"]
    assert len(datasets.load_dataset("porian")) == 1745


@pytest.mark.parametrize("given", ["argument", "environment"])
def test_a_data_directory_the_user_gave_is_never_written(given, mirror, cache, tmp_path, monkeypatch):
    mine = tmp_path / "mine"
    mine.mkdir()
    monkeypatch.setenv(downloads.MIRROR_ENV, mirror.url)
    if given == "environment":
        monkeypatch.setenv(datasets.DATA_ENV, str(mine))
    with pytest.raises(MissingFileError, match=rf"run `bayescale datasets fetch loss-to-loss --data-dir {mine}` to download"):
        datasets.load_dataset("loss-to-loss", data_dir=mine if given == "argument" else None)
    assert _files(mine) == [] and mirror.requests == [] and not cache.exists()


def test_cli_lists_the_data_sets_and_fetches_one_or_all(mirror, cache):
    listed = runner.invoke(app, ["datasets"])
    assert listed.exit_code == 0 and f"data directory {cache}" in " ".join(listed.output.split())
    rows = _rows(listed.output)  # name -> files, size, cached, fetched from, folder
    assert list(rows) == datasets.list_datasets() and {row[2] for row in rows.values()} == {"no"}
    assert rows["multipower"][:2] == ["27", "0.17 MB"] and rows["porian"][3] == "mirror or by hand"
    assert rows["sldbench-moe"][4] == "sldbench/moe_scaling_law"

    fetched = runner.invoke(app, ["datasets", "fetch", "multipower", "--mirror", mirror.url])
    assert fetched.exit_code == 0 and f"multipower: downloaded 27 files, in {cache}" in fetched.stdout
    assert _rows(runner.invoke(app, ["datasets"]).output)["multipower"][2] == "yes"

    derived = runner.invoke(app, ["datasets", "fetch", "porian"])
    assert derived.exit_code == 2 and derived.stderr.startswith("error: data set 'porian': porian_resolving/isoflop_points.csv is built")
    for bad in (["datasets", "fetch"], ["datasets", "fetch", "porian", "--all"], ["datasets", "fetch", "chinchila"]):
        result = runner.invoke(app, bad)
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: "), bad

    for name in ("epoch-chinchilla", "loss-to-loss", "misfitting", "gemstones", "laion-clip"):  # every study fetchable from its source
        assert runner.invoke(app, ["datasets", "fetch", name, "--mirror", mirror.url]).exit_code == 0
    requests = len(mirror.requests)
    rest = runner.invoke(app, ["datasets", "fetch", "--all"])  # nothing left to download from a source; the derived are named
    assert rest.exit_code == 2 and len(mirror.requests) == requests and "epoch-chinchilla: all files already there" in rest.stdout
    assert rest.stderr.startswith("error: not fetched: gadre-overtraining, porian, clark-routing, sldbench-data-constrained, ")
    every = runner.invoke(app, ["datasets", "fetch", "--all", "--mirror", mirror.url])
    assert every.exit_code == 0 and "porian: downloaded 1 file, in" in every.stdout
    assert sorted(_files(cache)) == sorted(cache / file for file in downloads.manifest())


def test_the_manifest_matches_the_shared_data_and_the_script_rebuilds_it(shared_data):
    manifest = downloads.manifest()
    assert sorted(manifest) == sorted(f for name in datasets.list_datasets() for f in datasets._files(datasets._study(name)))
    for file, entry in manifest.items():
        assert (shared_data / file).stat().st_size == entry["size"] and downloads.sha256(shared_data / file) == entry["sha256"], file
    spec = importlib.util.spec_from_file_location("dataset_manifest", ROOT / "scripts" / "dataset_manifest.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.build(shared_data) == json.loads(downloads.MANIFEST.read_text())["files"]
    derived = sorted(file.split("/")[0] for file, entry in manifest.items() if entry["url"] is None)
    assert derived == ["clark_routing", "gadre_overtraining", "porian_resolving"] + ["sldbench"] * 5

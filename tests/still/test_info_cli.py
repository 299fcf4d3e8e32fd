"""``hdrkit info``: human and JSON output for stills, several files, bad files."""

import json

from PIL import Image

from hdrkit.cli import main

from ._uhdr import APPLE, MINNIE, PHOTOSHOP, TRUNCATED, variant


def _json(capsys, *files):
    rc = main(["info", "--json", *map(str, files)])
    out = capsys.readouterr()
    return rc, json.loads(out.out), out.err


def test_json_facts_match_independent_readers(capsys):
    rc, d, err = _json(capsys, MINNIE)
    assert rc == 0 and err == ""
    assert (d["primary"]["width"], d["primary"]["height"]) == Image.open(MINNIE).size
    mp = Image.open(MINNIE)._getmp()[0xB002]
    assert [(e["size"], e["offset"]) for e in d["mpf"]["entries"]] == [(e["Size"], e["DataOffset"]) for e in mp]
    assert d["mpf"]["byte_order"] == "big"
    assert d["gainmap"]["offset"] == MINNIE.read_bytes().find(b"\xff\xd9\xff\xd8") + 2
    assert d["gainmap"]["channels"] == 3 and d["metadata"]["source"] == "iso"
    assert d["metadata"]["hdr_capacity_log2"][1] == 5895489 / 1048576
    assert d["primary"]["gamut"] == "bt709" and d["warnings"] == []


def test_apple_size_warning_and_photoshop_source(capsys):
    rc, d, _ = _json(capsys, APPLE, PHOTOSHOP)
    assert rc == 0 and len(d) == 2
    apple, ps = d
    assert apple["metadata"]["source"] == "apple" and apple["primary"]["gamut"] == "p3"
    assert any("44891" in w and "44821" in w for w in apple["warnings"])
    assert ps["metadata"]["source"] == "xmp" and ps["hdrgm_xmp"]["forms"]["GainMapMax"] == "seq"


def test_truncated_file_is_described_with_its_problem(capsys):
    rc, d, _ = _json(capsys, TRUNCATED)
    assert rc == 0
    assert d["primary"]["truncated"] is True and "truncated" in d["problem"]
    assert d["mpf"]["byte_order"] == "little"
    assert [i["semantic"] for i in d["gcontainer"]] == ["Primary", "GainMap"]


def test_human_output(capsys):
    rc = main(["info", str(MINNIE)])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.splitlines()[0] == str(MINNIE)
    assert "type: gain-map JPEG (ISO 21496-1)" in out and "located_by: MPF entry 1" in out


def test_bad_file_gives_an_error_line_and_others_are_shown(tmp_path, capsys):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0\x00\x02" + b"\x00" * 10)
    missing = tmp_path / "missing.jpg"
    rc = main(["info", str(junk), str(MINNIE), str(missing)])
    out = capsys.readouterr()
    assert rc == 2
    assert str(MINNIE) in out.out and "gain-map JPEG" in out.out
    errs = out.err.strip().splitlines()
    assert len(errs) == 2 and errs[0].startswith(f"hdrkit: error: {junk}:") and str(missing) in errs[1]


def test_json_list_keeps_errors(tmp_path, capsys):
    txt = tmp_path / "notes.txt"
    txt.write_text("not an image\n")
    rc, d, err = _json(capsys, txt, MINNIE)
    assert rc == 2 and "error" in d[0] and d[1]["kind"] == "still"
    assert err.startswith(f"hdrkit: error: {txt}:")


def test_synthetic_gray_map_file(tmp_path, capsys):
    f = tmp_path / "gray.jpg"
    f.write_bytes(variant("asm_gray_nonint_scale_le"))
    rc, d, _ = _json(capsys, f)
    assert rc == 0 and d["gainmap"]["channels"] == 1 and d["mpf"]["byte_order"] == "little"
    assert (d["gainmap"]["width"], d["gainmap"]["height"]) == (128, 96)


def test_reader_closing_the_pipe_ends_quietly():
    """``hdrkit info FILE | head -1``: the reader leaves early; no traceback, exit 141 (SIGPIPE)."""
    import subprocess
    import sys

    files = [str(MINNIE)] * 200  # far more text than a pipe buffers, so the writer does hit the closed end
    p = subprocess.Popen([sys.executable, "-m", "hdrkit", "info", *files], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait() == 141 and "Traceback" not in err, err

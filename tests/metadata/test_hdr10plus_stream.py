"""HDR10+ in HEVC streams: extract / inject / remove / plot against x265, FFmpeg and
hdr10plus_tool's own test asset.

Clips: 64x64 10-bit x265 encodes of 10 frames with B-frames (display order differs from
decode order), HDR10+ from a JSON via ``dhdr10-info`` on every frame (dense) or only where
it changes (``dhdr10-opt``, sparse), as raw Annex B (one with two temporal layers), MP4 and
MKV with an AAC track, and stream copies of the MP4 into MPEG-TS (Annex B samples) and MOV.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
import re
import shutil
from pathlib import Path

import av
import pytest

from hdrkit.cli import main
from hdrkit.errors import ContainerError, MetadataError, OptionError
from hdrkit.io.ffmpeg import run_ffmpeg
from hdrkit.metadata.hdr10plus import Hdr10PlusFrame, Hdr10PlusMetadata, hdr10plus_t35, read_json, split_scenes
from hdrkit.metadata.hdr10plus_stream import (extract_hdr10plus, inject_hdr10plus, read_hdr10plus_stream,
                                              remove_hdr10plus)
from hdrkit.metadata.hevc import (PocTracker, escape_rbsp, group_access_units, is_vcl, iter_access_units,
                                  iter_annexb_file, join_annexb, nal_type, sei_messages, sei_nal, split_annexb,
                                  split_length_prefixed)
from hdrkit.metadata.sidedata import hvcc_length_size, parse_sei_rbsp, unescape_rbsp

ROOT = Path(__file__).resolve().parents[2]
SINGLE = ROOT / "samples" / "hdr10plus" / "single-frame.hevc"
SINGLE_JSON = ROOT / "samples" / "hdr10plus" / "single-frame-metadata.json"
N = 10
X265 = "log-level=error:bframes=3:b-adapt=0:keyint=6:min-keyint=6:scenecut=0"


def _source_json(n: int = N) -> dict:
    """Profile B metadata changing every third frame (four scenes)."""
    base = json.loads(SINGLE_JSON.read_text())
    e = base["SceneInfo"][0]
    scenes = []
    for i in range(n):
        d = copy.deepcopy(e)
        d["LuminanceParameters"]["MaxScl"] = [4000 + 100 * (i // 3), 3000 + i // 3, 2000]
        d["LuminanceParameters"]["AverageRGB"] = 300 + i // 3
        d["SceneFrameIndex"], d["SceneId"], d["SequenceFrameIndex"] = i % 3, i // 3, i
        scenes.append(d)
    base["SceneInfo"] = scenes
    base["SceneInfoSummary"] = {"SceneFirstFrameIndex": [0, 3, 6, 9], "SceneFrameNumbers": [3, 3, 3, 1]}
    return base


def _encode(dst: Path, js: Path, sparse: bool, audio: bool = False, extra: str = "") -> Path:
    args = ["-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=24"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", "-shortest"]
    args += ["-frames:v", str(N), "-pix_fmt", "yuv420p10le", "-c:v", "libx265", "-preset", "medium", "-x265-params",
             f"{X265}{extra}:dhdr10-info={js.name}:dhdr10-opt={int(sparse)}", dst.name]
    import subprocess

    from hdrkit.io.ffmpeg import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", *args], cwd=dst.parent, check=True,
                   capture_output=True)
    return dst


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("h10p")
    js = d / "meta.json"
    js.write_text(json.dumps(_source_json(), indent=2))
    out = {"json": js,
           "hevc": _encode(d / "dense.hevc", js, sparse=False),
           "sparse": _encode(d / "sparse.hevc", js, sparse=True),
           "layers": _encode(d / "layers.hevc", js, sparse=True, extra=":temporal-layers=2"),
           "mp4": _encode(d / "sparse.mp4", js, sparse=True, audio=True),
           "mkv": _encode(d / "dense.mkv", js, sparse=False, audio=True)}
    for kind in ("ts", "mov"):  # stream copies of the sparse MP4
        out[kind] = d / f"sparse.{kind}"
        run_ffmpeg(["-y", "-v", "error", "-i", str(out["mp4"]), "-map", "0", "-c", "copy", str(out[kind])])
    return out


def _sha(p: Path) -> str:
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def _access_units(path: Path) -> list[list[bytes]]:
    """NAL units per access unit, decode order, read independently of the code under test's
    grouping for containers (one packet = one access unit)."""
    data = Path(path).read_bytes()
    if data[:4] == b"\x00\x00\x00\x01" or data[:3] == b"\x00\x00\x01":
        return group_access_units(split_annexb(data))
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        ls, _ = hvcc_length_size(bytes(st.codec_context.extradata or b""))
        return [split_annexb(bytes(p)) if ls is None else split_length_prefixed(bytes(p), ls)
                for p in c.demux(st) if p.size]


def _vcl(path: Path) -> list[list[bytes]]:
    return [[n for n in au if is_vcl(n)] for au in _access_units(path)]


def _t35_count(path: Path) -> int:
    """HDR10+ SEI messages in the bitstream, counted by FFmpeg's trace_headers."""
    r = run_ffmpeg(["-v", "trace", "-i", str(path), "-map", "0:v", "-c", "copy", "-bsf:v", "trace_headers",
                    "-f", "null", "-"])
    return len(re.findall(rb"itu_t_t35_country_code\s", r.stderr))


def _ffmpeg_frames(path: Path) -> list[Hdr10PlusFrame | None]:
    """FFmpeg's own HDR10+ side data per decoded frame (display order)."""
    out = []
    with av.open(str(path)) as c:
        for fr in c.decode(video=0):
            sd = [s for s in fr.side_data if getattr(s.type, "name", str(s.type)) == "DYNAMIC_HDR_PLUS"]
            out.append(Hdr10PlusFrame.from_side_data(bytes(sd[0])) if sd else None)
    return out


def _decodes_cleanly(path: Path) -> None:
    """FFmpeg decodes it without a message, and its coded bitstream reader (the
    hevc_metadata filter parses every NAL unit and SEI message) rewrites it without one."""
    r = run_ffmpeg(["-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"])
    assert r.stderr.strip() == b""
    r = run_ffmpeg(["-v", "error", "-i", str(path), "-map", "0:v", "-c", "copy", "-bsf:v", "hevc_metadata",
                    "-f", "null", "-"])
    assert r.stderr.strip() == b""


def _signals(frames) -> list[dict]:
    return [f.signal() for f in frames]


# ================================================================== real asset
def test_single_frame_asset_extracts_as_hdr10plus_tool_wrote_it(tmp_path):
    out = tmp_path / "x.json"
    assert main(["hdr10plus", "extract", str(SINGLE), "-o", str(out)]) == 0
    got, want = json.loads(out.read_text()), json.loads(SINGLE_JSON.read_text())
    assert got["ToolInfo"]["Tool"] == "hdrkit"
    got["ToolInfo"] = want["ToolInfo"]
    assert got == want
    # same key order and layout as hdr10plus_tool's writer
    assert json.dumps(got, indent=2) == json.dumps(want, indent=2)


def test_t35_payload_writer_is_byte_exact_on_the_asset():
    au = group_access_units(split_annexb(SINGLE.read_bytes()))[0]
    payload = next(pl for n in au if nal_type(n) == 39 for pt, pl in sei_messages(n) if pt == 4)
    frame = read_json(SINGLE_JSON).frames[0]
    assert hdr10plus_t35(frame) == payload


# ==================================================================== extract
@pytest.mark.parametrize("kind", ["hevc", "sparse", "layers", "mp4", "mkv", "ts", "mov"])
def test_extract_is_x265_input_in_display_order(clips, kind):
    src = read_json(clips["json"])
    md = extract_hdr10plus(clips[kind])
    assert _signals(md.frames) == _signals(src.frames)
    d = md.to_json_dict()
    assert d["SceneInfoSummary"] == {"SceneFirstFrameIndex": [0, 3, 6, 9], "SceneFrameNumbers": [3, 3, 3, 1]}
    assert [(f["SceneId"], f["SceneFrameIndex"], f["SequenceFrameIndex"]) for f in d["SceneInfo"]] == \
        [(i // 3, i % 3, i) for i in range(N)]
    assert d["ToolInfo"]["Tool"] == "hdrkit" and d["JSONInfo"] == {"HDR10plusProfile": "B", "Version": "1.0"}


def test_temporal_layers_clip_has_pictures_above_layer_0(clips):
    assert {v[0][1] & 7 for v in _vcl(clips["layers"])} == {1, 2}


def test_sparse_stream_really_is_sparse_and_every_frame_is_filled(clips):
    s = read_hdr10plus_stream(clips["sparse"])
    assert _t35_count(clips["sparse"]) == s.with_sei < N
    assert len(s.frames) == N
    assert _t35_count(clips["hevc"]) == N


@pytest.mark.parametrize("kind", ["sparse", "mp4"])
def test_extract_agrees_with_ffmpeg_side_data(clips, kind):
    """The independent reader: FFmpeg's decoder (it also carries an SEI forward in decode order)."""
    ff = _ffmpeg_frames(clips[kind])
    assert None not in ff
    assert _signals(extract_hdr10plus(clips[kind]).frames) == _signals(ff)


def test_raw_display_order_from_poc_equals_container_pts(clips):
    aus = _access_units(clips["mp4"])
    with av.open(str(clips["mp4"])) as c:
        pts = [p.pts for p in c.demux(video=0) if p.size]
        ls, hdr = hvcc_length_size(bytes(c.streams.video[0].codec_context.extradata))
    trk = PocTracker()
    for n in hdr:
        trk.nal(n)
    keys = [next(k for k in map(trk.nal, au) if k is not None) for au in aus]
    by_poc = sorted(range(len(aus)), key=lambda i: keys[i])
    by_pts = sorted(range(len(aus)), key=lambda i: pts[i])
    assert by_poc == by_pts and by_poc != list(range(len(aus)))  # B-frames: reordered


def test_scene_split_follows_hdr10plus_tool():
    md = read_json(SINGLE_JSON)
    f = md.frames[0]
    a = dataclasses.replace(f, bezier=None, target_nits=0)
    other_curve = dataclasses.replace(f, bezier=dataclasses.replace(f.bezier, knee_x=100))
    # all profile B: a curve change is a cut
    assert [x.scene_id for x in split_scenes([f, f, other_curve, other_curve])] == [0, 0, 1, 1]
    # mixed profiles (N/A clip): curves are not compared, luminance and target are
    assert [x.scene_id for x in split_scenes([f, other_curve, a, a])] == [0, 0, 1, 1]


# ============================================================ invalid metadata
def _invalid_md() -> Hdr10PlusMetadata:
    f = read_json(SINGLE_JSON).frames[0]
    bad = dataclasses.replace(f, target_nits=0)  # profile B curve with a zero target: hdr10plus_tool refuses it
    return Hdr10PlusMetadata(frames=[dataclasses.replace(bad, maxscl=(100 + i, 0, 0)) for i in range(N)])


def test_invalid_metadata_extracts_with_a_warning_and_strict_refuses(clips, tmp_path, caplog, capsys):
    out = tmp_path / "bad.hevc"
    inject_hdr10plus(clips["hevc"], _invalid_md(), out)
    with caplog.at_level(logging.WARNING, logger="hdrkit.metadata"):
        md = extract_hdr10plus(out)
    assert "fails validation" in caplog.text
    assert [f.maxscl[0] for f in md.frames] == [100 + i for i in range(N)]
    assert all(f.target_nits == 0 and f.bezier is not None for f in md.frames)
    with pytest.raises(MetadataError, match="fails validation"):
        extract_hdr10plus(out, strict=True)
    js = tmp_path / "bad.json"
    assert main(["hdr10plus", "extract", str(out), "-o", str(js)]) == 0
    assert json.loads(js.read_text())["JSONInfo"]["HDR10plusProfile"] == "N/A"
    assert main(["hdr10plus", "extract", str(out), "-o", str(tmp_path / "s.json"), "--strict"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "fails validation" in err
    assert not (tmp_path / "s.json").exists()


# ===================================================================== inject
def _new_md(n: int = N) -> Hdr10PlusMetadata:
    """Per-frame distinct values, including zeros that need emulation prevention."""
    f = read_json(SINGLE_JSON).frames[0]
    frames = [dataclasses.replace(f, maxscl=(5000 + 7 * i, 0, 0), average_maxrgb=i,
                                  distribution_values=(0, 0, 0, 0, 1, 2, 3, 4, 5 + i)) for i in range(n)]
    return Hdr10PlusMetadata(frames=split_scenes(frames))


@pytest.mark.parametrize("kind", ["sparse", "layers", "mp4", "mkv", "ts", "mov"])
def test_inject_round_trip_keeps_slices_and_container(clips, kind, tmp_path):
    src = clips[kind]
    before = _sha(src)
    out = tmp_path / ("out" + src.suffix)
    md = _new_md()
    js = tmp_path / "new.json"
    md.write_json(js)
    assert main(["hdr10plus", "inject", str(src), "--json", str(js), "-o", str(out)]) == 0
    assert _sha(src) == before
    assert _vcl(out) == _vcl(src)  # slice data byte for byte, in the same decode order
    assert _t35_count(out) == N  # one HDR10+ SEI per access unit
    hdr10plus_seis = [[n for n in au if nal_type(n) == 39 and any(pt == 4 for pt, _ in sei_messages(n))]
                      for au in _access_units(out)]
    assert [len(x) for x in hdr10plus_seis] == [1] * N
    # each SEI has the TemporalId (and layer) of its access unit's slices
    assert [x[0][1] for x in hdr10plus_seis] == [v[0][1] for v in _vcl(out)]
    _decodes_cleanly(out)
    assert _signals(extract_hdr10plus(out).frames) == _signals(md.frames)
    assert _signals(_ffmpeg_frames(out)) == _signals(md.frames)
    back = tmp_path / "back.json"
    assert main(["hdr10plus", "extract", str(out), "-o", str(back)]) == 0
    got, want = json.loads(back.read_text()), json.loads(js.read_text())
    assert got["SceneInfo"] == want["SceneInfo"] and got["SceneInfoSummary"] == want["SceneInfoSummary"]
    if kind != "sparse":
        _same_container(src, out)


def _same_container(a: Path, b: Path) -> None:
    """Same packet timestamps, key flags and non-video bytes as ``a``; same presented video
    frames and decoded audio; stream start and duration as FFmpeg's own ``-c copy`` of ``a``
    writes them (a remux recomputes an edit list's duration). Packet durations are compared
    for video only: a Matroska audio track copied by PyAV has no DefaultDuration, so its
    first (priming) packet reads back with duration 0; the decoded audio is identical."""
    ref = b.with_name("ffcopy" + b.suffix)
    run_ffmpeg(["-y", "-v", "error", "-i", str(a), "-map", "0", "-c", "copy", str(ref)])

    def streams(p):  # MPEG-TS stores no duration: FFmpeg estimates it from the file's last packets
        with av.open(str(p)) as c:
            return [(s.type, s.time_base, s.start_time, None if p.suffix == ".ts" else s.duration) for s in c.streams]

    assert streams(b) == streams(ref)

    def packets(p):
        with av.open(str(p)) as c:
            pk = {}
            for q in c.demux():
                if q.size:
                    video = q.stream.type == "video"
                    pk.setdefault(q.stream.index, []).append(
                        (q.pts, q.dts, bool(q.is_keyframe), q.duration if video else bytes(q)))
            return pk

    assert packets(a) == packets(b)

    def presented(p):
        with av.open(str(p)) as c:
            video = [(f.pts, f.time) for f in c.decode(video=0)]
        with av.open(str(p)) as c:
            audio = [(f.pts, f.samples) for f in c.decode(audio=0)] if c.streams.audio else []
        return video, audio

    assert presented(a) == presented(b)


def test_inject_into_an_edit_list_cut_keeps_the_presented_timeline(clips, tmp_path):
    cut = tmp_path / "cut.mp4"
    run_ffmpeg(["-y", "-v", "error", "-ss", "0.1", "-i", str(clips["mp4"]), "-c", "copy", str(cut)])
    n = len(_access_units(cut))
    out = tmp_path / "cut_out.mp4"
    inject_hdr10plus(cut, _new_md(n), out)
    _same_container(cut, out)
    _decodes_cleanly(out)


def test_inject_frame_count_mismatch_is_refused_and_writes_nothing(clips, tmp_path, capsys):
    out = tmp_path / "x.mkv"
    js = tmp_path / "short.json"
    _new_md(N - 1).write_json(js)
    assert main(["hdr10plus", "inject", str(clips["mkv"]), "--json", str(js), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "9 frame(s)" in err and "has 10" in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".x.mkv*"))


def test_output_kind_and_overwrite_rules(clips, tmp_path):
    with pytest.raises(OptionError):
        remove_hdr10plus(clips["hevc"], tmp_path / "x.mp4")
    with pytest.raises(OptionError):
        remove_hdr10plus(clips["mkv"], tmp_path / "x.hevc")
    copy_ = tmp_path / "c.hevc"
    shutil.copy(clips["hevc"], copy_)
    with pytest.raises(Exception, match="overwrite the input"):
        remove_hdr10plus(copy_, copy_)


# ===================================================================== remove
@pytest.mark.parametrize("kind", ["hevc", "mkv"])
def test_remove_drops_hdr10plus_only(clips, kind, tmp_path):
    src = clips[kind]
    out = tmp_path / ("r" + src.suffix)
    assert main(["hdr10plus", "remove", str(src), "-o", str(out)]) == 0
    assert _t35_count(out) == 0
    assert _vcl(out) == _vcl(src)
    _decodes_cleanly(out)
    assert _ffmpeg_frames(out) == [None] * N

    def others(p):
        return [[(pt, pl) for n in au if nal_type(n) in (39, 40) for pt, pl in sei_messages(n) if pt != 4]
                for au in _access_units(p)]

    assert others(out) == others(src) and any(others(src))  # x265's other SEIs (e.g. its settings) stay
    with pytest.raises(MetadataError, match="no HDR10"):
        extract_hdr10plus(out)


def test_remove_keeps_other_messages_of_a_shared_sei_nal(clips, tmp_path):
    """An SEI NAL unit holding HDR10+ and a user_data_unregistered message keeps the latter."""
    aus = group_access_units(split_annexb(clips["hevc"].read_bytes()))
    unreg = bytes(range(16)) + b"\x00\x00\x01 hdrkit test"  # needs emulation prevention
    merged = []
    for au in aus:
        new = []
        for n in au:
            if nal_type(n) == 39 and any(pt == 4 for pt, _ in sei_messages(n)):
                n = sei_nal(sei_messages(n) + [(5, unreg)], header_byte1=n[1])
            new.append(n)
        merged.append(new)
    src = tmp_path / "merged.hevc"
    src.write_bytes(b"".join(join_annexb(au) for au in merged))
    _decodes_cleanly(src)
    out = tmp_path / "merged_r.hevc"
    res = remove_hdr10plus(src, out)
    assert res.removed == N
    msgs = [[m for n in au if nal_type(n) == 39 for m in sei_messages(n)] for au in _access_units(out)]
    assert all((5, unreg) in m and all(pt != 4 for pt, _ in m) for m in msgs)
    _decodes_cleanly(out)


# ================================================================= bitstream
@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 4096])
def test_chunked_annexb_reader_matches_whole_file_split(clips, chunk):
    """Start codes cut by a chunk boundary (3- and 4-byte ones) are found all the same."""
    import io

    data = clips["layers"].read_bytes()
    whole = group_access_units(split_annexb(data))
    assert list(iter_access_units(iter_annexb_file(io.BytesIO(data), chunk))) == whole
    assert len(whole) == N


def test_emulation_prevention_and_sei_size_coding():
    rbsp = bytes([0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 4, 0, 0])
    esc = escape_rbsp(rbsp)
    assert not re.search(rb"\x00\x00[\x00-\x02]", esc)
    assert esc.endswith(b"\x03") and unescape_rbsp(esc) == rbsp
    big = bytes(600)
    nal = sei_nal([(4, big), (300, b"\x01")])
    assert parse_sei_rbsp(unescape_rbsp(nal[2:])) == [(4, big), (300, b"\x01")]
    # payloadSize 600 = ff ff 5a, payloadType 300 = ff 2d (H.265 7.3.5)
    assert unescape_rbsp(nal[2:])[:4] == b"\x04\xff\xff\x5a"


@pytest.mark.parametrize("data, exc", [
    (b"not a video at all", ContainerError),
    (b"\x00\x00\x00\x01\x40\x01\x0c", ContainerError),  # a VPS and nothing else
])
def test_malformed_inputs_raise_one_named_error(tmp_path, data, exc, capsys):
    p = tmp_path / "bad.hevc"
    p.write_bytes(data)
    with pytest.raises(exc):
        extract_hdr10plus(p)
    assert main(["hdr10plus", "extract", str(p), "-o", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_truncated_hdr10plus_payload_and_overrunning_sei(clips, tmp_path):
    aus = group_access_units(split_annexb(clips["hevc"].read_bytes()))

    def rewrite(fn) -> Path:
        out = []
        for au in aus:
            out.append(join_annexb([fn(n) if nal_type(n) == 39 and any(pt == 4 for pt, _ in sei_messages(n)) else n
                                    for n in au]))
        p = tmp_path / f"t{len(list(tmp_path.iterdir()))}.hevc"
        p.write_bytes(b"".join(out))
        return p

    short = rewrite(lambda n: sei_nal([(4, sei_messages(n)[0][1][:12])], header_byte1=n[1]))
    with pytest.raises(MetadataError, match="truncated"):
        extract_hdr10plus(short)
    overrun = rewrite(lambda n: n[:2] + escape_rbsp(b"\x04\xff\x10" + bytes(5) + b"\x80"))
    with pytest.raises(ContainerError, match="SEI"):
        extract_hdr10plus(overrun)


# ======================================================================= plot
def test_plot_from_video_and_from_json(clips, tmp_path):
    for src in (clips["mp4"], clips["json"]):
        out = tmp_path / (src.stem + ".png")
        assert main(["hdr10plus", "plot", str(src), "-o", str(out)]) == 0
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

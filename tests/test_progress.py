"""Progress reporting of library jobs: silent, a terminal bar, or a caller's callback."""

import pytest

from hdrkit.io.progress import reporter, track


def test_callback_sees_every_unit_and_the_total():
    seen = []
    assert list(track(range(3), lambda done, total: seen.append((done, total)), total=3, desc="t")) == [0, 1, 2]
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_silent_and_terminal_bar_run_the_job_unchanged():
    assert list(track("ab", False, total=None, desc="t")) == ["a", "b"]
    assert list(track("ab", True, total=2, desc="t")) == ["a", "b"]  # stderr is not a terminal here: no output
    r = reporter(None, total=None, desc="t")
    r.update(5)
    assert r.done == 5


def test_a_silent_bar_over_an_iterable_is_the_iterable(capsys):
    from hdrkit.io.progress import terminal_bar

    items = [1, 2]
    assert terminal_bar(items, disable=True) is items
    assert terminal_bar(items, disable=False) is items  # stderr is not a terminal here
    bar = terminal_bar(total=2, disable=True)  # a bar the caller drives stays a (silent) bar
    bar.update(2)
    bar.close()
    assert capsys.readouterr().err == ""


def test_anything_else_is_refused():
    with pytest.raises(TypeError):
        reporter("yes", total=1, desc="t")


def test_analysis_reports_through_a_callback(tmp_path):
    from hdrkit.video.analysis import analyze
    from hdrkit.regress.goldens import load_set

    clip = next(c.path for c in load_set("ci", include_real=False).cases if c.kind == "clip")
    seen = []
    a = analyze(clip, progress=lambda done, total: seen.append(done))
    assert seen == list(range(1, len(a.frames) + 1))

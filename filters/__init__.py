"""FFmpeg filter assets baked from hdrkit's colour core (never edited by hand).

``build_lut.py`` writes .cube 3D LUTs for FFmpeg's ``lut3d`` filter: HDR signal in (PQ or
HLG R'G'B', BT.2020), BT.709 BT.1886-encoded R'G'B' out, sampled from
:func:`hdrkit.core.pipeline.render_linear` through :func:`hdrkit.video.lut3d.bake_lut`.
"""

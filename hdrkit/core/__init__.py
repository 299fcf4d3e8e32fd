"""The linear-light colour core: numpy only, no I/O; stills and video both call it.

Linear values are relative: 1.0 = HDR reference white = SDR white = 203 cd/m^2 (BT.2408).
"""

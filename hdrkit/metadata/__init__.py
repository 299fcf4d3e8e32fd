"""HDR video metadata: HDR10 static (ST 2086 mastering display, CTA-861.3 light levels),
HDR10+ dynamic (ST 2094-40), Dolby Vision detection, and the raw side-data parsers.

- :mod:`.st2086` - :class:`MasteringDisplay`, presets, x265 / FFmpeg strings, sanitising;
- :mod:`.cll` - :class:`ContentLightLevel`, :func:`measure_cll`;
- :mod:`.hdr10plus` - :class:`Hdr10PlusMetadata`, JSON read / write / validate, generation;
- the ST 2094-40 knee + Bezier tone curve (libplacebo maths) lives in :mod:`hdrkit.core.st2094`;
- :mod:`.dovi` - Dolby Vision configuration and policy;
- :mod:`.sidedata` - FFmpeg structs, HEVC SEI scanning, MP4 boxes, per-frame HDR10+;
- :mod:`.carry` - the notice and record of dynamic metadata an output does not carry.

``hdrkit analyze --hdr10 / --hdr10plus`` (options and printing) is :mod:`hdrkit.commands.hdr10_outputs`.
"""

from .cll import ContentLightLevel, measure_cll, parse_max_cll
from .hdr10plus import Hdr10PlusFrame, Hdr10PlusMetadata, read_json, validate_json
from .st2086 import MDCV_PRESETS, MasteringDisplay, parse_master_display, sanitize

__all__ = ["MasteringDisplay", "MDCV_PRESETS", "parse_master_display", "sanitize", "ContentLightLevel", "measure_cll",
           "parse_max_cll", "Hdr10PlusFrame", "Hdr10PlusMetadata", "read_json", "validate_json"]

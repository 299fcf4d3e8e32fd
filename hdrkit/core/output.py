"""The SDR output signal every hdrkit render produces: its gamut and its transfer encoders.

Shared by :mod:`hdrkit.core.pipeline` (numpy reference) and :mod:`hdrkit.core.kernels`
(compiled path), so both encode with the same functions.

References
----------
- ITU-R BT.709-6 (output primaries); IEC 61966-2-1 (sRGB); ITU-R BT.1886 (reference EOTF).
"""

from __future__ import annotations

from .transfer import eotf_inverse_bt1886, eotf_inverse_srgb

__all__ = ["OUTPUT_PRIMARIES", "TRANSFER_ENCODERS"]

#: SDR output gamut of every hdrkit render.
OUTPUT_PRIMARIES = "bt709"

#: Display-linear [0, 1] -> encoded signal, by name.
TRANSFER_ENCODERS = {
    "srgb": eotf_inverse_srgb,  # IEC 61966-2-1: JPEG stills, tagged with an sRGB ICC
    "bt1886": eotf_inverse_bt1886,  # BT.1886 (L_B = 0, pure 2.4): BT.709-tagged video
}

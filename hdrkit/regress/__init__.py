"""Export-consistency regression: golden set, parameter packs, metrics against thresholds and a
baseline, and the report. The command is ``hdrkit regress`` (:mod:`hdrkit.commands.regress`).

- :mod:`.goldens`: the golden sets and their ROI masks;
- :mod:`.packs`: versioned parameter packs (``hdrkit/data/packs``);
- :mod:`.runner`: export, measure, judge (:func:`~.runner.run`);
- :mod:`.report`: JSON, heatmaps, curve plots, ``index.html``, repro bundles.
"""

from .goldens import GoldenCase, GoldenSet, load_rois, load_set
from .packs import CURRENT_PACK, ParameterPack, list_packs, load_pack
from .runner import CaseResult, RegressResult, Thresholds, judge, load_baseline, load_thresholds, measure_still, run

__all__ = ["GoldenCase", "GoldenSet", "load_set", "load_rois", "ParameterPack", "CURRENT_PACK", "list_packs",
           "load_pack", "CaseResult", "RegressResult", "Thresholds", "load_thresholds", "load_baseline", "judge",
           "measure_still", "run"]

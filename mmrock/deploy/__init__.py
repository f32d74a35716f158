"""mmdeploy support for mmrock's models (needs mmdeploy: ``requirements/deploy.txt``).

Imported by mmrock's deploy configs (``custom_imports = dict(imports=['mmrock.deploy'])``),
never by ``import mmrock``: it registers, in mmdeploy's function-rewriter registry, the rewrite
that exports a :class:`~mmrock.models.detectors.ROCKDetector` (mmdeploy rewrites
``SingleStageDetector.forward`` and ``TwoStageDetector.forward``; ``ROCKDetector`` is neither).
"""
from .nms_pre import nms_pre_problem
from .rock_detector import rock_detector__forward

__all__ = ['nms_pre_problem', 'rock_detector__forward']

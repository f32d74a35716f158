"""Speed and memory benchmarks of mmrock's detectors and data pipeline.

- :mod:`.model_bench`: training / inference throughput and peak memory of configs, interleaved;
- :mod:`.complexity`: parameters and multiply-adds, ROCK block against the backbone;
- :mod:`.pipeline_bench`: the data pipeline alone, per worker process, per transform;
- :mod:`.sync_check`: host-device synchronisation points of a loss, found on CPU;
- :mod:`.report`: overheads against the SSD baseline, JSON and markdown.

Command-line front ends: ``tools/analysis_tools/benchmark.py`` and ``benchmark_pipeline.py``.
"""
from .complexity import model_complexity
from .model_bench import BenchSettings, run_model_benchmark
from .report import build_report, to_markdown, write_json

__all__ = [
    'BenchSettings', 'build_report', 'model_complexity', 'run_model_benchmark', 'to_markdown',
    'write_json'
]

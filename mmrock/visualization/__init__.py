"""Figure-1 style visualisations of ROCK's outputs (matplotlib, Agg). Not imported by
``import mmrock`` (matplotlib stays out of training); import ``mmrock.visualization``."""
from .figure1 import figure1, normals_to_rgb, save_figure1, save_sample_figure1
from .outputs import (capture_task_maps, dense_prediction, inference_pipeline,
                      predict_with_scene_maps, to_original)

__all__ = ['figure1', 'save_figure1', 'save_sample_figure1', 'normals_to_rgb',
           'capture_task_maps', 'dense_prediction', 'inference_pipeline',
           'predict_with_scene_maps', 'to_original']

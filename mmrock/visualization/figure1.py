"""Figure 1 of the ROCK supplementary, one grid per image: (a) the image, (b) the detection
baseline's boxes, (c) ROCK's boxes, (d) the heat-map of the ground-truth scene class (its task
map just before global average pooling), (e) the depth prediction, (f) the surface normals
prediction (RGB = (n + 1) / 2). Drawn with matplotlib's object API on an Agg canvas (no pyplot,
no display, no global backend change)."""
import math
from typing import List, Optional, Sequence, Tuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

NUM_COLUMNS = 3
PANEL_WIDTH_IN = 4.0
DPI = 100


def _class_colour(label: int, num_classes: int) -> Tuple[float, ...]:
    from matplotlib import colormaps
    cmap = colormaps['tab20']
    return cmap(label % cmap.N) if num_classes <= cmap.N else colormaps['hsv'](label / num_classes)


def _draw_detections(ax, sample, class_names: Sequence[str], score_thr: float) -> int:
    """Boxes with 'class score' tags of ``sample.pred_instances`` above ``score_thr``; returns
    how many were drawn."""
    inst = sample.pred_instances
    keep = inst.scores >= score_thr
    bboxes = inst.bboxes[keep].detach().cpu().numpy()
    labels = inst.labels[keep].detach().cpu().numpy()
    scores = inst.scores[keep].detach().cpu().numpy()
    for (x1, y1, x2, y2), label, score in zip(bboxes, labels, scores):
        colour = _class_colour(int(label), len(class_names))
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=colour,
                               linewidth=1.5))
        name = class_names[label] if label < len(class_names) else str(label)
        ax.text(x1, y1, f'{name} {score:.2f}', fontsize=6, color='white', va='bottom',
                bbox=dict(facecolor=colour, alpha=0.8, pad=0.5, edgecolor='none'))
    return len(bboxes)


def normals_to_rgb(normals: np.ndarray) -> np.ndarray:
    """(3, H, W) normals -> (H, W, 3) RGB in [0, 1]: (n / |n| + 1) / 2 (zero vectors: grey)."""
    norm = np.linalg.norm(normals, axis=0, keepdims=True)
    unit = np.where(norm > 1e-6, normals / np.maximum(norm, 1e-6), 0.)
    return np.clip((unit.transpose(1, 2, 0) + 1.) / 2., 0., 1.)


def figure1(image: np.ndarray,
            rock,
            class_names: Sequence[str],
            scene_classes: Sequence[str],
            scene_maps: Optional[np.ndarray] = None,
            scene_label: Optional[int] = None,
            baseline=None,
            depth: Optional[np.ndarray] = None,
            normals: Optional[np.ndarray] = None,
            score_thr: float = 0.3,
            title: Optional[str] = None) -> Tuple[Figure, List[str]]:
    """Draw the Figure-1 grid of one image.

    Args:
        image: (H, W, 3) uint8 RGB, the original image.
        rock: the ROCK model's output ``DetDataSample`` (``pred_instances`` on the original image;
            ``pred_scene_scores`` when it has a scene task).
        class_names, scene_classes: detection and scene class names.
        scene_maps: (S, H, W) scene task maps on the original image (see
            :func:`mmrock.visualization.predict_with_scene_maps`); no scene panel without them.
        scene_label: the class whose map is shown: the ground truth. None: the top predicted
            scene (for images without labels).
        baseline: the baseline detector's ``DetDataSample``; no baseline panel without it.
        depth: (1, H, W) predicted depth in metres; normals: (3, H, W) predicted normals; a
            panel each when given.
        score_thr: detections below it are not drawn.
        title: the figure's title (e.g. the image name).

    Returns:
        (figure, the panels' titles in order). The figure is bound to an Agg canvas:
        ``figure.savefig(path)`` writes it.
    """
    h, w = image.shape[:2]
    scores = rock.get('pred_scene_scores')
    scores = None if scores is None else scores.detach().float().cpu().numpy()
    panels = [('Image', 'image', None)]
    if baseline is not None:
        panels.append(('Baseline detections', 'boxes', baseline))
    panels.append(('ROCK detections', 'boxes', rock))
    if scene_maps is not None:
        if scene_label is None and scores is not None:
            shown = int(scores.argmax())
            scene_title = f'Scene heat-map: {scene_classes[shown]} (predicted, ' \
                          f'p={scores[shown]:.2f})'
        else:
            shown = int(scene_label if scene_label is not None else 0)
            scene_title = f'Scene heat-map: {scene_classes[shown]} (ground truth)'
            if scores is not None:
                top = int(scores.argmax())
                scene_title += f'\npredicted: {scene_classes[top]} (p={scores[top]:.2f})'
        panels.append((scene_title, 'scene', scene_maps[shown]))
    if depth is not None:
        panels.append(('Depth prediction', 'depth', depth[0]))
    if normals is not None:
        panels.append(('Surface normals prediction', 'normals', normals))

    rows = math.ceil(len(panels) / NUM_COLUMNS)
    cols = min(len(panels), NUM_COLUMNS)
    panel_h = PANEL_WIDTH_IN * h / w + 0.6
    fig = Figure(figsize=(PANEL_WIDTH_IN * cols * 1.15, panel_h * rows + (0.4 if title else 0)),
                 dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    titles = []
    for ax, (panel_title, kind, payload) in zip(axes, panels):
        ax.set_axis_off()
        if kind == 'image':
            ax.imshow(image)
        elif kind == 'boxes':
            ax.imshow(image)
            n = _draw_detections(ax, payload, class_names, score_thr)
            panel_title = f'{panel_title} ({n} with score >= {score_thr:g})'
        elif kind == 'scene':
            ax.imshow(image.mean(axis=2), cmap='gray', vmin=0, vmax=255)
            im = ax.imshow(payload, cmap='jet', alpha=0.55,
                           norm=Normalize(float(payload.min()), float(payload.max())))
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02).set_label('scene map (logit)',
                                                                        fontsize=7)
        elif kind == 'depth':
            im = ax.imshow(payload, cmap='viridis')
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02).set_label('depth (m)', fontsize=7)
        elif kind == 'normals':
            ax.imshow(normals_to_rgb(payload))
        ax.set_title(panel_title, fontsize=9)
        titles.append(panel_title)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig, titles


def save_figure1(path: str, *args, **kwargs) -> List[str]:
    """:func:`figure1` written to ``path`` (PNG); returns the panels' titles."""
    fig, titles = figure1(*args, **kwargs)
    fig.savefig(path, dpi=DPI)
    return titles


def save_sample_figure1(path: str, image: np.ndarray, sample, scene_maps: Optional[np.ndarray],
                        class_names: Sequence[str], scene_classes: Sequence[str],
                        baseline=None, use_gt_scene: bool = True, score_thr: float = 0.3,
                        title: Optional[str] = None) -> List[str]:
    """:func:`save_figure1` for a ROCK output sample: its depth / normals predictions brought to
    the original image, the heat-map of its ``gt_scene_label`` when ``use_gt_scene`` and the
    sample has one (else of the top predicted scene). Returns the panels' titles."""
    from .outputs import dense_prediction
    scene_label = sample.get('gt_scene_label') if use_gt_scene else None
    return save_figure1(
        path, image, sample, class_names, scene_classes, scene_maps=scene_maps,
        scene_label=None if scene_label is None else int(scene_label), baseline=baseline,
        depth=dense_prediction(sample, 'pred_depth'),
        normals=dense_prediction(sample, 'pred_normals'), score_thr=score_thr, title=title)

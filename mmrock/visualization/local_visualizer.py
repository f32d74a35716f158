"""mmdet's detection visualiser plus ROCK's auxiliary outputs: depth, surface normals and scene,
for the ground truth and the prediction, drawn beside the boxes.

Used wherever mmdet draws a data sample through the config's ``visualizer``: the visualisation
hook (``tools/test.py --show / --show-dir``, validation images sent to TensorBoard / W&B),
``DetInferencer`` and ``browse_dataset``. The panels are drawn with OpenCV and the boxes with
mmdet's own code, so registering the class at ``import mmrock`` adds no dependency.
"""
from typing import List, Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np
from mmdet.registry import VISUALIZERS
from mmdet.structures import DetDataSample
from mmdet.visualization import DetLocalVisualizer
from mmengine.dist import master_only

# (title, (H, W, 3) uint8 RGB panel or None for an empty cell)
Panel = Tuple[str, Optional[np.ndarray]]
# The columns of the grid, in order; a column is kept when some row has a panel in it.
COLUMNS = ('boxes', 'scene', 'depth', 'normals')
AUX_FIELDS = ('pred_depth', 'pred_normals', 'pred_scene_scores', 'pred_scene_map', 'gt_depth',
              'gt_normals', 'gt_scene_label')
TITLE_FONT = cv2.FONT_HERSHEY_SIMPLEX
WHITE = 255


def as_float_array(value) -> np.ndarray:
    """A tensor / array / :obj:`PixelData` (its ``data``) as a float32 numpy array."""
    value = getattr(value, 'data', value)
    if hasattr(value, 'detach'):
        value = value.detach().float().cpu().numpy()
    return np.asarray(value, dtype=np.float32)


def resize_maps(maps: np.ndarray, hw: Tuple[int, int], nearest: bool = False) -> np.ndarray:
    """(C, h, w) maps -> (C, H, W): bilinear, or nearest (ground truth, where 0 means invalid
    and must not be blended into its neighbours)."""
    if tuple(maps.shape[1:]) == tuple(hw):
        return maps
    mode = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return np.stack([cv2.resize(m, (hw[1], hw[0]), interpolation=mode) for m in maps])


def depth_range(*depths: Optional[np.ndarray]) -> Tuple[float, float]:
    """(min, max) over the valid (finite, > 0) pixels of the given depth maps; a shared range
    makes the ground-truth and predicted depth panels comparable. (0, 1) when none is valid."""
    valid = [d[np.isfinite(d) & (d > 0)] for d in depths if d is not None]
    valid = np.concatenate([v.ravel() for v in valid]) if valid else np.zeros(0)
    if valid.size == 0:
        return 0., 1.
    return float(valid.min()), float(valid.max())


def depth_to_rgb(depth: np.ndarray, vrange: Tuple[float, float]) -> np.ndarray:
    """(H, W) metres -> (H, W, 3) uint8 RGB, viridis over ``vrange``; invalid pixels black."""
    lo, hi = vrange
    valid = np.isfinite(depth) & (depth > 0)
    scaled = np.clip((np.nan_to_num(depth) - lo) / max(hi - lo, 1e-6), 0., 1.)
    rgb = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)[..., ::-1]
    return np.where(valid[..., None], rgb, 0).astype(np.uint8)


def normals_to_rgb(normals: np.ndarray) -> np.ndarray:
    """(3, H, W) normals -> (H, W, 3) uint8 RGB = 255 (n / |n| + 1) / 2; zero vectors (invalid
    ground truth) black."""
    norm = np.linalg.norm(normals, axis=0, keepdims=True)
    unit = normals / np.maximum(norm, 1e-6)
    rgb = np.clip((unit.transpose(1, 2, 0) + 1.) / 2. * 255. + 0.5, 0, 255).astype(np.uint8)
    return np.where((norm[0] > 1e-6)[..., None], rgb, 0).astype(np.uint8)


def heatmap_on_image(image: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """(H, W) map over the grey (H, W, 3) image: jet colours scaled to the map's own range."""
    lo, hi = float(heatmap.min()), float(heatmap.max())
    scaled = ((heatmap - lo) / max(hi - lo, 1e-6) * 255).astype(np.uint8)
    jet = cv2.applyColorMap(scaled, cv2.COLORMAP_JET)[..., ::-1].astype(np.float32)
    grey = image.astype(np.float32).mean(axis=2, keepdims=True)
    return (0.45 * grey + 0.55 * jet).clip(0, 255).astype(np.uint8)


def _titled(title: str, panel: Optional[np.ndarray], hw: Tuple[int, int], lines: int) -> np.ndarray:
    """The panel (white when None) under a white strip of ``lines`` text lines, the title's
    lines written in black, each shrunk to fit the width."""
    h, w = hw
    line_h = max(14, round(w / 28))
    strip = np.full((line_h * lines + 4, w, 3), WHITE, np.uint8)
    for i, text in enumerate(title.split('\n')):
        scale = line_h / 30.
        width = cv2.getTextSize(text, TITLE_FONT, scale, 1)[0][0]
        if width > w - 4:
            scale *= (w - 4) / width
        cv2.putText(strip, text, (2, line_h * (i + 1) - 3), TITLE_FONT, scale, (0, 0, 0), 1,
                    cv2.LINE_AA)
    body = np.full((h, w, 3), WHITE, np.uint8) if panel is None else panel
    return np.concatenate([strip, body], axis=0)


def tile(rows: Sequence[Sequence[Panel]], gap: int = 4) -> np.ndarray:
    """Rows of titled panels, all of one (H, W) size, as one (H', W', 3) uint8 RGB image; a
    ``None`` panel is an empty (white) cell. Rows shorter than the longest are padded."""
    cells = [p for row in rows for _, p in row if p is not None]
    if not cells:
        raise ValueError('nothing to draw: every panel is empty')
    hw = cells[0].shape[:2]
    cols = max(len(row) for row in rows)
    lines = max(title.count('\n') + 1 for row in rows for title, _ in row)
    drawn_rows = []
    for row in rows:
        row = list(row) + [('', None)] * (cols - len(row))
        titled = [_titled(t, p, hw, lines) for t, p in row]
        sep = np.full((titled[0].shape[0], gap, 3), WHITE, np.uint8)
        drawn_rows.append(np.concatenate(sum([[t, sep] for t in titled], [])[:-1], axis=1))
    sep = np.full((gap, drawn_rows[0].shape[1], 3), WHITE, np.uint8)
    return np.concatenate(sum([[r, sep] for r in drawn_rows], [])[:-1], axis=0)


def has_aux_outputs(data_sample: Optional[DetDataSample]) -> bool:
    """Whether the sample carries any ROCK ground truth or prediction."""
    return data_sample is not None and any(f in data_sample for f in AUX_FIELDS)


@VISUALIZERS.register_module()
class ROCKLocalVisualizer(DetLocalVisualizer):
    """:class:`DetLocalVisualizer` that also draws ROCK's auxiliary tasks.

    For a data sample with ROCK fields, :meth:`add_datasample` draws one row for the ground
    truth and one for the prediction, with columns: the boxes (titled, on a second line, with the
    scene: the label,
    or the top predicted class and its probability), the scene heat-map (``pred_scene_map``,
    written by :class:`mmrock.apis.ROCKInferencer`), the depth (ground truth and prediction
    share one colour range, given in the title) and the surface normals (RGB = (n + 1) / 2,
    invalid ground truth black). Dense maps are resized to the drawn image (ground truth:
    nearest). A sample without ROCK fields is drawn exactly as by :class:`DetLocalVisualizer`.

    Args:
        *args, **kwargs: :class:`DetLocalVisualizer`'s arguments.
    """

    def boxes_panel(self,
                    image: np.ndarray,
                    instances,
                    score_thr: Optional[float] = None) -> Tuple[np.ndarray, int]:
        """(drawn (H, W, 3) image, number of boxes drawn) for ``instances`` (ground truth when
        ``score_thr`` is None, else predictions scoring above it)."""
        if score_thr is not None:
            instances = instances[instances.scores > score_thr]
        drawn = self._draw_instances(image, instances, self.dataset_meta.get('classes'),
                                     self.dataset_meta.get('palette'))
        return drawn, len(instances)

    def scene_name(self, index: int) -> str:
        """The scene class name of ``index`` (its number when the metadata has no names)."""
        names = self.dataset_meta.get('scene_classes')
        return names[index] if names is not None and 0 <= index < len(names) else str(index)

    def sample_rows(self,
                    image: np.ndarray,
                    data_sample: DetDataSample,
                    draw_gt: bool = True,
                    draw_pred: bool = True,
                    pred_score_thr: float = 0.3) -> List[List[Panel]]:
        """The ground-truth and prediction rows of :meth:`add_datasample`, columns
        :data:`COLUMNS` (a column no row uses is dropped)."""
        hw = image.shape[:2]
        dense = {}
        for field in ('gt_depth', 'gt_normals', 'pred_depth', 'pred_normals', 'pred_scene_map'):
            if field in data_sample:
                dense[field] = resize_maps(
                    as_float_array(data_sample.get(field)), hw, nearest=field.startswith('gt_'))
        vrange = depth_range(*(dense[f][0] for f in ('gt_depth', 'pred_depth') if f in dense))
        depth_title = f'depth {vrange[0]:.2f}-{vrange[1]:.2f} m'
        rows = []
        if draw_gt:
            row = {}
            title = 'Ground truth'
            if 'gt_instances' in data_sample:
                drawn, n = self.boxes_panel(image, data_sample.gt_instances)
                title, row['boxes'] = f'{title}: {n} boxes', drawn
            if 'gt_scene_label' in data_sample:
                title += f'\nscene {self.scene_name(int(data_sample.gt_scene_label))}'
            row.setdefault('boxes', image)
            row['title'] = title
            if 'gt_depth' in dense:
                row['depth'] = depth_to_rgb(dense['gt_depth'][0], vrange)
            if 'gt_normals' in dense:
                row['normals'] = normals_to_rgb(dense['gt_normals'])
            rows.append(row)
        if draw_pred:
            row = {}
            title = 'Prediction'
            if 'pred_instances' in data_sample:
                drawn, n = self.boxes_panel(image, data_sample.pred_instances, pred_score_thr)
                title, row['boxes'] = f'{title}: {n} boxes > {pred_score_thr:g}', drawn
            if 'pred_scene_scores' in data_sample:
                scores = as_float_array(data_sample.pred_scene_scores)
                top = int(scores.argmax())
                title += f'\nscene {self.scene_name(top)} ({scores[top]:.2f})'
            row.setdefault('boxes', image)
            row['title'] = title
            if 'pred_scene_map' in dense:
                row['scene'] = heatmap_on_image(image, dense['pred_scene_map'][0])
            if 'pred_depth' in dense:
                row['depth'] = depth_to_rgb(dense['pred_depth'][0], vrange)
            if 'pred_normals' in dense:
                row['normals'] = normals_to_rgb(dense['pred_normals'])
            rows.append(row)
        titles = dict(
            scene='scene heat-map (top class)', depth=depth_title, normals='surface normals')
        used = [c for c in COLUMNS if any(c in row for row in rows)]
        return [[(row['title'] if c == 'boxes' else titles[c], row.get(c)) for c in used]
                for row in rows]

    @master_only
    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[DetDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       pred_score_thr: float = 0.3,
                       step: int = 0) -> None:
        """:meth:`DetLocalVisualizer.add_datasample` (same arguments and outputs: shown,
        written to ``out_file`` or sent to the visualisation backends) with the grid of
        :meth:`sample_rows` when the sample has ROCK fields."""
        if not has_aux_outputs(data_sample):
            return super().add_datasample(name, image, data_sample, draw_gt, draw_pred, show,
                                          wait_time, out_file, pred_score_thr, step)
        image = image.clip(0, 255).astype(np.uint8)
        drawn = tile(self.sample_rows(image, data_sample.cpu(), draw_gt, draw_pred, pred_score_thr))
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(drawn[..., ::-1], out_file)
        else:
            self.add_image(name, drawn, step)

"""Your dataset in place of a stock config's, through the dataset wrappers around it."""
import copy

DELETE_KEY = '_delete_'  # mmengine: replace the base's value instead of merging into it


def _plain(cfg):
    """``cfg`` with its ConfigDicts as dicts (a copy)."""
    if isinstance(cfg, dict):
        return {key: _plain(value) for key, value in cfg.items()}
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(_plain(value) for value in cfg)
    return copy.deepcopy(cfg)


def _merged(base: dict, new: dict) -> dict:
    """``new`` merged into ``base`` as mmengine merges a config into its base (dicts key by key,
    ``_delete_=True`` replaces, anything else replaces); ``new``'s values are kept, not copied,
    so that a pipeline list edited later in the config file is the dataset's."""
    out = dict(base)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) \
                and not value.get(DELETE_KEY):
            out[key] = _merged(base[key], value)
        elif isinstance(value, dict) and value.get(DELETE_KEY):
            out[key] = {k: v for k, v in value.items() if k != DELETE_KEY}
        else:
            out[key] = value
    return out


def multitask_dataset(base: dict, **dataset) -> dict:
    """The stock dataset config ``base`` with your dataset (``dataset``: the keys of a
    ``MultiTaskCocoDataset``) in place of its own, for
    ``train_dataloader = dict(dataset=multitask_dataset(_base_.train_dataloader.dataset, ...))``.

    - Wrappers of one dataset (``dataset=...``: ``RepeatDataset``, ``ClassBalancedDataset``)
      stay around yours with their settings (``times``, ``oversample_thr``).
    - A ``ConcatDataset`` (``datasets=[...]``: several stock sources) is replaced by yours.
    - Into the innermost stock dataset, your keys are merged as a config merge would
      (``test_mode``, ``backend_args`` and the others you do not give stay).
    - The result has ``_delete_=True``: mmengine replaces the base's dataset with it instead of
      merging it into the wrapper (which kept the stock dataset inside).

    Args:
        base (dict): The stock dataset config.
        **dataset: The keys of a ``MultiTaskCocoDataset`` (``type``, ``data_root``,
            ``ann_file``, ``pipeline``...).

    Returns:
        dict: The dataset config.
    """

    def replace(node: dict) -> dict:
        if 'dataset' in node:
            return dict(node, dataset=replace(node['dataset']))
        if 'datasets' in node:
            return dict(dataset)
        return _merged(node, dataset)

    return {**replace(_plain(base)), DELETE_KEY: True}

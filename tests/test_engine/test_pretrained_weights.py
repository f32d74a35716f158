"""ImageNet initialisation without torchvision: the download is fetched and verified before
training, a local file in torchvision's format loads into the backbone, offline gives one line,
and a from-scratch backbone must be trainable."""
import hashlib
import http.server
import inspect
import io
import logging
import os
import socket
import threading
import time
import urllib.error
from functools import partial
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import MODELS

from mmrock.engine import pretrained_weights as pw
from mmrock.engine.runner_cfg import prepare_pretrained_or_exit
from conftest import REPO, UserCheckout
from weights_factory import write_torchvision_resnet50

PAPER_CONFIG = REPO / 'configs' / 'rock' / 'ssd_r50_rock_nyuv2.py'
CONFIGS_WITH_IMAGENET = ('ssd_r50_rock_nyuv2.py', 'ssd_r50_nyuv2.py', 'ssd_r50_flatmtl_nyuv2.py',
                         'ssd_r50_rock_nyuv2_fast.py', 'ssd_r50_rock_nyuv2_mixed.py',
                         'retinanet_r50_fpn_rock_nyuv2.py', 'faster-rcnn_r50_fpn_rock_nyuv2.py')


@pytest.fixture(scope='module')
def torchvision_file(tmp_path_factory):
    path = tmp_path_factory.mktemp('weights') / 'resnet50-random.pth'
    return path, write_torchvision_resnet50(path)


class _Server:
    """A local HTTP server for a folder (the stand-in for download.pytorch.org)."""

    def __init__(self, folder: Path):
        handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
        handler.log_message = lambda *a: None
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}'
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path):
    folder = tmp_path / 'served'
    folder.mkdir()
    srv = _Server(folder)
    srv.folder = folder
    yield srv
    srv.close()


@pytest.fixture
def hub(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    return tmp_path / 'torch_home' / 'hub' / 'checkpoints'


def _serve(server, payload: bytes, name: str) -> str:
    (server.folder / name).write_bytes(payload)
    return f'{server.url}/{name}'


# ------------------------------------------------------------------------------------------------
# configs


@pytest.mark.parametrize('name', CONFIGS_WITH_IMAGENET)
def test_configs_download_imagenet_weights_without_torchvision(name):
    cfg = Config.fromfile(str(REPO / 'configs' / 'rock' / name))
    inits = list(pw.pretrained_init_cfgs(cfg.model))
    assert [(key, init.checkpoint)
            for key, init in inits] == [('model.backbone.init_cfg', pw.RESNET50_IMAGENET_URL)]


def test_torchvision_scheme_resolves_without_torchvision():
    assert pw._to_url('torchvision://resnet50') == pw.RESNET50_IMAGENET_URL
    assert pw.expected_checksum(pw.RESNET50_IMAGENET_URL)[0].startswith('0676ba61')
    with pytest.raises(pw.PretrainedWeightsError, match='no such torchvision model'):
        pw._to_url('torchvision://resnet5000')


# ------------------------------------------------------------------------------------------------
# fetching and verifying


def test_fetch_downloads_verifies_and_reuses_the_cache(server, hub):
    payload = os.urandom(3000)
    sha = hashlib.sha256(payload).hexdigest()
    url = _serve(server, payload, f'weights-{sha[:8]}.pth')  # torch hub / OpenMMLab naming
    path = pw.fetch_verified(url, progress=False)
    assert Path(path) == hub / f'weights-{sha[:8]}.pth' and Path(path).read_bytes() == payload
    assert [p.name for p in hub.iterdir()] == [f'weights-{sha[:8]}.pth']  # no temporary left
    server.close()
    assert pw.fetch_verified(url, progress=False) == path  # cached: no network needed


def test_fetch_refuses_a_file_with_the_wrong_checksum(server, hub, monkeypatch):
    url = _serve(server, b'not the weights', 'weights-0676ba61.pth')
    with pytest.raises(pw.PretrainedWeightsError, match='SHA-256 is .*expected 0676ba61') as exc:
        pw.fetch_verified(url, progress=False)
    assert '\n' not in str(exc.value) and not list(hub.iterdir())  # deleted, not kept
    # a file of the table: full SHA-256 and size
    payload = os.urandom(100)
    url = _serve(server, payload, 'resnet.pth')
    monkeypatch.setitem(pw.KNOWN_FILES, url, (hashlib.sha256(payload).hexdigest(), 101))
    with pytest.raises(pw.PretrainedWeightsError, match='size is 100 bytes, expected 101'):
        pw.fetch_verified(url, progress=False)
    monkeypatch.setitem(pw.KNOWN_FILES, url, (hashlib.sha256(payload).hexdigest(), 100))
    assert Path(pw.fetch_verified(url, progress=False)).read_bytes() == payload


def test_download_gives_up_on_a_silent_host(tmp_path):
    """A host that accepts the connection and sends nothing: the download ends at its timeout,
    which torch.hub.download_url_to_file (torch 2.13) cannot do, hence mmrock's own."""
    assert 'timeout' not in inspect.signature(torch.hub.download_url_to_file).parameters
    silent = socket.create_server(('127.0.0.1', 0))
    try:
        url = f'http://127.0.0.1:{silent.getsockname()[1]}/resnet50-0676ba61.pth'
        start = time.monotonic()
        with pytest.raises((TimeoutError, urllib.error.URLError)):
            pw.download(url, str(tmp_path / 'w.pth'), timeout=0.5, progress=False)
        assert time.monotonic() - start < 10
    finally:
        silent.close()
    assert not list(tmp_path.iterdir())  # no partial file left


def test_prepare_points_the_config_at_the_verified_file(server, hub):
    payload = os.urandom(500)
    url = _serve(server, payload, f'r50-{hashlib.sha256(payload).hexdigest()[:10]}.pth')
    cfg = Config.fromfile(str(PAPER_CONFIG))
    cfg.model.backbone.init_cfg.checkpoint = url
    logged = []
    paths = pw.prepare_pretrained_weights(cfg, log=logged.append, progress=False)
    assert paths == [cfg.model.backbone.init_cfg.checkpoint] and Path(paths[0]).parent == hub
    assert logged and 'SHA-256 verified' in logged[0]


def test_offline_failure_is_one_line_with_both_ways_on(hub):
    cfg = Config.fromfile(str(PAPER_CONFIG))
    cfg.model.backbone.init_cfg.checkpoint = 'http://127.0.0.1:9/resnet50-0676ba61.pth'
    with pytest.raises(pw.PretrainedWeightsError) as exc:
        pw.prepare_pretrained_weights(cfg, progress=False)
    message = str(exc.value)
    assert '\n' not in message and message.startswith(
        'Could not fetch the pretrained weights of model.backbone (')
    assert '--cfg-options model.backbone.init_cfg.checkpoint=/path/to/resnet50-0676ba61.pth' \
        in message
    assert ('model.backbone.init_cfg=None model.backbone.frozen_stages=-1 '
            'model.backbone.norm_eval=False') in message
    cfg.model.backbone.init_cfg.checkpoint = '/no/such/file.pth'
    with pytest.raises(
            pw.PretrainedWeightsError,
            match='model.backbone.init_cfg.checkpoint: /no/such/file.pth does not'):
        pw.prepare_pretrained_weights(cfg, progress=False)


def test_from_scratch_needs_a_trainable_stem_and_bn():
    cfg = Config.fromfile(str(PAPER_CONFIG))
    assert pw.from_scratch_problem(cfg) is None  # ImageNet weights
    cfg.model.backbone.init_cfg = None
    problem = pw.from_scratch_problem(cfg)
    assert 'frozen_stages=1 / norm_eval=True' in problem and '\n' not in problem
    with pytest.raises(pw.PretrainedWeightsError, match='starts from random weights'):
        pw.prepare_pretrained_weights(cfg)
    cfg.model.backbone.frozen_stages = -1
    assert 'norm_eval=True' in pw.from_scratch_problem(cfg)
    del cfg.model.backbone['norm_eval']  # mmdet's ResNet defaults to norm_eval=True
    assert 'norm_eval=True' in pw.from_scratch_problem(cfg)
    cfg.model.backbone.norm_eval = False
    assert pw.from_scratch_problem(cfg) is None
    cfg.model.backbone.norm_cfg = dict(type='BN', requires_grad=False)  # BN affine frozen
    problem = pw.from_scratch_problem(cfg)
    assert 'frozen_stages=-1 / norm_eval=False / norm_cfg.requires_grad=False' in problem
    assert problem.count('model.backbone.norm_cfg.requires_grad=True') == 1
    cfg.model.backbone.norm_cfg.requires_grad = True
    assert pw.from_scratch_problem(cfg) is None
    cfg.model.backbone.frozen_stages = 1
    cfg.load_from = 'some_checkpoint.pth'  # the weights come from there
    assert pw.from_scratch_problem(cfg) is None


def test_from_scratch_detr_backbone_needs_trainable_bn(tmp_path):
    """A DETR-family config (BN with requires_grad=False) with the from-scratch settings of the
    fetch-failure message still keeps BN's scale and shift fixed: refused."""
    (tmp_path / 'detr.py').write_text(
        "_base_ = ['mmdet::conditional_detr/conditional-detr_r50_8xb2-50e_coco.py']\n"
        'model = dict(backbone=dict(init_cfg=None, frozen_stages=-1, norm_eval=False))\n')
    cfg = Config.fromfile(str(tmp_path / 'detr.py'))
    problem = pw.from_scratch_problem(cfg)
    assert 'norm_cfg.requires_grad=False' in problem and '\n' not in problem
    cfg.merge_from_dict({'model.backbone.norm_cfg.requires_grad': True})
    assert pw.from_scratch_problem(cfg) is None


def test_from_scratch_trains_the_stem():
    """The from-scratch settings the message gives: the stem and BN change after a step."""
    cfg = Config.fromfile(str(PAPER_CONFIG))
    cfg.model.backbone.update(
        depth=18, base_channels=8, init_cfg=None, frozen_stages=-1, norm_eval=False)
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    backbone.train()
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    optim = torch.optim.SGD(backbone.parameters(), lr=0.1)
    backbone(torch.randn(2, 3, 64, 64))[-1].square().mean().backward()
    optim.step()
    after = backbone.state_dict()
    for key in ('conv1.weight', 'bn1.weight', 'bn1.running_mean', 'layer1.0.bn2.weight'):
        assert not torch.equal(before[key], after[key]), key


# ------------------------------------------------------------------------------------------------
# a local file in torchvision's format


@pytest.mark.slow
def test_local_torchvision_file_loads_every_backbone_weight(torchvision_file):
    path, state = torchvision_file
    cfg = Config.fromfile(str(PAPER_CONFIG))
    cfg.model.backbone.init_cfg.checkpoint = str(path)
    model = MODELS.build(cfg.model)
    logger, record = MMLogger.get_current_instance(), io.StringIO()
    handler = logging.StreamHandler(record)
    logger.addHandler(handler)
    try:
        model.init_weights()
    finally:
        logger.removeHandler(handler)
    loaded = model.detector.backbone.state_dict()  # ROCKDetector wraps the detector
    expected = {k: v for k, v in state.items() if not k.startswith('fc.')}
    assert set(expected) == {k for k in loaded if not k.endswith('num_batches_tracked')}
    for key, value in expected.items():
        assert torch.equal(loaded[key], value), key
    # what mmengine reports: only the classifier is left over, nothing is missing
    log = record.getvalue()
    assert 'unexpected key in source state_dict: fc.weight, fc.bias' in log
    assert 'missing keys in source state_dict' not in log


@pytest.mark.slow
def test_train_offline_stops_with_one_line(tiny_nyuv2_val, tmp_path):
    """The paper command offline (downloads refused by a dead proxy, empty torch cache)."""
    user_checkout = UserCheckout(tmp_path / 'user', tiny_nyuv2_val)
    env = dict(
        TORCH_HOME=str(tmp_path / 'empty_torch_home'),
        https_proxy='http://127.0.0.1:9',
        HTTPS_PROXY='http://127.0.0.1:9',
        no_proxy='',
        NO_PROXY='')
    proc = user_checkout.run('tools/train.py', 'configs/rock/ssd_r50_rock_nyuv2.py', env=env)
    assert proc.returncode == 1
    assert proc.stdout == ''
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith('Could not fetch the pretrained weights of model.backbone ('
                               f'{pw.RESNET50_IMAGENET_URL}: ')
    assert 'docs/train_test.md' in lines[0] and 'frozen_stages=-1' in lines[0]
    assert not (user_checkout.root / 'work_dirs').exists()  # stopped before the runner


def test_resuming_downloads_nothing(tmp_path, hub):
    """Resuming from a checkpoint: the weights come from it, the pretrained initialisers are
    dropped instead of fetched (offline resume works); without a checkpoint to resume from,
    mmengine starts afresh and the weights are needed."""
    cfg = Config.fromfile(str(PAPER_CONFIG))
    cfg.model.backbone.init_cfg.checkpoint = 'http://127.0.0.1:9/resnet50-0676ba61.pth'
    cfg.work_dir, cfg.resume, cfg.load_from = str(tmp_path), True, None
    with pytest.raises(SystemExit, match='Could not fetch the pretrained weights'):
        prepare_pretrained_or_exit(cfg)  # --resume, but no last_checkpoint in the work dir
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_5.pth'))
    prepare_pretrained_or_exit(cfg)
    assert cfg.model.backbone.init_cfg is None and not list(hub.glob('*'))


def test_load_from_replaces_the_initialisation(server, hub, tmp_path):
    """With ``load_from`` (e.g. a stock detector's COCO weights) the ImageNet initialisation is
    overwritten anyway: only load_from's file is fetched and verified, offline is no obstacle."""
    payload = os.urandom(700)
    url = _serve(server, payload, f'atss-{hashlib.sha256(payload).hexdigest()[:8]}.pth')
    cfg = Config.fromfile(str(PAPER_CONFIG))
    cfg.model.backbone.init_cfg.checkpoint = 'http://127.0.0.1:9/resnet50-0676ba61.pth'
    cfg.load_from = url
    logged = []
    assert pw.prepare_pretrained_weights(cfg, log=logged.append, progress=False) == [cfg.load_from]
    assert Path(cfg.load_from).read_bytes() == payload and cfg.model.backbone.init_cfg is None
    assert 'the pretrained initialisation of model.backbone is skipped' in logged[0]
    cfg.load_from = str(tmp_path / 'missing.pth')
    with pytest.raises(pw.PretrainedWeightsError, match='load_from: .*missing.pth does not'):
        pw.prepare_pretrained_weights(cfg)

"""The ROCK block as the paper builds it (docs/design.md, "The model"): shapes, parameter
counts, parameter-free predictors, fusion."""
import pytest
import torch
from mmdet.registry import MODELS

import mmrock  # noqa: F401  (registers the modules)
from sample_factory import make_sample

PAPER_MAPS = dict(scene=27, depth=128, normals=384)


def build_neck(**kwargs):
    return MODELS.build(dict(type='ROCKNeck', **kwargs))


def expected_params(c=2048, e=512, tasks=PAPER_MAPS, residual=True):
    bn = lambda ch: 2 * ch  # noqa: E731  (weight + bias)
    n = c * e + bn(e) + 9 * e * e + bn(e)  # encoder: convs without bias + BN
    n += sum(e * m + m for m in tasks.values())  # linear task convs (with bias)
    if residual:
        n += sum(m * c + bn(c) for m in tasks.values())  # decoders: conv + BN
    return n


def test_shapes_and_parameter_count_match_the_paper():
    neck = build_neck().eval()
    assert sum(p.numel() for p in neck.parameters()) == expected_params()
    c3, c5 = torch.randn(1, 1024, 30, 40), torch.randn(1, 2048, 30, 40)
    with torch.no_grad():
        (out3, out5), maps = neck.forward_with_aux((c3, c5))
    assert out3 is c3 and out5.shape == (1, 2048, 30, 40)
    assert {k: v.shape[1] for k, v in maps.items()} == PAPER_MAPS
    assert all(v.shape[-2:] == (30, 40) for v in maps.values())
    preds = {name: head(maps[name]) for name, head in neck.aux_heads.items()}
    assert preds['scene'].shape == (1, 27)
    assert preds['depth'].shape == (1, 1, 30, 40)
    assert preds['normals'].shape == (1, 3, 30, 40)


def test_task_convs_are_linear_and_encoder_is_conv_bn_relu():
    neck = build_neck()
    for conv in neck.task_convs.values():
        assert isinstance(conv, torch.nn.Conv2d) and conv.kernel_size == (1, 1)
    kinds = [(m.conv.kernel_size, m.with_norm, m.with_activation) for m in neck.encoder]
    assert kinds == [((1, 1), True, True), ((3, 3), True, True)]
    for dec in neck.decoders.values():
        assert dec.conv.kernel_size == (1, 1) and dec.with_norm and dec.with_activation


def test_predictors_are_parameter_free_poolings():
    neck = build_neck()
    maps = {k: torch.randn(2, m, 5, 7) for k, m in PAPER_MAPS.items()}
    for name, head in neck.aux_heads.items():
        assert sum(p.numel() for p in head.parameters()) == 0
    heads = neck.aux_heads
    torch.testing.assert_close(heads['scene'](maps['scene']), maps['scene'].mean(dim=(2, 3)))
    torch.testing.assert_close(heads['depth'](maps['depth']), maps['depth'].mean(1, keepdim=True))
    expected = torch.stack([g.mean(1) for g in maps['normals'].split(128, dim=1)], dim=1)
    torch.testing.assert_close(heads['normals'](maps['normals']), expected)


def test_zeroed_decoders_give_back_c5():
    neck = build_neck(in_channels=64, encoder_channels=16).train()
    for p in neck.decoders.parameters():
        torch.nn.init.zeros_(p)
    c5 = torch.randn(2, 64, 6, 8)
    torch.testing.assert_close(neck((c5, ))[0], c5)


def test_decoders_change_c5_by_a_residual():
    neck = build_neck(in_channels=64, encoder_channels=16).eval()
    c5 = torch.randn(2, 64, 6, 8)
    with torch.no_grad():
        refined, maps = neck.forward_with_aux((c5, ))
        residual = sum(neck.decoders[k](m) for k, m in maps.items())
    torch.testing.assert_close(refined[0], c5 + residual)
    assert not torch.allclose(refined[0], c5)


def test_flat_mtl_has_no_decoders_and_keeps_features():
    neck = build_neck(in_channels=64, encoder_channels=16, residual=False)
    assert not hasattr(neck, 'decoders')
    assert sum(p.numel() for p in neck.parameters()) == expected_params(64, 16, residual=False)
    c5 = torch.randn(1, 64, 6, 8)
    out, maps = neck.forward_with_aux((c5, ))
    assert out[0] is c5 and set(maps) == set(PAPER_MAPS)


def test_any_subset_of_tasks():
    neck = build_neck(
        in_channels=64, encoder_channels=16, aux_heads=dict(depth=dict(type='DepthHead')))
    assert set(neck.task_convs) == set(neck.decoders) == {'depth'}
    assert sum(p.numel() for p in neck.parameters()) == expected_params(64, 16, dict(depth=128))
    c5 = torch.randn(2, 64, 4, 5)
    _, maps = neck.forward_with_aux((c5, ))
    samples = [make_sample((64, 80)), make_sample((64, 80), seed=1)]
    assert set(neck.loss(maps, samples)) == {'loss_depth'}
    with pytest.raises(ValueError):
        build_neck(aux_heads={})


def test_fusion_norm_act_flag():
    neck = build_neck(in_channels=64, encoder_channels=16, fusion_norm_act=True)
    assert isinstance(neck.fusion[0], torch.nn.BatchNorm2d)
    out = neck((torch.randn(2, 64, 4, 5), ))[0]
    assert (out >= 0).all()  # ends with a ReLU
    assert build_neck(in_channels=64, encoder_channels=16).fusion is None


def _decoder_residual_rms(neck, c5):
    with torch.no_grad():
        refined = neck((c5, ))[0]
    return (refined - c5).pow(2).mean().sqrt().item()


def test_decoder_norm_init_starts_rock_near_identity():
    torch.manual_seed(0)
    paper = build_neck(in_channels=64, encoder_channels=16).train()
    paper.init_weights()
    torch.manual_seed(0)
    near_identity = build_neck(in_channels=64, encoder_channels=16, decoder_norm_init=0.1).train()
    near_identity.init_weights()
    assert all((d.norm.weight == 1).all() for d in paper.decoders.values())
    assert all((d.norm.weight == 0.1).all() for d in near_identity.decoders.values())
    # In training mode the BN output is normalised, so the residual scales with the BN weight
    # (the ReLU is positively homogeneous): the same weights otherwise, 10x smaller residual.
    c5 = torch.randn(4, 64, 6, 8)
    ratio = _decoder_residual_rms(near_identity, c5) / _decoder_residual_rms(paper, c5)
    assert ratio == pytest.approx(0.1, rel=1e-4)
    with pytest.raises(ValueError, match='residual fusion only'):
        build_neck(in_channels=64, encoder_channels=16, residual=False, decoder_norm_init=0.1)
    with pytest.raises(ValueError, match='> 0'):
        build_neck(in_channels=64, encoder_channels=16, decoder_norm_init=0.)


@pytest.mark.parametrize('fusion_norm_act', [False, True])
def test_removing_every_residual_gives_back_the_unrefined_features(fusion_norm_act):
    """The test-time diagnostic: with every task's residual removed the neck's output is its
    input, exactly (the same tensor values, fusion skipped); the task maps are unchanged."""
    kwargs = dict(in_channels=64, encoder_channels=16, fusion_norm_act=fusion_norm_act)
    full = build_neck(**kwargs).eval()
    removed = build_neck(**kwargs, removed_residuals=('scene', 'depth', 'normals')).eval()
    removed.load_state_dict(full.state_dict())
    c4, c5 = torch.randn(2, 32, 12, 16), torch.randn(2, 64, 6, 8)
    with torch.no_grad():
        out, maps = removed.forward_with_aux((c4, c5))
        _, full_maps = full.forward_with_aux((c4, c5))
    assert torch.equal(out[1], c5) and torch.equal(out[0], c4)
    for name in maps:
        assert torch.equal(maps[name], full_maps[name])


def test_removing_one_residual_keeps_the_others():
    full = build_neck(in_channels=64, encoder_channels=16).eval()
    no_depth = build_neck(in_channels=64, encoder_channels=16, removed_residuals=['depth']).eval()
    no_depth.load_state_dict(full.state_dict())
    c5 = torch.randn(2, 64, 6, 8)
    with torch.no_grad():
        refined, maps = no_depth.forward_with_aux((c5, ))
        expected = c5 + full.decoders['scene'](maps['scene']) + \
            full.decoders['normals'](maps['normals'])
    torch.testing.assert_close(refined[0], expected)
    with pytest.raises(ValueError, match=r"removed_residuals: \['dpeth'\] not among"):
        build_neck(in_channels=64, encoder_channels=16, removed_residuals=['dpeth'])
    with pytest.raises(ValueError, match='residual fusion only'):
        build_neck(in_channels=64, encoder_channels=16, residual=False, removed_residuals=['depth'])

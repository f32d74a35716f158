# mmrock: `make install` (project-local .venv), `make test`, `make demo`, `make ablation`.
PY      ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install lint format test test-fast demo ablation study-data study-pretrain study-curves study clean-venv

install: $(STAMP)

# mmcv 2.1.0 has no wheel for this torch: it is built from source with its ops. The build needs
# torch importable (hence --no-build-isolation) and pkg_resources (setuptools<70, installed after
# torch, which pulls a newer setuptools). pip caches the
# built wheel, so a re-install on the same machine takes seconds.
$(STAMP): requirements.txt requirements/runtime.txt requirements/build.txt \
		requirements/tests.txt requirements/deploy.txt requirements/lint.txt setup.py
	test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install -q torch==2.13.0
	$(VPY) -m pip install -q -r requirements/build.txt
	MMCV_WITH_OPS=1 MAX_JOBS=2 $(VPY) -m pip install -q --no-build-isolation mmcv==2.1.0
	$(VPY) -m pip install -q -r requirements.txt -r requirements/tests.txt \
		-r requirements/deploy.txt -r requirements/lint.txt
	$(VPY) -m pip install -q --no-build-isolation --no-deps -e .
	touch $(STAMP)

# The lint gate (settings in setup.cfg: 100 columns): flake8, isort and yapf as checks, codespell.
# `make format` rewrites the files as isort and yapf want them.
LINTED := mmrock mmrock_data tools tests configs setup.py
lint: install
	$(VPY) -m flake8 $(LINTED)
	$(VPY) -m isort --check-only --diff $(LINTED)
	$(VPY) -m yapf --diff --recursive $(LINTED)
	$(VENV)/bin/codespell

format: install
	$(VPY) -m isort $(LINTED)
	$(VPY) -m yapf --in-place --recursive $(LINTED)

# Two test processes (pytest-xdist), one module each at a time so that module fixtures are built
# once, one CPU thread each: most tests start tool subprocesses, whose start-up is serial.
test: install
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(VPY) -m pytest -q -n 2 --dist loadfile tests

# The unit loop: every test not marked slow (no tool subprocess, no training), about a minute.
test-fast: install
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(VPY) -m pytest -q -n 2 --dist loadfile -m "not slow" tests

demo: install
	$(VPY) tools/demo.py

# The demo-scale ablation (SSD, flat MTL, ROCK, ROCK per task, ROCK near identity; SSD, flat MTL
# and ROCK with per-side anchors; 3 seeds) on the demo's rooms, scored as the demo scores (every
# box kept).
# Resumable: run it again to continue; results in work_dirs/ablation/ablation.{md,json,png}.
ablation: install
	$(VPY) tools/demo.py --data-only
	$(VPY) tools/analysis_tools/ablation.py --seeds 3 --out work_dirs/ablation \
		--cfg-options model.test_cfg.score_thr=0.0

# The ROCK study (docs/ablation.md): does ROCK help in the paper's regime? NYUv2-sized synthetic
# rooms with a val split, the backbone pretrained on other rooms (an ImageNet stand-in), learning
# curves on val to find the schedule, then SSD / flat MTL / ROCK / ROCK near identity from the
# stand-in and from scratch, 5 seeds each, two single-thread runs side by side. CPU-days on 2
# cores: every target resumes, and the outputs in benchmarks/ (metrics, no checkpoints) are what
# a later session continues from once committed.
STUDY_DATA   := data/synthetic_nyuv2_1449
STUDY_RAW    := data/synthetic_nyuv2_1449_raw
STAND_IN     := benchmarks/pretrain/resnet18-w32_rooms.pth
CURVES       := benchmarks/learning_curves_roomspre
STUDY_CONFIGS := $(addprefix configs/rock/,ssd_r18-roomspre_1xb8-400it_demo.py \
	ssd_r18-roomspre_flatmtl_1xb8-400it_demo.py ssd_r18-roomspre_rock_1xb8-400it_demo.py \
	ssd_r18-roomspre_rock-near-identity_1xb8-400it_demo.py ssd_r18_1xb8-400it_demo.py \
	ssd_r18_flatmtl_1xb8-400it_demo.py ssd_r18_rock_demo.py \
	ssd_r18_rock-near-identity_1xb8-400it_demo.py)

study-data: install
	test -f $(STUDY_DATA)/annotations/nyuv2_val.json || ( \
	$(VPY) tools/dataset_converters/make_synthetic_nyuv2.py --out $(STUDY_RAW) --num 1449 \
		--seed 0 --height 240 --width 320 && \
	$(VPY) tools/dataset_converters/nyuv2.py --mat $(STUDY_RAW)/nyu_depth_v2_labeled.mat \
		--splits $(STUDY_RAW)/splits.mat --normals $(STUDY_RAW)/normals_gt \
		--val-split $(STUDY_RAW)/val_scenes.txt --out $(STUDY_DATA) --overwrite )

study-pretrain: install
	test -f $(STAND_IN) || $(VPY) tools/pretrain_backbone.py --out $(STAND_IN) --seed 1 \
		--synthetic-rooms 14500 --epochs 6 --threads 1

study-curves: study-data study-pretrain
	$(VPY) tools/analysis_tools/learning_curves.py $(wordlist 1,3,$(STUDY_CONFIGS)) \
		--data-root $(STUDY_DATA) --max-iters 8000 --val-interval 200 --jobs 2 --out $(CURVES)

study: study-curves
	$(VPY) tools/analysis_tools/ablation.py $(STUDY_CONFIGS) --seeds 5 --jobs 2 \
		--data-root $(STUDY_DATA) --schedule-from $(CURVES)/curves.json \
		--out benchmarks/ablation_converged --cfg-options model.test_cfg.score_thr=0.0

clean-venv:
	rm -rf $(VENV)

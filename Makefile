# mmrock: `make install` (project-local .venv), `make test`, `make demo`, `make ablation`.
PY      ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install test demo ablation clean-venv

install: $(STAMP)

# mmcv 2.1.0 has no wheel for this torch: it is built from source with its ops. The build needs
# torch importable (hence --no-build-isolation) and pkg_resources (setuptools<70, installed after
# torch, which pulls a newer setuptools). pip caches the
# built wheel, so a re-install on the same machine takes seconds.
$(STAMP): requirements.txt requirements/runtime.txt requirements/build.txt setup.py
	test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install -q torch==2.13.0
	$(VPY) -m pip install -q -r requirements/build.txt
	MMCV_WITH_OPS=1 MAX_JOBS=2 $(VPY) -m pip install -q --no-build-isolation mmcv==2.1.0
	$(VPY) -m pip install -q -r requirements.txt -r requirements/tests.txt
	$(VPY) -m pip install -q --no-build-isolation --no-deps -e .
	touch $(STAMP)

test: install
	$(VPY) -m pytest -q tests

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

clean-venv:
	rm -rf $(VENV)

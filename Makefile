# Short commands. `make demo` and `make test` are the two README commands.
PY := .venv/bin/python
export PYTHONPATH := operator

.PHONY: bootstrap demo test unit lint reformat manifests bench soak chart image

bootstrap:
	@scripts/bootstrap.sh

demo: bootstrap
	$(PY) -m modelward demo

lint: bootstrap
	.venv/bin/ruff format --check operator tests bench
	.venv/bin/ruff check operator tests bench
	.venv/bin/mypy

reformat: bootstrap
	.venv/bin/ruff format operator tests bench
	.venv/bin/ruff check --fix operator tests bench

test: lint
	$(PY) -m pytest -q $(if $(TESTS),-k "$(TESTS)",)

unit: bootstrap
	$(PY) -m pytest -q -m "not slow" $(if $(TESTS),-k "$(TESTS)",)

# manifests/install.yaml: the default install for `kubectl apply`, Namespace and CRDs included.
# tests/chart checks it is current (`make manifests OUT=FILE` renders elsewhere).
manifests:
	@test -x .cache/tools/helm4/helm || scripts/install-helm.sh
	@out="$(or $(OUT),manifests/install.yaml)"; \
	.cache/tools/helm4/helm template modelward charts/modelward --namespace modelward \
		--include-crds --set namespace.create=true > "$$out.tmp" && mv "$$out.tmp" "$$out"

# Longer runs than the suite's: hostile-input properties at 5,000 examples each, and the
# mixed load at 10,000 admissions.
soak: bootstrap
	HYPOTHESIS_PROFILE=soak $(PY) -m pytest -q -o timeout=1800 tests/pipeline/test_decode_hostile.py \
		tests/oci/test_reference_hostile.py tests/policies/test_parse_hostile.py
	MODELWARD_LOAD_REQUESTS=10000 $(PY) -m pytest -q -o timeout=1800 tests/e2e/test_load.py

# make chart REGISTRY=HOST[:PORT] [PLAIN_HTTP=1]: package charts/modelward and push it as an
# OCI artifact to oci://REGISTRY/charts/modelward, installable with
# `helm install modelward oci://REGISTRY/charts/modelward --version X`.
HELM ?= .cache/tools/helm4/helm
CHART_DIR ?= .cache/chart
chart:
	@test -n "$(REGISTRY)" || { echo "make chart: set REGISTRY=HOST[:PORT]" >&2; exit 2; }
	@test -x "$(HELM)" || scripts/install-helm.sh
	@mkdir -p "$(CHART_DIR)"
	@version=$$(sed -n 's/^version: *//p' charts/modelward/Chart.yaml); \
	"$(HELM)" package charts/modelward --destination "$(CHART_DIR)" >/dev/null && \
	"$(HELM)" push "$(CHART_DIR)/modelward-$$version.tgz" "oci://$(REGISTRY)/charts" \
		$(if $(PLAIN_HTTP),--plain-http,)

# make image [IMAGE=NAME:TAG]: build the operator image with buildah (scripts/image.sh).
image:
	@scripts/image.sh $(IMAGE)

# Every benchmark side by side, then one table (bench/run_all.py; BENCH_ARGS=--quick for a look).
bench: bootstrap
	$(PY) bench/run_all.py $(BENCH_ARGS)

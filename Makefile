# ShopAssets: `make run` (service + worker on the embedded defaults), `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
export SHOPASSETS_DATA_DIR ?= $(CURDIR)/data
BEAT = $(BIN)/celery -A shop_assets beat --schedule $(SHOPASSETS_DATA_DIR)/beat-schedule \
	--pidfile $(SHOPASSETS_DATA_DIR)/beat.pid -l info

.PHONY: install install-gpu models run web worker beat migrate demo test test-fast lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

# The dashboard's CJK web font, cut from the installed Noto Sans CJK (offline; skipped when
# it is up to date).
WEBFONTS := shop_assets/dashboard/static/dashboard/fonts/cjk.css
$(WEBFONTS): $(VENV)/.installed shop_assets/dashboard/webfonts.py
	$(BIN)/python manage.py build_webfonts

# Poster template previews for the new-job form (a few seconds; redrawn when a template changes).
PREVIEWS := shop_assets/dashboard/static/dashboard/previews/stamp.json
$(PREVIEWS): $(VENV)/.installed shop_assets/dashboard/previews.py $(wildcard generation/posters/templates/*.json)
	$(BIN)/python manage.py build_template_previews

install: $(VENV)/.installed $(WEBFONTS) $(PREVIEWS)

# GPU workers: on a CUDA machine PyPI's torch 2.13.0 is the CUDA build; add the matching
# torchvision and controlnet-aux (depth conditioning). accelerate and peft (LCM-LoRA) are in
# requirements.txt.
install-gpu: install
	$(BIN)/python -m pip install torchvision==0.28.0 controlnet-aux==0.0.10

# Model weights into the models folder (SHOPASSETS_MODELS_DIR, else U2NET_HOME, else ~/.u2net),
# checked against their checksums. MODELS names models or groups (default: the default
# segmentation model); GPU workers: make models MODELS="birefnet-general sd15" (or --all).
MODELS ?=
models: install
	$(BIN)/python -m generation models pull $(MODELS)

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

# Web (gunicorn), one job worker (default and gpu queues), one webhook worker (its own
# queue, so deliveries never wait behind a render; threads, as deliveries wait on the
# network), one bulk import worker (its own queue, so a batch is imported while a render
# runs) and beat (the stale-job and webhook sweeps, the batch tick) as processes of their
# own; Ctrl-C stops them all. Beat is never inside a worker: killing a worker leaves no beat behind,
# and a worker started later does not add a second one.
run: demo
	@$(BIN)/python -m generation models pull --optional
	@echo ""
	@echo "  ShopAssets is starting on http://$(HOST):$(PORT)/"
	@echo "  Sign in as demo / $${SHOPASSETS_DEMO_PASSWORD:-demo-shop-2026}"
	@echo ""
	@trap 'kill $$(jobs -p) 2>/dev/null' INT TERM EXIT; \
	$(BIN)/celery -A shop_assets worker -Q default,gpu --concurrency 1 -l info -n jobs@%h & \
	$(BIN)/celery -A shop_assets worker -Q webhooks --pool threads --concurrency 4 -l info -n webhooks@%h & \
	$(BIN)/celery -A shop_assets worker -Q bulk --concurrency 1 -l info -n bulk@%h & \
	$(BEAT) & \
	$(BIN)/gunicorn shop_assets.wsgi -b $(HOST):$(PORT) -w $(WORKERS) --threads 4 --no-control-socket \
		--access-logfile - & \
	wait

web: migrate
	$(BIN)/gunicorn shop_assets.wsgi -b $(HOST):$(PORT) -w $(WORKERS) --threads 4 --no-control-socket

worker: install
	$(BIN)/celery -A shop_assets worker -Q $${QUEUES:-default,bulk} -l info

# Exactly one per installation: its pidfile refuses a second beat while the first lives.
beat: install
	$(BEAT)

# TEST_PROCESSES=2 runs the tests in two processes (pytest-xdist), each test file whole in one
# of them, each process with its own data folder, test database, S3 bucket and Redis databases
# (tests/settings.py). 0 (the default) runs them all in this one; the RabbitMQ tests need that.
TEST_PROCESSES ?= 0
PYTEST = $(BIN)/python -m pytest -c tests/pytest.ini -n $(TEST_PROCESSES) --dist loadfile

test: install
	$(PYTEST) $(ARGS)

test-fast: install
	$(PYTEST) -m "not slow" $(ARGS)

lint: install
	$(BIN)/ruff check shop_assets generation tests bench
	$(BIN)/ruff format --check shop_assets generation tests bench

# mypy with the django-stubs plugin over generation/ and shop_assets/ (config: .mypy.ini);
# the settings it loads get a throwaway data folder.
typecheck: install
	SHOPASSETS_DATA_DIR=$$(mktemp -d) $(BIN)/mypy

bench: install
	$(BIN)/python bench/bench_stages.py
	$(BIN)/python bench/bench_segment.py
	$(BIN)/python bench/bench_diffusion.py
	$(BIN)/python bench/bench_posters.py
	$(BIN)/python bench/bench_clips.py    # needs ffmpeg (apt-get install ffmpeg) for its baseline
	$(BIN)/python bench/bench_webhooks.py
	$(BIN)/python bench/bench_upload_flood.py
	$(BIN)/python bench/bench_bulk.py
	$(BIN)/python bench/bench_api.py

clean:
	rm -rf $(VENV) data

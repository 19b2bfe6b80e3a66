# The two commands of the README: `make run` (set up + serve) and `make test` (set up + full suite).
.PHONY: setup run test lint bench

setup:
	./scripts/setup.sh

run: setup
	.venv/bin/pyai serve $(ARGS)

test: setup
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/python -m pytest -q -p no:cacheprovider $(ARGS)

lint: setup
	.venv/bin/ruff check --fix src tests bench
	.venv/bin/ruff format src tests bench

bench: setup
	.venv/bin/python bench/gateway.py
	.venv/bin/python bench/hear.py
	.venv/bin/python bench/stt_engines.py
	.venv/bin/python bench/whisper_cost.py --beams 5,1
	.venv/bin/python bench/whisper_packing.py
	.venv/bin/python bench/partials_cost.py
	.venv/bin/python bench/speak.py --voices
	.venv/bin/python bench/speak.py --clauses
	.venv/bin/python bench/voices.py
	.venv/bin/python bench/vad_turn.py
	.venv/bin/python bench/omni.py
	.venv/bin/python bench/telephony.py
	.venv/bin/python bench/trace_gate.py
	.venv/bin/python bench/post_call.py

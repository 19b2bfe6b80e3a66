# The two commands of the README: `make run` (set up + serve) and `make test` (set up + full suite).
.PHONY: setup run test bench

setup:
	./scripts/setup.sh

run: setup
	.venv/bin/pyai serve $(ARGS)

test: setup
	.venv/bin/python -m pytest -q -p no:cacheprovider $(ARGS)

bench: setup
	.venv/bin/python bench/gateway.py
	.venv/bin/python bench/hear.py
	.venv/bin/python bench/speak.py --voices
	.venv/bin/python bench/voices.py

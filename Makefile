# The two commands of the README, and a few for development.
.PHONY: run test setup app cli

# Launch the app on the sample project (installs what is missing first).
run: setup
	cd ui && npm run --silent build
	cargo build --bin chainlift-app
	$${CARGO_TARGET_DIR:-target}/debug/chainlift-app

# Every test: lints, Rust, UI, keychain, CLI against a local server, end to end under Xvfb.
test:
	./scripts/test.sh

setup:
	./scripts/setup.sh

cli:
	cargo build --bin chainlift

#!/usr/bin/env bash
# Download the Go modules of the AWS SDK for Go v2 tests (from the Go module proxy, checked
# against go.sum) and compile the tests into bin/sdk.test, so that running them later needs
# no network. tests/e2e/test_go_sdk.py runs the binary against a Roleport it starts, and
# calls this script itself when the binary is missing or older than the sources.
#   GO=/path/to/go bash tests/e2e/go/sdk/prepare.sh
set -euo pipefail
cd "$(dirname "$0")"

GO="${GO:-$(command -v go || true)}"
if [ -z "$GO" ] && [ -x /usr/local/go/bin/go ]; then GO=/usr/local/go/bin/go; fi
if [ -z "$GO" ]; then
  echo "prepare.sh: no Go toolchain found (install Go >= 1.24 or set GO=/path/to/go)" >&2
  exit 1
fi

export GOTOOLCHAIN=local GOFLAGS=-mod=readonly
"$GO" mod download
mkdir -p bin
# compile next to the target and rename: a reader never sees a half-written binary
"$GO" test -c -o "bin/sdk.test.$$" .
mv -f "bin/sdk.test.$$" bin/sdk.test
echo "prepare.sh: built $(pwd)/bin/sdk.test with $("$GO" version)"

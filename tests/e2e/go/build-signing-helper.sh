#!/usr/bin/env bash
# Build the official aws_signing_helper (github.com/aws/rolesanywhere-credential-helper)
# from the Go module proxy, at the version pinned in signing_helper/go.mod + go.sum, into
# tests/e2e/go/bin/aws_signing_helper. Run once before the tests (.ci/run does); the
# tests' session fixture runs it too outside CI. A no-op when the binary was already built
# from the same go.mod, go.sum, this script and Go version.
#
#   tests/e2e/go/build-signing-helper.sh           build if needed; print the binary's path
#   tests/e2e/go/build-signing-helper.sh --check   exit 0 if built and current, 1 if not
#
# Exit status: 0 done, 1 not current (--check) or the build failed, 3 Go is not installed.
# GO=/path/to/go overrides which Go is used (default: go on PATH, else /usr/local/go/bin/go).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
script="$here/$(basename "${BASH_SOURCE[0]}")"
module_dir="$here/signing_helper"
bin_dir="$here/bin"
binary="$bin_dir/aws_signing_helper"
stamp="$binary.stamp"
upstream="github.com/aws/rolesanywhere-credential-helper"

go_bin="${GO:-$(command -v go || true)}"
if [[ -z "$go_bin" && -x /usr/local/go/bin/go ]]; then
  go_bin=/usr/local/go/bin/go
fi
if [[ -z "$go_bin" || ! -x "$go_bin" ]]; then
  echo "build-signing-helper: Go is not installed (need Go >= 1.24 on PATH, or GO=/path/to/go)." \
       "It builds the official aws_signing_helper that tests/e2e/official_helper runs." >&2
  exit 3
fi

fingerprint() {
  {
    cat "$module_dir/go.mod" "$module_dir/go.sum" "$script"
    "$go_bin" env GOVERSION GOOS GOARCH
  } | sha256sum | cut -d' ' -f1
}

current() {
  [[ -x "$binary" && -f "$stamp" && "$(cat "$stamp")" == "$(fingerprint)" ]]
}

if [[ "${1:-}" == "--check" ]]; then
  current
  exit $?
fi

mkdir -p "$bin_dir"
# pytest-xdist workers may call this at the same time: one builds, the other waits
exec 9>"$bin_dir/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

if ! current; then
  cd "$module_dir"
  version="$("$go_bin" list -mod=readonly -m -f '{{.Version}}' "$upstream")"
  echo "build-signing-helper: building aws_signing_helper ${version} with $("$go_bin" env GOVERSION)" >&2
  # as the upstream Makefile (release target): version injected, paths trimmed
  "$go_bin" build -mod=readonly -trimpath \
    -ldflags "-s -w -X '${upstream}/cmd.Version=${version#v}'" \
    -o "$binary.tmp" "$upstream"
  mv -f "$binary.tmp" "$binary"
  fingerprint >"$stamp"
fi
echo "$binary"

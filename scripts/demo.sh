#!/usr/bin/env bash
# The main job end to end, on a throwaway vault in a temporary directory: never the user's own
# vault, identity or settings. Every step is echoed before it runs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/jwtis-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
export JWTIS_CONFIG_DIR="$work/config" JWTIS_VAULT="$work/data/vault.age" NO_COLOR=${NO_COLOR:-}
unset JWTIS_AGE_KEY JWTIS_AGE_KEY_FILE JWTIS_PASSPHRASE JWTIS_PSWD
jwtis() { node "$root/bin/run.js" "$@"; }
step() { printf '\n\033[1m$ jwtis %s\033[0m\n' "$*" >&2; jwtis "$@"; }

step init --name https://auth.demo.local
step client add billing --refresh-strategy refreshBoth --aud https://api.demo.local >/dev/null
step client list
step vault status
if jwtis token issue --help >/dev/null 2>&1; then
  step token issue --client billing --sub alice --claim role=admin --refresh --json > "$work/issued.json"
  cat "$work/issued.json"
  access=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).access_token)' "$work/issued.json")
  refresh=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).refresh_token)' "$work/issued.json")
  step token decode "$access"
  step token verify "$access" --aud https://api.demo.local
  step token renew --client billing "$refresh" --json > "$work/renewed.json"
  cat "$work/renewed.json"
  printf '\n# presenting the spent refresh token again revokes the whole family:\n' >&2
  step token renew --client billing "$refresh" || echo "exit $? (REFRESH_REUSED, as expected)" >&2
  step keys rotate --client billing
  step keys list --client billing
  step token verify "$access" --aud https://api.demo.local >/dev/null && echo "the token from before the rotation still verifies" >&2
  step keys export --client billing --format jwks
fi
printf '\nDemo done; the throwaway vault in %s is removed.\n' "$work" >&2

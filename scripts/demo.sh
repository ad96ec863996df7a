#!/usr/bin/env bash
# The main job end to end, on a throwaway vault in a temporary directory: never the user's own
# vault, identity or settings. Every command is printed before it runs, exactly as it runs (tokens
# are passed as files, so no line carries one): while the demo runs, each line can be pasted in a
# shell that has its environment. The results are on stdout, the narration on stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/jwtis-demo.XXXXXX")
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
export JWTIS_CONFIG_DIR="$work/config" JWTIS_VAULT="$work/data/vault.age"
unset JWTIS_AGE_KEY JWTIS_AGE_KEY_FILE JWTIS_PASSPHRASE JWTIS_PSWD JWTIS_STORE JWTIS_ADMIN_TOKEN JWTIS_ADMIN_TOKEN_FILE
bold='' plain=''
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-}" != dumb ]; then bold=$'\033[1m' plain=$'\033[0m'; fi

# `jwtis` as a command (not a function), so that the printed lines are what runs, and $! of a
# background `jwtis serve` is the server itself.
mkdir -p "$work/bin"
printf '#!/bin/sh\nexec node %q/bin/run.js "$@"\n' "$root" > "$work/bin/jwtis"
chmod +x "$work/bin/jwtis"
export PATH="$work/bin:$PATH"

# An argument as a shell reads it back: bare when plain, else single-quoted.
quote() {
  if [[ $1 =~ ^[A-Za-z0-9_./:@=,+%-]+$ ]]; then printf '%s' "$1"; else printf "'%s'" "${1//\'/\'\\\'\'}"; fi
}
say() { printf '\n# %s\n' "$*" >&2; }
# Prints a command line, then runs that very line: what the narration shows is what ran.
run() {
  printf '\n%s$ %s%s\n' "$bold" "$1" "$plain" >&2
  eval "$1"
}
step() {
  local line=jwtis a
  for a in "$@"; do line+=" $(quote "$a")"; done
  run "$line"
}
# Output lines cut to the terminal's taste: tokens are long.
clip() { cut -c1-110; }
field() { node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8"))[process.argv[1]])' "$1"; }
# A token kept in a file of the work directory (0600): the commands read it with @FILE or $(cat FILE).
keep() { (umask 077 && printf '%s' "$2" > "$work/$1"); }

say 'a vault (age-encrypted) and the identity that opens it'
step init --name https://auth.demo.local
say "a client with its own keys; its client token (serve's bearer token for it) is shown once: the vault keeps a hash"
step client add billing --refresh-strategy refreshBoth --aud https://api.demo.local
step client list
step vault status

say 'an access token and a refresh token (a JWS sealed in a JWE)'
step token issue --client billing --sub alice --claim role=admin --refresh --json > "$work/issued.json"
clip < "$work/issued.json"
keep access.jwt "$(field access_token < "$work/issued.json")"
keep refresh.jwe "$(field refresh_token < "$work/issued.json")"
step token decode "@$work/access.jwt"
step token verify "@$work/access.jwt" --aud https://api.demo.local
step token renew --client billing "@$work/refresh.jwe" --json | clip
say 'presenting the spent refresh token again revokes the whole family:'
step token renew --client billing "@$work/refresh.jwe" || say "exit $? (REFRESH_REUSED, as expected)"

say 'many at once: one NDJSON claim set per line in, one result per line out, in order'
printf '{"sub":"a"}\n{"sub":"b","role":"reader"}\nnot json\n' > "$work/claims.ndjson"
run "jwtis token issue --client billing --batch < $(quote "$work/claims.ndjson") > $(quote "$work/batch.ndjson")" || say "exit $? (line 3 is not JSON: it got an error line, the others their tokens)"
clip < "$work/batch.ndjson"

say "JWE: seal to a client's encryption key, open with the vault"
run "echo 'hello from jwtis' | jwtis jwe encrypt - --to billing > $(quote "$work/hello.jwe")"
clip < "$work/hello.jwe"
step jwe decrypt "@$work/hello.jwe"

say 'key rotation: the old keys keep verifying what they signed until their grace ends'
step keys rotate --client billing
step keys list --client billing
step token verify "@$work/access.jwt" --aud https://api.demo.local > /dev/null && say 'the token from before the rotation still verifies'
step keys export --client billing --format pem

say 'the HTTP API: serve, register, issue, renew, stop (the admin token kept in a file, as in production)'
keep admin.token "demo-admin-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
run "JWTIS_ADMIN_TOKEN_FILE=$(quote "$work/admin.token") jwtis serve --listen 127.0.0.1:0 --workers 1 --json > $(quote "$work/serve.out") 2> $(quote "$work/serve.log") &"
server=$!
for _ in $(seq 100); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
url=$(field listening < "$work/serve.out")
say "listening on $url"
# POST $1 with the body $2 (as the shell is to read it) and the bearer token kept in the file $3;
# --fail-with-body: an error status fails the demo.
post() {
  run "curl -sS --fail-with-body -X POST $url$1 -H \"Authorization: Bearer \$(cat $(quote "$3"))\" -H 'content-type: application/json' -d $2"
}
web=$(post /register/web "'{\"refresh_strategy\":\"refreshBoth\"}'" "$work/admin.token")
echo "$web" | clip
keep web.token "$(echo "$web" | field client_token)"
issued=$(post /issue_token "'{\"kid\":\"web\",\"claims\":{\"sub\":\"bob\"}}'" "$work/web.token")
echo "$issued" | clip
keep web.refresh "$(echo "$issued" | field refresh_token)"
post /renew_token "\"{\\\"kid\\\":\\\"web\\\",\\\"refresh_token\\\":\\\"\$(cat $(quote "$work/web.refresh"))\\\"}\"" "$work/web.token" | clip
kill "$server" && wait "$server" || true
server=
say 'serve stopped; its access log (one JSON line per request, never a token):'
grep '"msg":"request"' "$work/serve.log" >&2

printf '\nDemo done; the throwaway vault in %s is removed.\n' "$work" >&2

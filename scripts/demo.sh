#!/usr/bin/env bash
# The main job end to end, on a throwaway vault in a temporary directory: never the user's own
# vault, identity or settings. Every step is echoed (tokens shortened) before it runs; the
# results are on stdout, the narration on stderr.
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
unset JWTIS_AGE_KEY JWTIS_AGE_KEY_FILE JWTIS_PASSPHRASE JWTIS_PSWD JWTIS_STORE JWTIS_ADMIN_TOKEN
bold='' plain=''
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-}" != dumb ]; then bold=$'\033[1m' plain=$'\033[0m'; fi

jwtis() { node "$root/bin/run.js" "$@"; }
# A token or other long argument as its first 12 and last 6 characters.
short() {
  local a
  for a in "$@"; do
    if [ ${#a} -gt 40 ]; then printf ' %s…%s' "${a:0:12}" "${a: -6}"; else printf ' %s' "$a"; fi
  done
}
say() { printf '\n# %s\n' "$*" >&2; }
step() { printf '\n%s$ jwtis%s%s\n' "$bold" "$(short "$@")" "$plain" >&2; jwtis "$@"; }
# Output lines cut to the terminal's taste: tokens are long.
clip() { cut -c1-110; }
field() { node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8"))[process.argv[1]])' "$1"; }

say 'a vault (age-encrypted) and the identity that opens it'
step init --name https://auth.demo.local
say "a client with its own keys; its client token (serve's bearer token for it) is shown once: the vault keeps a hash"
step client add billing --refresh-strategy refreshBoth --aud https://api.demo.local
step client list
step vault status

say 'an access token and a refresh token (a JWS sealed in a JWE)'
step token issue --client billing --sub alice --claim role=admin --refresh --json > "$work/issued.json"
clip < "$work/issued.json"
access=$(field access_token < "$work/issued.json")
refresh=$(field refresh_token < "$work/issued.json")
step token decode "$access"
step token verify "$access" --aud https://api.demo.local
step token renew --client billing "$refresh" --json | clip
say 'presenting the spent refresh token again revokes the whole family:'
step token renew --client billing "$refresh" || say "exit $? (REFRESH_REUSED, as expected)"

say 'many at once: one NDJSON claim set per line in, one result per line out, in order'
printf '{"sub":"a"}\n{"sub":"b","role":"reader"}\nnot json\n' > "$work/claims.ndjson"
step token issue --client billing --batch < "$work/claims.ndjson" > "$work/batch.ndjson" || say "exit $? (line 3 is not JSON: it got an error line, the others their tokens)"
clip < "$work/batch.ndjson"

say "JWE: seal to a client's encryption key, open with the vault"
echo 'hello from jwtis' | step jwe encrypt - --to billing > "$work/hello.jwe"
clip < "$work/hello.jwe"
step jwe decrypt "$(cat "$work/hello.jwe")"

say 'key rotation: the old keys keep verifying what they signed until their grace ends'
step keys rotate --client billing
step keys list --client billing
step token verify "$access" --aud https://api.demo.local > /dev/null && say 'the token from before the rotation still verifies'
step keys export --client billing --format pem

say 'the HTTP API: serve, register, issue, renew, stop'
export JWTIS_ADMIN_TOKEN="demo-admin-$RANDOM$RANDOM"
printf '\n%s$ jwtis serve --listen 127.0.0.1:0 --workers 1 --json &%s\n' "$bold" "$plain" >&2
# (node itself in the background, not the jwtis function: $! must be the server, for kill)
node "$root/bin/run.js" serve --listen 127.0.0.1:0 --workers 1 --json > "$work/serve.out" 2> "$work/serve.log" &
server=$!
for _ in $(seq 100); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
url=$(field listening < "$work/serve.out")
say "listening on $url"
# POST a JSON body with a bearer token; prints the answer's status and body (tokens clipped).
post() {
  printf "\n%s\$ curl -X POST %s%s -H 'Authorization: Bearer%s' -d '%s'%s\n" "$bold" "$url" "$1" "$(short "$3")" "$(short "$2" | cut -c2-)" "$plain" >&2
  node -e '
    const [url, body, bearer] = process.argv.slice(1)
    const res = await fetch(url, {method: "POST", body, headers: {"content-type": "application/json", authorization: `Bearer ${bearer}`}})
    console.log(res.status, await res.text())
  ' "$url$1" "$2" "$3"
}
web=$(post /register/web '{"refresh_strategy":"refreshBoth"}' "$JWTIS_ADMIN_TOKEN")
echo "$web" | clip
web_token=$(echo "${web#* }" | field client_token)
issued=$(post /issue_token '{"kid":"web","claims":{"sub":"bob"}}' "$web_token")
echo "$issued" | clip
web_refresh=$(echo "${issued#* }" | field refresh_token)
post /renew_token "{\"kid\":\"web\",\"refresh_token\":\"$web_refresh\"}" "$web_token" | clip
kill "$server" && wait "$server" || true
server=
say 'serve stopped; its access log (one JSON line per request, never a token):'
grep '"msg":"request"' "$work/serve.log" >&2

printf '\nDemo done; the throwaway vault in %s is removed.\n' "$work" >&2

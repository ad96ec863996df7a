"""JWE interop with jwcrypto, both ways.

stdin: {"clients": [{"name", "alg", "enc", "enc_jwk" (private, from the vault via age -d),
         "seal": {"alg", "jwk"} (what sealed the refresh token: the client's enc key, or the
         issuer's A256KW key-wrapping key, from the vault), "sig_jwk" (public), "refresh_token"}],
         "plaintext": str}
stdout: {"made": [{"client", "enc", "jwe"}],               # JWEs jwcrypto made to each client's public key
         "opened": {"<client>": claims | {"error": str}}}  # refresh tokens jwcrypto decrypted and verified
"""
import json
import sys

from jwcrypto import jwe, jwk, jws

job = json.load(sys.stdin)
made, opened = [], {}
for c in job["clients"]:
    private = jwk.JWK(**c["enc_jwk"])
    public = jwk.JWK()
    public.import_key(**json.loads(private.export_public()))
    for enc in ("A128GCM", "A192GCM", "A256GCM"):
        e = jwe.JWE(job["plaintext"].encode(), json.dumps({"alg": c["alg"], "enc": enc, "kid": c["enc_jwk"]["kid"]}))
        e.add_recipient(public)
        made.append({"client": c["name"], "enc": enc, "jwe": e.serialize(compact=True)})
    try:
        outer = jwe.JWE()
        outer.deserialize(c["refresh_token"], key=jwk.JWK(**c["seal"]["jwk"]))
        header = json.loads(outer.objects["protected"])
        assert header["cty"] == "JWT" and header["alg"] == c["seal"]["alg"] and header["enc"] == c["enc"], header
        inner = jws.JWS()
        inner.deserialize(outer.payload.decode())
        inner.verify(jwk.JWK(**c["sig_jwk"]))
        opened[c["name"]] = json.loads(inner.payload)
    except Exception as e:
        opened[c["name"]] = {"error": repr(e)}
print(json.dumps({"made": made, "opened": opened}))

"""Verifies jwtis access tokens with PyJWT and jwcrypto, from the JWKS `jwtis keys export` printed.

stdin: {"jwks": {...}, "tokens": [{"alg": "ES256", "token": "...", "aud": "..."}]}
stdout: {"<alg>": {"pyjwt": claims | {"error": str}, "jwcrypto": claims | {"error": str}}}
"""
import json
import sys

import jwt
from jwcrypto import jwk as cjwk
from jwcrypto import jwt as cjwt

job = json.load(sys.stdin)
keyset = jwt.PyJWKSet.from_dict(job["jwks"])
cset = cjwk.JWKSet.from_json(json.dumps(job["jwks"]))
out = {}
for item in job["tokens"]:
    token, alg = item["token"], item["alg"]
    result = {}
    try:
        kid = jwt.get_unverified_header(token)["kid"]
        key = next(k for k in keyset.keys if k.key_id == kid)
        result["pyjwt"] = jwt.decode(token, key.key, algorithms=[alg], audience=item["aud"], issuer=item["iss"])
    except Exception as e:  # report, let the test assert
        result["pyjwt"] = {"error": repr(e)}
    try:
        t = cjwt.JWT(jwt=token, key=cset, algs=[alg], check_claims={"aud": item["aud"], "iss": item["iss"]})
        result["jwcrypto"] = json.loads(t.claims)
    except Exception as e:
        result["jwcrypto"] = {"error": repr(e)}
    out[alg] = result
print(json.dumps(out))

"""Signs HMAC JWTs with PyJWT and jwcrypto, for `jwtis token verify --secret/--key` to check.

stdin: {"secret": "<base64url>", "claims": {...}}
stdout: {"<alg>": {"pyjwt": token, "jwcrypto": token}} for HS256, HS384 and HS512
"""
import base64
import json
import sys

import jwt
from jwcrypto import jwk as cjwk
from jwcrypto import jwt as cjwt

job = json.load(sys.stdin)
k = job["secret"]
secret = base64.urlsafe_b64decode(k + "=" * (-len(k) % 4))
key = cjwk.JWK(kty="oct", k=k)
out = {}
for alg in ("HS256", "HS384", "HS512"):
    token = cjwt.JWT(header={"alg": alg}, claims=job["claims"])
    token.make_signed_token(key)
    out[alg] = {"pyjwt": jwt.encode(job["claims"], secret, algorithm=alg), "jwcrypto": token.serialize()}
json.dump(out, sys.stdout)

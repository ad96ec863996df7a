"""Verifies a JWT with PyJWT and a public key in PEM, as a resource server holding only that key would.

stdin: {"pem": str, "token": str, "alg": str, "aud": str, "iss": str}
stdout: claims | {"error": str}
"""
import json
import sys

import jwt

job = json.load(sys.stdin)
try:
    print(json.dumps(jwt.decode(job["token"], job["pem"], algorithms=[job["alg"]], audience=job["aud"], issuer=job["iss"])))
except Exception as e:  # report, let the test assert
    print(json.dumps({"error": repr(e)}))

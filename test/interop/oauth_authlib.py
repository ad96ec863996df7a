"""Gets tokens from jwtis serve with authlib's OAuth2Session (Debian's python3-authlib), as its
documentation shows: client_credentials with client_secret_basic and client_secret_post, a
jwt-bearer grant (RFC 7523) for a refresh token, and its refresh.

stdin:  {"token_url", "client_id", "client_secret", "scope", "assertion"}
stdout: {"basic": token, "post": token, "bearer": token, "refreshed": token} | {"error": str}
"""
import json
import sys

from authlib.integrations.requests_client import OAuth2Session

job = json.load(sys.stdin)
out = {}
try:
    for method, name in (("client_secret_basic", "basic"), ("client_secret_post", "post")):
        session = OAuth2Session(
            job["client_id"], job["client_secret"], scope=job["scope"], token_endpoint_auth_method=method
        )
        out[name] = session.fetch_token(job["token_url"], grant_type="client_credentials")
    session = OAuth2Session(job["client_id"], job["client_secret"], scope=job["scope"])
    out["bearer"] = session.fetch_token(
        job["token_url"], grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=job["assertion"]
    )
    out["refreshed"] = session.refresh_token(job["token_url"], refresh_token=out["bearer"]["refresh_token"])
except Exception as e:  # report, let the test assert
    out["error"] = repr(e)
print(json.dumps(out))

// A JWTIS v0.1 client in Go, with resty and go-jose v2 as JWTIS's own `client` package, run by
// test/e2e/serve-parity.test.ts against `jwtis serve`. resty decodes every answer into JWTIS's
// request and response types (its http/types.go, and SigEncKeys), go-jose decodes the public keys
// into JSONWebKey and verifies the access tokens with them.
//
// It registers a client, reads its keys, issues, renews, revokes and renews again. An answer a
// JWTIS client could not use ends it with exit 1 and one line on stderr; otherwise it prints a
// summary as JSON on stdout.
//
// Build: GO111MODULE=off GOPATH=/usr/share/gocode go build -o jwtis-go-client .
// Run:   ./jwtis-go-client -url http://127.0.0.1:PORT -issuer ISS -kid NAME [-admin TOKEN]
// Without -admin it sends no credentials at all, as JWTIS v0.1's client did (`serve --auth none`).
package main

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-resty/resty"
	jose "gopkg.in/square/go-jose.v2"
	"gopkg.in/square/go-jose.v2/jwt"
)

// JWTIS v0.1's wire types. Durations go out as integer nanoseconds, as JWTIS's Duration and
// time.Duration both marshal.

type RegisterClientRequest struct {
	Expiry          time.Duration `json:"expiry,omitempty"`
	SigAlg          string        `json:"sig_alg,omitempty"`
	SigBits         int           `json:"sig_bits,omitempty"`
	EncAlg          string        `json:"enc_alg,omitempty"`
	EncBits         int           `json:"enc_bits,omitempty"`
	AuthTTL         time.Duration `json:"auth_ttl,omitempty"`
	RefreshTTL      time.Duration `json:"refresh_ttl,omitempty"`
	RefreshStrategy string        `json:"refresh_strategy,omitempty"`
	// jwtis's own (JWTIS v0.1 sends none): whom refresh tokens are sealed to
	RefreshSeal string `json:"refresh_seal,omitempty"`
}

type RegisterClientResponse struct {
	Kid         string          `json:"kid,omitempty"`
	ClientToken string          `json:"client_token,omitempty"`
	PubSigKey   jose.JSONWebKey `json:"pub_sig_key,omitempty"`
	PubEncKey   jose.JSONWebKey `json:"pub_enc_key,omitempty"`
	Expiry      jwt.NumericDate `json:"expiry,omitempty"`
	Valid       bool            `json:"valid,omitempty"`
}

type SigEncKeys struct {
	Sig    *jose.JSONWebKey `json:"sig"`
	Enc    *jose.JSONWebKey `json:"enc"`
	Expiry jwt.NumericDate  `json:"expiry"`
	Valid  bool             `json:"valid"`
}

type NewTokenRequest struct {
	Kid                   string                 `json:"kid"`
	AuthTokenValidTime    time.Duration          `json:"auth_token_valid_time,omitempty"`
	ResreshTokenValidTime time.Duration          `json:"resresh_token_valid_time,omitempty"`
	Claims                map[string]interface{} `json:"claims,omitempty"`
}

type RenewTokenRequest struct {
	Kid             string `json:"kid"`
	RefreshToken    string `json:"refresh_token"`
	RefreshStrategy string `json:"refresh_strategy,omitempty"`
}

type TokenResponse struct {
	ID           string          `json:"id"`
	AccessToken  string          `json:"access_token"`
	RefreshToken string          `json:"refresh_token"`
	Expiry       jwt.NumericDate `json:"expiry"`
}

// jwtis's error body (JWTIS v0.1's was another; its client never read it).
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

const (
	keyTTL    = 720 * time.Hour
	authTTL   = time.Hour
	issuedTTL = 10 * time.Minute
	leeway    = time.Minute
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go client: "+format+"\n", args...)
	os.Exit(1)
}

type client struct {
	http  *resty.Client
	url   string
	steps []string
}

// call sends one request as JWTIS's client did (a JSON content type on every call), decodes a 2xx
// answer into result and any other into jwtis's error body.
func (c *client) call(method, path, bearer string, body, result interface{}) (int, *apiError) {
	req := c.http.R().SetHeader("Content-Type", "application/json").SetError(&apiError{})
	if bearer != "" {
		req.SetAuthToken(bearer)
	}
	if body != nil {
		req.SetBody(body)
	}
	if result != nil {
		req.SetResult(result)
	}
	resp, err := req.Execute(method, c.url+path)
	if err != nil {
		fail("%s %s: %v", method, path, err)
	}
	c.steps = append(c.steps, fmt.Sprintf("%s %s %d", method, path, resp.StatusCode()))
	if resp.IsError() {
		return resp.StatusCode(), resp.Error().(*apiError)
	}
	return resp.StatusCode(), nil
}

// expect fails unless a call answered want.
func expect(what string, want, got int, apiErr *apiError) {
	if got == want {
		return
	}
	if apiErr != nil {
		fail("%s answered %d %s (%s), want %d", what, got, apiErr.Error.Code, apiErr.Error.Message, want)
	}
	fail("%s answered %d, want %d", what, got, want)
}

// publicKey fails unless jwk is a usable public key for use and alg (of bits, for RSA, when asked).
func publicKey(what string, jwk *jose.JSONWebKey, use, alg string, bits int) {
	switch {
	case jwk == nil || jwk.Key == nil:
		fail("%s: no key", what)
	case !jwk.IsPublic() || !jwk.Valid():
		fail("%s: not a valid public key", what)
	case jwk.KeyID == "" || jwk.Use != use || jwk.Algorithm != alg:
		fail("%s: kid %q use %q alg %q, want a kid, use %q, alg %q", what, jwk.KeyID, jwk.Use, jwk.Algorithm, use, alg)
	}
	if key, ok := jwk.Key.(*rsa.PublicKey); ok && bits != 0 && key.N.BitLen() != bits {
		fail("%s: an RSA key of %d bits, want %d", what, key.N.BitLen(), bits)
	}
}

func thumbprint(jwk *jose.JSONWebKey) string {
	t, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		fail("thumbprint of %s: %v", jwk.KeyID, err)
	}
	return string(t)
}

type accessClaims struct {
	jwt.Claims
	ClientID string `json:"client_id"`
	Role     string `json:"role"`
}

// verify checks a TokenResponse: its access token verifies with go-jose against the client's
// public signing key (and a copy with one claim changed does not, so that check is not vacuous),
// its id and expiry are the token's jti and exp as in JWTIS, and it lives ttl.
func verify(what string, r *TokenResponse, key *jose.JSONWebKey, expected jwt.Expected, ttl time.Duration) accessClaims {
	if r.ID == "" || r.AccessToken == "" || r.RefreshToken == "" || r.Expiry == 0 {
		fail("%s: a TokenResponse with an empty field: %+v", what, *r)
	}
	parsed, err := jwt.ParseSigned(r.AccessToken)
	if err != nil {
		fail("%s: access token: %v", what, err)
	}
	if h := parsed.Headers[0]; h.KeyID != key.KeyID || h.Algorithm != key.Algorithm {
		fail("%s: access token kid %q alg %q, want %q %q", what, h.KeyID, h.Algorithm, key.KeyID, key.Algorithm)
	}
	var claims accessClaims
	if err := parsed.Claims(key, &claims); err != nil {
		fail("%s: access token does not verify with the client's public key: %v", what, err)
	}
	if err := claims.ValidateWithLeeway(expected.WithTime(time.Now()), leeway); err != nil {
		fail("%s: access token claims: %v", what, err)
	}
	if claims.Role != "admin" || claims.ClientID != expected.Audience[0] {
		fail("%s: access token role %q client_id %q, want admin %q", what, claims.Role, claims.ClientID, expected.Audience[0])
	}
	if claims.IssuedAt == nil || claims.Expiry == nil || claims.Expiry.Time().Sub(claims.IssuedAt.Time()) != ttl {
		fail("%s: access token iat %v exp %v, want one %v apart", what, claims.IssuedAt, claims.Expiry, ttl)
	}
	if r.ID != claims.ID || r.Expiry != *claims.Expiry {
		fail("%s: TokenResponse id %q expiry %d, the access token's jti %q exp %d", what, r.ID, r.Expiry, claims.ID, *claims.Expiry)
	}

	parts := strings.Split(r.AccessToken, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"admin"`, `"root"`, 1)))
	tampered, err := jwt.ParseSigned(strings.Join(parts, "."))
	if err == nil {
		err = tampered.Claims(key, &accessClaims{})
	}
	if !errors.Is(err, jose.ErrCryptoFailure) {
		fail("%s: go-jose did not refuse the access token with a claim changed: %v", what, err)
	}
	return claims
}

// refreshToken checks what a client sees of a refresh token: a compact JWE holding a JWT, sealed
// to its pub_enc_key as JWTIS seals it (refresh_seal client), or else (the server's default,
// refresh_seal issuer) with A256KW under a key of the issuer's that is not the client's.
func refreshToken(what, token string, key *jose.JSONWebKey, sealedToClient bool) {
	jwe, err := jose.ParseEncrypted(token)
	if err != nil {
		fail("%s: refresh token is not a compact JWE: %v", what, err)
	}
	h := jwe.Header
	wantKid, wantAlg := key.KeyID, key.Algorithm
	if !sealedToClient {
		wantKid, wantAlg = h.KeyID, "A256KW"
		if h.KeyID == "" || h.KeyID == key.KeyID {
			fail("%s: refresh token sealed by the issuer names kid %q", what, h.KeyID)
		}
	}
	if h.KeyID != wantKid || h.Algorithm != wantAlg || h.ExtraHeaders[jose.HeaderContentType] != "JWT" {
		fail("%s: refresh token kid %q alg %q cty %v, want %q %q JWT",
			what, h.KeyID, h.Algorithm, h.ExtraHeaders[jose.HeaderContentType], wantKid, wantAlg)
	}
}

func main() {
	url := flag.String("url", "", "jwtis serve's base URL")
	kid := flag.String("kid", "go-client", "the client to register")
	admin := flag.String("admin", "", "the admin token; without it, no credentials are sent")
	issuer := flag.String("issuer", "", "the issuer the tokens must name")
	sigAlg := flag.String("sig-alg", "ES256", "sig_alg")
	sigBits := flag.Int("sig-bits", 0, "sig_bits")
	encAlg := flag.String("enc-alg", "ECDH-ES+A256KW", "enc_alg")
	encBits := flag.Int("enc-bits", 0, "enc_bits")
	strategy := flag.String("refresh-strategy", "", "refresh_strategy: the first renewal expects its refresh token back, so not refreshBoth")
	seal := flag.String("refresh-seal", "", "refresh_seal: client for JWTIS's own sealing; none sent by default (the server's: issuer)")
	flag.Parse()

	c := &client{http: resty.New().SetTimeout(10 * time.Second), url: strings.TrimSuffix(*url, "/")}
	start := time.Now()

	var reg RegisterClientResponse
	status, apiErr := c.call("POST", "/register/"+*kid, *admin, &RegisterClientRequest{
		Expiry:          keyTTL,
		SigAlg:          *sigAlg,
		SigBits:         *sigBits,
		EncAlg:          *encAlg,
		EncBits:         *encBits,
		AuthTTL:         authTTL,
		RefreshTTL:      24 * time.Hour,
		RefreshStrategy: *strategy,
		RefreshSeal:     *seal,
	}, &reg)
	expect("POST /register", 201, status, apiErr)
	if reg.Kid != *kid || reg.ClientToken == "" || !reg.Valid {
		fail("RegisterClientResponse kid %q, client_token empty: %v, valid %v", reg.Kid, reg.ClientToken == "", reg.Valid)
	}
	publicKey("pub_sig_key", &reg.PubSigKey, "sig", *sigAlg, *sigBits)
	publicKey("pub_enc_key", &reg.PubEncKey, "enc", *encAlg, *encBits)
	if d := reg.Expiry.Time().Sub(start.Add(keyTTL)); d < -leeway || d > leeway {
		fail("RegisterClientResponse expiry %v, want about now + %v", reg.Expiry.Time(), keyTTL)
	}
	bearer := ""
	if *admin != "" {
		bearer = reg.ClientToken
	}

	var keys SigEncKeys
	status, apiErr = c.call("GET", "/keys/"+*kid, "", nil, &keys)
	expect("GET /keys", 200, status, apiErr)
	publicKey("SigEncKeys sig", keys.Sig, "sig", *sigAlg, *sigBits)
	publicKey("SigEncKeys enc", keys.Enc, "enc", *encAlg, *encBits)
	if thumbprint(keys.Sig) != thumbprint(&reg.PubSigKey) || thumbprint(keys.Enc) != thumbprint(&reg.PubEncKey) {
		fail("GET /keys answered other keys than POST /register")
	}
	if keys.Expiry != reg.Expiry || !keys.Valid {
		fail("SigEncKeys expiry %d valid %v, want %d true", keys.Expiry, keys.Valid, reg.Expiry)
	}

	expected := jwt.Expected{Issuer: *issuer, Subject: "grace", Audience: jwt.Audience{*kid}}
	var issued TokenResponse
	status, apiErr = c.call("POST", "/issue_token", bearer, &NewTokenRequest{
		Kid:                   *kid,
		AuthTokenValidTime:    issuedTTL,
		ResreshTokenValidTime: time.Hour,
		Claims:                map[string]interface{}{"sub": "grace", "role": "admin"},
	}, &issued)
	expect("POST /issue_token", 201, status, apiErr)
	claims := verify("issue", &issued, keys.Sig, expected, issuedTTL)
	refreshToken("issue", issued.RefreshToken, keys.Enc, *seal == "client")

	// a fresh refresh token under noRefresh or refreshOnExpire comes back as it was; the new
	// access token has the client's auth_ttl
	var renewed TokenResponse
	status, apiErr = c.call("POST", "/renew_token", bearer,
		&RenewTokenRequest{Kid: *kid, RefreshToken: issued.RefreshToken}, &renewed)
	expect("POST /renew_token", 201, status, apiErr)
	if verify("renew", &renewed, keys.Sig, expected, authTTL).ID == claims.ID || renewed.RefreshToken != issued.RefreshToken {
		fail("renew: want a new access token and the same refresh token")
	}

	// refresh_strategy on the request overrides the client's
	var rotated TokenResponse
	status, apiErr = c.call("POST", "/renew_token", bearer,
		&RenewTokenRequest{Kid: *kid, RefreshToken: renewed.RefreshToken, RefreshStrategy: "refreshBoth"}, &rotated)
	expect("POST /renew_token refreshBoth", 201, status, apiErr)
	verify("renew refreshBoth", &rotated, keys.Sig, expected, authTTL)
	refreshToken("renew refreshBoth", rotated.RefreshToken, keys.Enc, *seal == "client")
	if rotated.RefreshToken == renewed.RefreshToken {
		fail("renew with refreshBoth: want a new refresh token")
	}

	status, apiErr = c.call("POST", "/revoke_token", bearer,
		&RenewTokenRequest{Kid: *kid, RefreshToken: rotated.RefreshToken}, nil)
	expect("POST /revoke_token", 204, status, apiErr)

	status, apiErr = c.call("POST", "/renew_token", bearer,
		&RenewTokenRequest{Kid: *kid, RefreshToken: rotated.RefreshToken}, &TokenResponse{})
	expect("POST /renew_token after revoke", 403, status, apiErr)
	if apiErr.Error.Code != "TOKEN_REVOKED" {
		fail("POST /renew_token after revoke answered %s (%s), want TOKEN_REVOKED", apiErr.Error.Code, apiErr.Error.Message)
	}

	out, _ := json.Marshal(map[string]interface{}{
		"after_revoke": apiErr.Error.Code,
		"claims":       claims,
		"enc":          map[string]string{"alg": keys.Enc.Algorithm, "kid": keys.Enc.KeyID},
		"sig":          map[string]string{"alg": keys.Sig.Algorithm, "kid": keys.Sig.KeyID},
		"steps":        c.steps,
	})
	fmt.Println(string(out))
}

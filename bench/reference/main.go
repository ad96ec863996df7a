// The reference for `npm run bench`: the seed's own stack (Go net/http and go-jose v2, as JWTIS
// used them) doing per request what `jwtis serve` does, without its durable state:
//
//	POST /issue_token  bearer check, an ES256 access token, and an ES256 refresh token signed
//	                   then sealed (cty JWT, A256GCM) by -seal: client (the seed's sealing,
//	                   ECDH-ES+A256KW to the client's P-256 key) or issuer (A256KW under a
//	                   32-byte AES key the issuer keeps, jwtis's refresh_seal: issuer)
//	POST /renew_token  bearer check, open and verify the refresh token, a new ES256 access
//	                   token, and the same refresh token back (JWTIS's default noRefresh) or,
//	                   with "refresh_strategy":"refreshBoth", a new one signed and sealed: the
//	                   crypto of a jwtis rotation, though nothing is stored and no reuse detected
//
// Build: GOPATH=/usr/share/gocode GO111MODULE=off go build -o jwtis-reference .
// Run:   ./jwtis-reference -listen 127.0.0.1:PORT -token CLIENT_TOKEN [-seal client|issuer]
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"strings"
	"time"

	jose "gopkg.in/square/go-jose.v2"
	"gopkg.in/square/go-jose.v2/jwt"
)

type server struct {
	token     string
	sigKey    *ecdsa.PrivateKey
	openKey   interface{} // what opens a refresh token: the client's P-256 key or the issuer's AES key
	access    jose.Signer
	refresh   jose.Signer
	encrypter jose.Encrypter
}

type tokenResponse struct {
	ID           string          `json:"id"`
	AccessToken  string          `json:"access_token"`
	RefreshToken string          `json:"refresh_token"`
	Expiry       jwt.NumericDate `json:"expiry"`
}

type refreshClaims struct {
	jwt.Claims
	Custom map[string]interface{} `json:"cl,omitempty"`
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Bearer ") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(h[7:]), []byte(s.token)) == 1
}

func (s *server) accessToken(sub string, custom map[string]interface{}) (string, string, time.Time, error) {
	now := time.Now()
	exp := now.Add(15 * time.Minute)
	id := newID()
	claims := jwt.Claims{Issuer: "JWTIS", Subject: sub, Audience: jwt.Audience{"app"}, ID: id,
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(exp)}
	token, err := jwt.Signed(s.access).Claims(claims).Claims(custom).CompactSerialize()
	return token, id, exp, err
}

func (s *server) refreshToken(sub string, custom map[string]interface{}) (string, error) {
	now := time.Now()
	rc := refreshClaims{Claims: jwt.Claims{Issuer: "JWTIS", Subject: sub, ID: newID(), IssuedAt: jwt.NewNumericDate(now),
		Expiry: jwt.NewNumericDate(now.Add(72 * time.Hour))}, Custom: custom}
	return jwt.SignedAndEncrypted(s.refresh, s.encrypter).Claims(rc).CompactSerialize()
}

func fail(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write([]byte(`{"error":{"code":"` + code + `","message":"` + code + `"}}`))
}

func reply(w http.ResponseWriter, body interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(body)
}

func (s *server) issue(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		fail(w, 401, "UNAUTHORIZED")
		return
	}
	var req struct {
		Kid    string                 `json:"kid"`
		Claims map[string]interface{} `json:"claims"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		fail(w, 400, "USAGE")
		return
	}
	sub, _ := req.Claims["sub"].(string)
	delete(req.Claims, "sub")
	access, id, exp, err := s.accessToken(sub, req.Claims)
	if err != nil {
		fail(w, 500, "INTERNAL")
		return
	}
	refresh, err := s.refreshToken(sub, req.Claims)
	if err != nil {
		fail(w, 500, "INTERNAL")
		return
	}
	reply(w, tokenResponse{ID: id, AccessToken: access, RefreshToken: refresh, Expiry: *jwt.NewNumericDate(exp)})
}

func (s *server) renew(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		fail(w, 401, "UNAUTHORIZED")
		return
	}
	var req struct {
		Kid             string `json:"kid"`
		RefreshToken    string `json:"refresh_token"`
		RefreshStrategy string `json:"refresh_strategy"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		fail(w, 400, "USAGE")
		return
	}
	nested, err := jwt.ParseSignedAndEncrypted(req.RefreshToken)
	if err != nil {
		fail(w, 400, "MALFORMED_TOKEN")
		return
	}
	inner, err := nested.Decrypt(s.openKey)
	if err != nil {
		fail(w, 403, "DECRYPT_FAILED")
		return
	}
	var rc refreshClaims
	if err := inner.Claims(&s.sigKey.PublicKey, &rc); err != nil {
		fail(w, 403, "BAD_SIGNATURE")
		return
	}
	if err := rc.Claims.Validate(jwt.Expected{Issuer: "JWTIS", Time: time.Now()}); err != nil {
		fail(w, 409, "TOKEN_EXPIRED")
		return
	}
	access, id, exp, err := s.accessToken(rc.Subject, rc.Custom)
	if err != nil {
		fail(w, 500, "INTERNAL")
		return
	}
	refresh := req.RefreshToken
	if req.RefreshStrategy == "refreshBoth" {
		if refresh, err = s.refreshToken(rc.Subject, rc.Custom); err != nil {
			fail(w, 500, "INTERNAL")
			return
		}
	}
	reply(w, tokenResponse{ID: id, AccessToken: access, RefreshToken: refresh, Expiry: *jwt.NewNumericDate(exp)})
}

// sealingRecipient makes the key refresh tokens are sealed to, keeps what opens them in s.openKey.
func sealingRecipient(seal string, s *server) (jose.Recipient, error) {
	switch seal {
	case "client":
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		s.openKey = key
		return jose.Recipient{Algorithm: jose.ECDH_ES_A256KW, Key: &key.PublicKey, KeyID: "enc"}, err
	case "issuer":
		key := make([]byte, 32)
		_, err := rand.Read(key)
		s.openKey = key
		return jose.Recipient{Algorithm: jose.A256KW, Key: key, KeyID: "rs"}, err
	}
	return jose.Recipient{}, fmt.Errorf("-seal must be client or issuer, not %q", seal)
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:4343", "address:port")
	token := flag.String("token", "", "the client token bearer requests must carry")
	seal := flag.String("seal", "client", "how refresh tokens are sealed: client (ECDH-ES+A256KW) or issuer (A256KW)")
	flag.Parse()
	if *token == "" {
		log.Fatal("-token is required")
	}
	s := &server{token: *token}
	var err error
	s.sigKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	recipient, err := sealingRecipient(*seal, s)
	must(err)
	sigKey := jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: s.sigKey, KeyID: "sig"}}
	s.access, err = jose.NewSigner(sigKey, (&jose.SignerOptions{}).WithType("at+jwt"))
	must(err)
	s.refresh, err = jose.NewSigner(sigKey, (&jose.SignerOptions{}).WithType("rt+jwt"))
	must(err)
	s.encrypter, err = jose.NewEncrypter(jose.A256GCM, recipient, (&jose.EncrypterOptions{}).WithContentType("JWT"))
	must(err)
	mux := http.NewServeMux()
	mux.HandleFunc("/issue_token", s.issue)
	mux.HandleFunc("/renew_token", s.renew)
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("pong")) })
	srv := &http.Server{Addr: *listen, Handler: mux, ReadTimeout: 10 * time.Second}
	log.Printf("jwtis-reference listening on %s, sealing refresh tokens for the %s", *listen, *seal)
	must(srv.ListenAndServe())
}

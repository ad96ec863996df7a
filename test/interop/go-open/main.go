// Opens jwtis refresh tokens with go-jose v2 (Debian's golang-gopkg-square-go-jose.v2-dev), as a
// Go service holding the key from the vault would: the JWE decrypted with the key that sealed it
// (the issuer's A256KW key-wrapping key, or the client's ECDH-ES key), then the inner JWS verified
// with the client's public signing key.
//
// stdin:  [{"name", "token", "seal_jwk" (private JWK), "sig_jwk" (public JWK)}]
// stdout: {"<name>": {"alg", "enc", "claims"} | {"error"}}
package main

import (
	"encoding/json"
	"fmt"
	"os"

	jose "gopkg.in/square/go-jose.v2"
)

type job struct {
	Name    string          `json:"name"`
	Token   string          `json:"token"`
	SealJWK jose.JSONWebKey `json:"seal_jwk"`
	SigJWK  jose.JSONWebKey `json:"sig_jwk"`
}

func open(j job) (map[string]interface{}, error) {
	outer, err := jose.ParseEncrypted(j.Token)
	if err != nil {
		return nil, err
	}
	inner, err := outer.Decrypt(j.SealJWK.Key)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	signed, err := jose.ParseSigned(string(inner))
	if err != nil {
		return nil, err
	}
	payload, err := signed.Verify(j.SigJWK.Key)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	var claims map[string]interface{}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, err
	}
	return map[string]interface{}{
		"alg":    outer.Header.Algorithm,
		"enc":    outer.Header.ExtraHeaders["enc"],
		"claims": claims,
	}, nil
}

func main() {
	var jobs []job
	if err := json.NewDecoder(os.Stdin).Decode(&jobs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	out := map[string]interface{}{}
	for _, j := range jobs {
		if opened, err := open(j); err != nil {
			out[j.Name] = map[string]string{"error": err.Error()}
		} else {
			out[j.Name] = opened
		}
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

// Gets a token from jwtis serve with Go's golang.org/x/oauth2/clientcredentials (Debian's
// golang-golang-x-oauth2-dev), as its documentation shows: a Config, then Token.
//
// flags:  -token-url URL -id ID -secret SECRET -scope S (repeatable: space-separated) -resource R -style header|params
// stdout: {"access_token", "token_type", "expiry"} | exit 1 with the error on stderr
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func main() {
	tokenURL := flag.String("token-url", "", "the token endpoint")
	id := flag.String("id", "", "client id")
	secret := flag.String("secret", "", "client secret")
	scope := flag.String("scope", "", "space-separated scopes")
	resource := flag.String("resource", "", "RFC 8707 resource")
	style := flag.String("style", "header", "header (client_secret_basic) or params (client_secret_post)")
	flag.Parse()

	config := clientcredentials.Config{
		ClientID:     *id,
		ClientSecret: *secret,
		TokenURL:     *tokenURL,
		Scopes:       strings.Fields(*scope),
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	if *style == "params" {
		config.AuthStyle = oauth2.AuthStyleInParams
	}
	if *resource != "" {
		config.EndpointParams = url.Values{"resource": {*resource}}
	}

	token, err := config.Token(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(map[string]interface{}{
		"access_token": token.AccessToken,
		"token_type":   token.TokenType,
		"expiry":       token.Expiry,
	})
}

package forward

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// Credentials are the secrets sent to Elasticsearch: HTTP basic auth
// (Username and Password), an API key or a bearer token. At most one
// scheme is set. Printing a Credentials with any fmt verb shows only the
// scheme, never a secret.
type Credentials struct{ Username, Password, APIKey, Bearer string }

// Authentication scheme names, as used in messages.
const (
	authNone   = "none"
	authBasic  = "basic"
	authAPIKey = "api_key"
	authBearer = "bearer"
)

// schemes lists the schemes that have at least one field set.
func (c Credentials) schemes() []string {
	var s []string
	if c.Username != "" || c.Password != "" {
		s = append(s, authBasic)
	}
	if c.APIKey != "" {
		s = append(s, authAPIKey)
	}
	if c.Bearer != "" {
		s = append(s, authBearer)
	}
	return s
}

// Format implements fmt.Formatter so that no verb (%v, %+v, %#v, %s, %q,
// %x, %d...) can print a secret, also when Credentials is a field of a
// printed struct.
func (c Credentials) Format(f fmt.State, _ rune) {
	s := c.schemes()
	desc := authNone
	if len(s) > 0 {
		desc = strings.Join(s, "+") + " [REDACTED]"
	}
	_, _ = io.WriteString(f, "forward.Credentials{"+desc+"}")
}

// validate checks that at most one scheme is set, that basic auth has
// both parts and that no value holds control characters (which cannot go
// into a header). Messages name fields, never values.
func (c Credentials) validate() error {
	s := c.schemes()
	if len(s) > 1 {
		return fmt.Errorf("credentials: several authentication schemes set (%s); set only one", strings.Join(s, ", "))
	}
	if c.Password != "" && c.Username == "" {
		return errors.New("credentials: password set without a username")
	}
	if c.Username != "" && c.Password == "" {
		return errors.New("credentials: username set without a password")
	}
	if strings.Contains(c.Username, ":") {
		return errors.New("credentials: the username must not contain ':'")
	}
	for _, f := range []struct{ name, v string }{
		{"username", c.Username}, {"password", c.Password},
		{"api key", c.APIKey}, {"bearer token", c.Bearer},
	} {
		if hasControl(f.v) {
			return fmt.Errorf("credentials: the %s contains control characters", f.name)
		}
	}
	return nil
}

// encodedAPIKey is the API key as sent after "ApiKey ": Elasticsearch
// wants base64("id:api_key"). A key given as "id:api_key" (base64 never
// holds ':') is encoded here; otherwise it is taken as already encoded.
func (c Credentials) encodedAPIKey() string {
	if strings.Contains(c.APIKey, ":") {
		return base64.StdEncoding.EncodeToString([]byte(c.APIKey))
	}
	return c.APIKey
}

// header is the value of the Authorization header, "" for none.
func (c Credentials) header() string {
	switch {
	case c.Username != "":
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password))
	case c.APIKey != "":
		return "ApiKey " + c.encodedAPIKey()
	case c.Bearer != "":
		return "Bearer " + c.Bearer
	}
	return ""
}

// secretStrings are the strings that must never reach an error message:
// each secret and each encoding of it sent on the wire, longest first so
// that a longer one is replaced before a part of it.
func (c Credentials) secretStrings() []string {
	var s []string
	add := func(v string) {
		if v != "" && !slices.Contains(s, v) {
			s = append(s, v)
		}
	}
	if h := c.header(); h != "" {
		add(h)
		_, cred, _ := strings.Cut(h, " ")
		add(cred)
	}
	add(c.Password)
	add(c.APIKey)
	if _, key, ok := strings.Cut(c.APIKey, ":"); ok {
		add(key) // the part before ':' is the key's id, not a secret
	}
	add(c.Bearer)
	slices.SortStableFunc(s, func(a, b string) int { return len(b) - len(a) })
	return s
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// maxSecretFileBytes bounds what LoadCredentials reads from one file.
const maxSecretFileBytes = 64 << 10

// LoadCredentials reads the credentials from the files named in the
// config (username_file, password_file, api_key_file, bearer_token_file;
// "" = not set), trimming one trailing newline ("\n" or "\r\n") from each.
// A named file must not be empty. Errors name the file, never its content.
func LoadCredentials(usernameFile, passwordFile, apiKeyFile, bearerFile string) (Credentials, error) {
	var c Credentials
	for _, f := range []struct {
		key, name string
		dst       *string
	}{
		{"username_file", usernameFile, &c.Username},
		{"password_file", passwordFile, &c.Password},
		{"api_key_file", apiKeyFile, &c.APIKey},
		{"bearer_token_file", bearerFile, &c.Bearer},
	} {
		if f.name == "" {
			continue
		}
		v, err := readSecretFile(f.key, f.name)
		if err != nil {
			return Credentials{}, err
		}
		*f.dst = v
	}
	if (usernameFile == "") != (passwordFile == "") {
		return Credentials{}, errors.New("credentials: username_file and password_file must be set together")
	}
	if err := c.validate(); err != nil {
		return Credentials{}, err
	}
	return c, nil
}

func readSecretFile(key, name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("%s %q: %w", key, name, pathErrorCause(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("%s %q: %w", key, name, pathErrorCause(err))
	}
	if len(b) > maxSecretFileBytes {
		return "", fmt.Errorf("%s %q: larger than %d bytes", key, name, maxSecretFileBytes)
	}
	s := strings.TrimSuffix(string(b), "\n")
	s = strings.TrimSuffix(s, "\r")
	if s == "" {
		return "", fmt.Errorf("%s %q is empty", key, name)
	}
	if hasControl(s) {
		return "", fmt.Errorf("%s %q: holds several lines or control characters (only one trailing newline is removed)", key, name)
	}
	return s, nil
}

// pathErrorCause drops the *fs.PathError wrapper, whose text repeats the
// file name, keeping its cause (errors.Is(err, fs.ErrNotExist) still works).
func pathErrorCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// TLSConfig builds the client TLS config from the config's tls section:
// caFile (PEM; when set, the only trusted roots), certFile and keyFile
// (a client certificate, both or neither), serverName (empty = the URL's
// host) and insecure (skip verification of the server's certificate).
// The minimum version is TLS 1.2. Errors name files, never their content.
func TLSConfig(caFile, certFile, keyFile, serverName string, insecure bool) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         serverName,
		InsecureSkipVerify: insecure, //nolint:gosec // asked for in the config
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file %q: %w", caFile, pathErrorCause(err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %q: no PEM certificate found", caFile)
		}
		cfg.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("tls: cert_file and key_file must be set together")
	}
	if certFile != "" {
		certPEM, err := os.ReadFile(certFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file %q: %w", certFile, pathErrorCause(err))
		}
		keyPEM, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("key_file %q: %w", keyFile, pathErrorCause(err))
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			// crypto/tls's messages describe the problem, not the bytes.
			return nil, fmt.Errorf("cert_file %q, key_file %q: %v", certFile, keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

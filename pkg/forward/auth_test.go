package forward

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeTestFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadCredentials(t *testing.T) {
	dir := t.TempDir()
	user := writeTestFile(t, dir, "user", "elastic\n")
	pass := writeTestFile(t, dir, "pass", "pw-S3cret\n")
	passCRLF := writeTestFile(t, dir, "pass-crlf", "pw-S3cret\r\n")
	passNoNL := writeTestFile(t, dir, "pass-nonl", "pw-S3cret")
	passTwoNL := writeTestFile(t, dir, "pass-2nl", "pw-S3cret\n\n")
	passTwoLines := writeTestFile(t, dir, "pass-lines", "pw-S3cret\nsecond-S3cret\n")
	passSpaces := writeTestFile(t, dir, "pass-spaces", " pw S3cret \n")
	key := writeTestFile(t, dir, "key", "a2V5LWlkOmtleS1TM2NyZXQ=\n")
	token := writeTestFile(t, dir, "token", "tok-S3cret\n")
	empty := writeTestFile(t, dir, "empty", "")
	onlyNL := writeTestFile(t, dir, "only-newline", "\n")
	big := writeTestFile(t, dir, "big", strings.Repeat("S3cret", 20000))
	missing := filepath.Join(dir, "missing")

	for _, tc := range []struct {
		name                    string
		user, pass, key, bearer string
		want                    Credentials
		wantErr                 string // also checked: names the file given here
		errFile                 string
		notExist                bool
	}{
		{name: "none", want: Credentials{}},
		{name: "basic", user: user, pass: pass, want: Credentials{Username: "elastic", Password: "pw-S3cret"}},
		{name: "CRLF", user: user, pass: passCRLF, want: Credentials{Username: "elastic", Password: "pw-S3cret"}},
		{name: "no newline", user: user, pass: passNoNL, want: Credentials{Username: "elastic", Password: "pw-S3cret"}},
		{name: "spaces kept", user: user, pass: passSpaces, want: Credentials{Username: "elastic", Password: " pw S3cret "}},
		{name: "api key", key: key, want: Credentials{APIKey: "a2V5LWlkOmtleS1TM2NyZXQ="}},
		{name: "bearer", bearer: token, want: Credentials{Bearer: "tok-S3cret"}},
		{name: "missing file", user: user, pass: missing, wantErr: "password_file", errFile: missing, notExist: true},
		{name: "directory", key: dir, wantErr: "api_key_file", errFile: dir},
		{name: "empty file", bearer: empty, wantErr: "is empty", errFile: empty},
		{name: "only a newline", bearer: onlyNL, wantErr: "is empty", errFile: onlyNL},
		{name: "two newlines", user: user, pass: passTwoNL, wantErr: "several lines", errFile: passTwoNL},
		{name: "two lines", user: user, pass: passTwoLines, wantErr: "several lines", errFile: passTwoLines},
		{name: "too large", key: big, wantErr: "larger than", errFile: big},
		{name: "username without password", user: user, wantErr: "must be set together"},
		{name: "password without username", pass: pass, wantErr: "must be set together"},
		{name: "two schemes", key: key, bearer: token, wantErr: "several authentication schemes"},
		{name: "basic and api key", user: user, pass: pass, key: key, wantErr: "several authentication schemes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadCredentials(tc.user, tc.pass, tc.key, tc.bearer)
			if tc.wantErr == "" {
				if err != nil || got != tc.want {
					t.Fatalf("LoadCredentials = %#v, %v; want %#v", got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if tc.errFile != "" && !strings.Contains(err.Error(), tc.errFile) {
				t.Errorf("err = %v, want it to name %s", err, tc.errFile)
			}
			if strings.Count(err.Error(), dir) > 1 {
				t.Errorf("err = %v names the file twice", err)
			}
			if strings.Contains(err.Error(), "S3cret") || strings.Contains(err.Error(), "a2V5") {
				t.Errorf("err = %v shows a file's content", err)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tc.notExist {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %v, want %v", got, tc.notExist)
			}
		})
	}
}

// testPKI writes a CA, a server certificate for 127.0.0.1 signed by it and
// a client certificate and key, and returns their paths.
type testPKI struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
	serverTLS                                            tls.Certificate
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	writePEM := func(name, typ string, der []byte) string {
		return writeTestFile(t, dir, name, string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})))
	}
	writeKey := func(name string, k *ecdsa.PrivateKey) string {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return writePEM(name, "PRIVATE KEY", der)
	}
	now := time.Now()
	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "logmeter test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, usage x509.ExtKeyUsage, name string) (string, string) {
		k := newKey()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			DNSNames: []string{"es.test"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return writePEM(name+".crt", "CERTIFICATE", der), writeKey(name+".key", k)
	}
	p := testPKI{caFile: writePEM("ca.crt", "CERTIFICATE", caDER)}
	p.serverCert, p.serverKey = leaf(2, x509.ExtKeyUsageServerAuth, "server")
	p.clientCert, p.clientKey = leaf(3, x509.ExtKeyUsageClientAuth, "client")
	if p.serverTLS, err = tls.LoadX509KeyPair(p.serverCert, p.serverKey); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTLSConfigErrors(t *testing.T) {
	pki := newTestPKI(t)
	dir := t.TempDir()
	notPEM := writeTestFile(t, dir, "not-pem", "S3cret content, not PEM\n")
	badKey := writeTestFile(t, dir, "bad.key", "-----BEGIN PRIVATE KEY-----\nUzNjcmV0\n-----END PRIVATE KEY-----\n")
	missing := filepath.Join(dir, "missing.pem")
	for _, tc := range []struct {
		name          string
		ca, cert, key string
		wantErr       string
		wantFiles     []string
	}{
		{"missing ca", missing, "", "", "ca_file", []string{missing}},
		{"ca not PEM", notPEM, "", "", "no PEM certificate", []string{notPEM}},
		{"cert without key", "", pki.clientCert, "", "must be set together", nil},
		{"key without cert", "", "", pki.clientKey, "must be set together", nil},
		{"missing cert", "", missing, pki.clientKey, "cert_file", []string{missing}},
		{"missing key", "", pki.clientCert, missing, "key_file", []string{missing}},
		{"key not PEM", "", pki.clientCert, notPEM, "key_file", []string{pki.clientCert, notPEM}},
		{"bad key", "", pki.clientCert, badKey, "key_file", []string{badKey}},
		{"key of another cert", "", pki.clientCert, pki.serverKey, "does not match", []string{pki.clientCert, pki.serverKey}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := TLSConfig(tc.ca, tc.cert, tc.key, "", false)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("TLSConfig = %v, %v; want an error containing %q", cfg, err, tc.wantErr)
			}
			for _, f := range tc.wantFiles {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("err = %v, want it to name %s", err, f)
				}
			}
			if strings.Contains(err.Error(), "S3cret") || strings.Contains(err.Error(), "UzNjcmV0") {
				t.Errorf("err = %v shows a file's content", err)
			}
		})
	}
}

// TestTLSConfigHTTPS connects to an HTTPS server that asks for a client
// certificate, with configs built by TLSConfig.
func TestTLSConfigHTTPS(t *testing.T) {
	pki := newTestPKI(t)
	caPEM, err := os.ReadFile(pki.caFile)
	if err != nil {
		t.Fatal(err)
	}
	clientCAs := x509.NewCertPool()
	clientCAs.AppendCertsFromPEM(caPEM)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		esAnswer{body: `{"version":{"number":"8.15.0"}}`}.write(w)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.serverTLS}, ClientCAs: clientCAs, ClientAuth: tls.VerifyClientCertIfGiven}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		name               string
		ca, cert, key, sni string
		insecure           bool
		wantErr            string
	}{
		{name: "ca and server name", ca: pki.caFile, sni: "es.test"},
		{name: "client certificate", ca: pki.caFile, cert: pki.clientCert, key: pki.clientKey, sni: "es.test"},
		{name: "wrong server name", ca: pki.caFile, sni: "other.test", wantErr: "certificate"},
		{name: "system roots only", sni: "es.test", wantErr: "certificate"},
		{name: "insecure", insecure: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := TLSConfig(tc.ca, tc.cert, tc.key, tc.sni, tc.insecure)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MinVersion != tls.VersionTLS12 || cfg.ServerName != tc.sni || cfg.InsecureSkipVerify != tc.insecure {
				t.Errorf("config: min version %x, server name %q, insecure %v", cfg.MinVersion, cfg.ServerName, cfg.InsecureSkipVerify)
			}
			if got := len(cfg.Certificates); got != map[bool]int{false: 0, true: 1}[tc.cert != ""] {
				t.Errorf("%d client certificates", got)
			}
			c := newTestClient(t, ClientOptions{URLs: []string{srv.URL}, TLS: cfg})
			v, _, err := c.Info(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Info err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || v != "8.15.0" {
				t.Fatalf("Info = %q, %v", v, err)
			}
		})
	}
}

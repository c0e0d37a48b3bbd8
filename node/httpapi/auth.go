package httpapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile is the name of the API token file in a node's home directory.
const TokenFile = "api-token"

// tokenBytes is the size of a new token's randomness (it is stored as twice as many hex digits).
const tokenBytes = 32

// Errors of the state-changing routes' checks.
var (
	// ErrUnauthorized: no bearer token, or the wrong one.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForeignHost: the Host header names a host this API does not serve (DNS rebinding).
	ErrForeignHost = errors.New("host not allowed")
	// ErrCrossSite: the Origin header names another site than the one asked.
	ErrCrossSite = errors.New("cross-site request refused")
	// ErrBadToken: the token file exists but holds no usable token.
	ErrBadToken = errors.New("bad api token file")
)

// LoadOrCreateToken reads the API token at path, or, on first use, writes a new random one there (mode 0600, like
// a cookie file) and reports created. Clients send it as "Authorization: Bearer <token>".
func LoadOrCreateToken(path string) (token string, created bool, err error) {
	data, err := os.ReadFile(path)
	if err == nil {
		token = strings.TrimSpace(string(data))
		if len(token) < 2*16 || strings.ContainsAny(token, " \t\r\n") {
			return "", false, fmt.Errorf("%w: %s: want at least 32 characters on one line", ErrBadToken, path)
		}
		return token, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("read api token: %w", err)
	}
	b := make([]byte, tokenBytes)
	rand.Read(b)
	token = hex.EncodeToString(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, fmt.Errorf("create api token: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", false, fmt.Errorf("create api token: %w", err)
	}
	_, err = f.WriteString(token + "\n")
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return "", false, fmt.Errorf("write api token: %w", err)
	}
	return token, true, nil
}

// guard lets a state-changing request through only with an allowed Host, a same-host Origin (or none, as from
// curl and scripts) and the bearer token.
func (s *Server) guard(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.checkHost(r.Host); err != nil {
			fail(w, http.StatusForbidden, err)
			return
		}
		if err := checkOrigin(r); err != nil {
			fail(w, http.StatusForbidden, err)
			return
		}
		if err := s.checkToken(r.Header.Get("Authorization")); err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="posnode"`)
			fail(w, http.StatusUnauthorized, err)
			return
		}
		next(w, r)
	}
}

// checkHost refuses a Host that is a DNS name other than localhost or the name the API was told to listen on:
// a page whose name was rebound to this address would send exactly that. An IP literal cannot be rebound.
func (s *Server) checkHost(hostport string) error {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	listen, _, _ := net.SplitHostPort(s.cfg.Addr)
	if net.ParseIP(host) != nil || host == "localhost" || strings.HasSuffix(host, ".localhost") ||
		(host != "" && host == strings.ToLower(listen)) {
		return nil
	}
	return fmt.Errorf("%w: %q (use an IP address, localhost or the listen host)", ErrForeignHost, hostport)
}

// checkOrigin refuses a browser request sent by a page of another site than the host it asks.
func checkOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
		return fmt.Errorf("%w: origin %q, host %q", ErrCrossSite, origin, r.Host)
	}
	return nil
}

// checkToken checks an Authorization header: the scheme Bearer, in any case (RFC 9110 §11.1), then the token.
func (s *Server) checkToken(header string) error {
	scheme, got, _ := strings.Cut(strings.TrimSpace(header), " ")
	if !strings.EqualFold(scheme, "Bearer") ||
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.cfg.Token)) != 1 {
		return fmt.Errorf("%w: send the header \"Authorization: Bearer <token>\" with the token from the node's "+
			"home directory (%s)", ErrUnauthorized, TokenFile)
	}
	return nil
}

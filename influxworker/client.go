package influxworker

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/common/config"
)

// connect sets up how p reaches its server: the UDP sender, or the HTTP
// client, the Authorization header and the endpoint URLs. It reads the
// credential files but does no network I/O.
func (p *Pool) connect() error {
	if p.cfg.Transport == TransportUDP {
		return p.connectUDP()
	}
	base, err := parseBaseURL(p.cfg.URL)
	if err != nil {
		return err
	}
	client, err := newHTTPClient(p.cfg)
	if err != nil {
		return err
	}
	auth, err := authorizationHeader(p.cfg)
	if err != nil {
		return err
	}
	p.client, p.authorization = client, auth
	p.pingURL = base.JoinPath("ping").String()
	p.queryURL = base.JoinPath("query").String()
	p.writeURL = writeURL(p.cfg, base)
	q := url.Values{"db": {p.cfg.Database}}
	if p.cfg.RetentionPolicy != "" {
		q.Set("rp", p.cfg.RetentionPolicy)
	}
	p.promReadURL = base.JoinPath("api", "v1", "prom", "read").String() + "?" + q.Encode()
	return nil
}

// writeURL is the write endpoint of cfg's API with its parameters.
// Timestamps are milliseconds, as Prometheus's.
func writeURL(cfg Config, base *url.URL) string {
	if cfg.API == APIv2 {
		bucket := cfg.Bucket
		if bucket == "" {
			bucket = cfg.Database
		}
		q := url.Values{"org": {cfg.Org}, "bucket": {bucket}, "precision": {"ms"}}
		return base.JoinPath("api", "v2", "write").String() + "?" + q.Encode()
	}
	q := url.Values{"db": {cfg.Database}, "precision": {"ms"}}
	if cfg.RetentionPolicy != "" {
		q.Set("rp", cfg.RetentionPolicy)
	}
	return base.JoinPath("write").String() + "?" + q.Encode()
}

// newHTTPClient builds the client of cfg's http_client_config, or of
// Prometheus's defaults (redirects followed, HTTP/2) without one. The
// prometheus/common transport keeps up to 1000 idle connections per host,
// more than any pool.workers, and takes a proxy from the environment only
// with proxy_from_environment, so that a database on the local network is
// never reached through a proxy by surprise.
func newHTTPClient(cfg Config) (*http.Client, error) {
	hc := config.DefaultHTTPClientConfig
	if cfg.HTTPClientConfig != nil {
		hc = *cfg.HTTPClientConfig
	}
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	rt, err := config.NewRoundTripperFromConfig(hc, "influxdb_"+cfg.Name,
		config.WithDialContextFunc(dialer.DialContext),
		config.WithIdleConnTimeout(idleConnTimeout),
	)
	if err != nil {
		return nil, fmt.Errorf("http_client_config: %w", err)
	}
	// No client timeout: each request gets a context deadline, which also
	// covers reading the body and lets errors say which limit hit.
	client := &http.Client{Transport: rt}
	if !hc.FollowRedirects {
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return client, nil
}

// validHeaderValue reports whether s can be sent in an HTTP header: no
// control characters but tab.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// authorizationHeader is the Authorization header of the top-level
// credentials, "" without any: Token for a token, else Basic for a
// username. Files are read once per New, so that a reload picks up rotated
// credentials.
func authorizationHeader(cfg Config) (string, error) {
	token := string(cfg.Token)
	if cfg.TokenFile != "" {
		var err error
		if token, err = readSecretFile("token_file", cfg.TokenFile); err != nil {
			return "", err
		}
	}
	if token != "" {
		if !validHeaderValue(token) {
			// Caught here rather than by every request, which would fail
			// as retryable and never heal.
			return "", errors.New("token contains characters not allowed in an HTTP header (a newline, from an environment variable or inside token_file?)")
		}
		return "Token " + token, nil
	}
	if cfg.Username == "" {
		return "", nil
	}
	password := string(cfg.Password)
	if cfg.PasswordFile != "" {
		var err error
		if password, err = readSecretFile("password_file", cfg.PasswordFile); err != nil {
			return "", err
		}
	}
	req := &http.Request{Header: http.Header{}}
	req.SetBasicAuth(cfg.Username, password)
	return req.Header.Get("Authorization"), nil
}

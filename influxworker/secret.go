package influxworker

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/prometheus/common/config"
)

// expandSecrets replaces ${NAME} in password and token, the keys that hold
// secrets, so that a configuration file can be shared without them. Other
// keys are taken literally: expanding everywhere would change the meaning
// of a $ in a URL or a database name.
func (c *Config) expandSecrets() error {
	for _, s := range []struct {
		key string
		v   *config.Secret
	}{{"password", &c.Password}, {"token", &c.Token}} {
		v, err := expandEnv(string(*s.v), os.LookupEnv)
		if err != nil {
			return fmt.Errorf("%s: %w", s.key, err)
		}
		*s.v = config.Secret(v)
	}
	return nil
}

// expandEnv replaces every ${NAME} in s by the value lookup finds for NAME
// and every $$ by $. Any other $, an unterminated ${ and an unset variable
// are errors, so that a secret is never used with a reference left in it.
// Errors name the variable or the offset, never the text of s, which is a
// secret.
func expandEnv(s string, lookup func(string) (string, bool)) (string, error) {
	n := len(s)
	i := strings.IndexByte(s, '$')
	if i < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for ; i >= 0; i = strings.IndexByte(s, '$') {
		b.WriteString(s[:i])
		rest := s[i+1:]
		switch {
		case strings.HasPrefix(rest, "$"):
			b.WriteByte('$')
			s = rest[1:]
		case strings.HasPrefix(rest, "{"):
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return "", errors.New("unterminated ${ in the value (write $$ for a literal $)")
			}
			name := rest[1:end]
			if !isEnvName(name) {
				// The text may be part of the secret: say where, not what.
				return "", fmt.Errorf("invalid environment variable name in the ${...} at offset %d", n-len(s)+i)
			}
			v, ok := lookup(name)
			if !ok {
				return "", fmt.Errorf("environment variable %q is not set", name)
			}
			b.WriteString(v)
			s = rest[end+1:]
		default:
			return "", fmt.Errorf("$ at offset %d must start ${NAME} or $$ (a literal $)", n-len(s)+i)
		}
	}
	b.WriteString(s)
	return b.String(), nil
}

// isEnvName reports whether name is a portable environment variable name:
// letters, digits and _, not starting with a digit.
func isEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', 'A' <= r && r <= 'Z', 'a' <= r && r <= 'z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// maxSecretFileBytes bounds what is read of a credential file.
const maxSecretFileBytes = 64 << 10

// readSecretFile returns the content of the file named by key, trimmed of
// surrounding whitespace (editors and `echo` add a trailing newline). The
// error names the key and the path, never the content.
func readSecretFile(key, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", key, err)
	}
	defer f.Close()
	// A credential is short: a larger file (or /dev/urandom) is a mistake,
	// which must not hang or bloat loading the configuration.
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", key, err)
	}
	if len(b) > maxSecretFileBytes {
		return "", fmt.Errorf("%s %q is larger than %d bytes", key, path, maxSecretFileBytes)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s %q is empty", key, path)
	}
	return s, nil
}

package influxworker

import (
	"context"
	"strings"
)

// EnsureDatabase creates the configured database with CREATE DATABASE,
// which does nothing when it exists. The caller runs it at start when
// create_database is set; an error need not be fatal, since Write creates
// a missing database as well.
func (p *Pool) EnsureDatabase(ctx context.Context) error {
	_, err := p.post(ctx, OpCreateDatabase, "CREATE DATABASE "+quoteIdent(p.cfg.Database))
	return err
}

// identEscaper escapes the characters that end or escape an InfluxQL quoted
// identifier.
var identEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// quoteIdent quotes name as an InfluxQL identifier, so that any name,
// keywords included, is taken literally.
func quoteIdent(name string) string {
	return `"` + identEscaper.Replace(name) + `"`
}

package influxworker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestErrorString(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{
			&Error{Op: OpWrite, Name: "default", StatusCode: 400, Permanent: true, Message: "partial write: field type conflict"},
			`influxdb "default": write: 400 Bad Request: partial write: field type conflict`,
		},
		{
			&Error{Op: OpPing, Name: "a", StatusCode: 503},
			`influxdb "a": ping: 503 Service Unavailable`,
		},
		{
			&Error{Op: OpQuery, Name: "a", StatusCode: 599, Message: "odd"},
			`influxdb "a": query: 599: odd`,
		},
		{
			&Error{Op: OpWrite, Name: "a", Message: "dial tcp: connection refused"},
			`influxdb "a": write: dial tcp: connection refused`,
		},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Fatalf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestClassification(t *testing.T) {
	timeout := &Error{Op: OpWrite, Err: context.DeadlineExceeded}
	for _, tc := range []struct {
		name      string
		err       error
		permanent bool
		timeout   bool
		reason    string
	}{
		{"nil", nil, false, false, ""},
		{"other type", errors.New("x"), false, false, ReasonUnavailable},
		{"permanent", &Error{Permanent: true, StatusCode: 400}, true, false, ReasonRejected},
		{"wrapped permanent", fmt.Errorf("ctx: %w", &Error{Permanent: true}), true, false, ReasonRejected},
		{"5xx", &Error{StatusCode: 500}, false, false, ReasonUnavailable},
		{"timeout", timeout, false, true, ReasonTimeout},
		{"wrapped timeout", fmt.Errorf("ctx: %w", timeout), false, true, ReasonTimeout},
		{"canceled", &Error{Err: context.Canceled}, false, false, ReasonCanceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsPermanent(tc.err); got != tc.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, tc.permanent)
			}
			if got := IsTimeout(tc.err); got != tc.timeout {
				t.Errorf("IsTimeout = %v, want %v", got, tc.timeout)
			}
			if got := Reason(tc.err); got != tc.reason {
				t.Errorf("Reason = %q, want %q", got, tc.reason)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	long := strings.Repeat("é", maxMessageBytes) // 2 bytes per rune
	for _, tc := range []struct {
		name, in, want string
	}{
		{"plain", "  field type conflict \n", "field type conflict"},
		{"lines", "unable to parse 'a'\nunable to parse 'b'\r\n", "unable to parse 'a'; unable to parse 'b'"},
		{"long", long, strings.Repeat("é", maxMessageBytes/2) + fmt.Sprintf("... (%d more bytes)", maxMessageBytes)},
		// The limit falls inside a rune: cut before it.
		{"long odd", "a" + long, "a" + strings.Repeat("é", maxMessageBytes/2-1) + fmt.Sprintf("... (%d more bytes)", maxMessageBytes+2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := message(tc.in)
			if got != tc.want {
				t.Fatalf("message = %q, want %q", got, tc.want)
			}
			if !utf8.ValidString(got) {
				t.Fatalf("message produced invalid UTF-8: %q", got)
			}
		})
	}
}

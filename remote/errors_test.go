package remote

import (
	"errors"
	"io"
	"testing"
)

func TestNewError(t *testing.T) {
	for _, kind := range []error{ErrUnsupported, ErrTooLarge, ErrInvalid, ErrIncomplete} {
		t.Run(kind.Error(), func(t *testing.T) {
			err := newError(kind, "cannot read request body after %d bytes: %w", 12, io.ErrUnexpectedEOF)
			assertKind(t, err, kind)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("error %q lost its cause", err)
			}
			// The sentinel classifies; it does not prefix the message.
			if want := "cannot read request body after 12 bytes: unexpected EOF"; err.Error() != want {
				t.Fatalf("error %q, want %q", err, want)
			}
		})
	}
}

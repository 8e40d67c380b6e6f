package mapping

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/value"
)

func TestSpecialCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		bits uint64
		code float64
	}{
		{"+Inf", 0x7ff0000000000000, 1},
		{"-Inf", 0xfff0000000000000, -1},
		{"stale marker", value.StaleNaN, 3},
		{"Prometheus NaN", 0x7ff8000000000001, 2251799813685250},
		{"negative Prometheus NaN", 0xfff8000000000001, -2251799813685250},
		{"Go NaN", math.Float64bits(math.NaN()), 2251799813685250},
		{"quiet NaN without payload", 0x7ff8000000000000, 2251799813685249},
		{"smallest NaN payload", 0x7ff0000000000001, 2},
		{"largest NaN payload", 0x7fffffffffffffff, 1 << 52},
		{"largest negative NaN payload", 0xffffffffffffffff, -(1 << 52)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, ok := specialCode(math.Float64frombits(tc.bits))
			if !ok || code != tc.code {
				t.Fatalf("specialCode(%#x) = %v, %v, want %v, true", tc.bits, code, ok, tc.code)
			}
			v, err := SpecialValue(tc.code)
			if err != nil {
				t.Fatalf("SpecialValue(%v) error = %v", tc.code, err)
			}
			if got := math.Float64bits(v); got != tc.bits {
				t.Fatalf("SpecialValue(%v) = %#x, want %#x", tc.code, got, tc.bits)
			}
		})
	}
}

func TestSpecialCodeFinite(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1, 5e-324, math.MaxFloat64, -math.MaxFloat64, 1 << 52, math.SmallestNonzeroFloat64} {
		if code, ok := specialCode(v); ok {
			t.Errorf("specialCode(%v) = %v, true, want false for a finite value", v, code)
		}
	}
}

func TestSpecialRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		// Random payload and sign with an all-ones exponent: every NaN
		// and both infinities.
		bits := r.Uint64()&(signBit|mantissaBits) | exponentBits
		in := math.Float64frombits(bits)
		code, ok := specialCode(in)
		if !ok {
			t.Fatalf("specialCode(%#x) not special", bits)
		}
		if code != math.Trunc(code) || math.Abs(code) < 1 || math.Abs(code) > 1<<52 || math.Signbit(code) != math.Signbit(in) {
			t.Fatalf("specialCode(%#x) = %v is not a valid code", bits, code)
		}
		v, err := SpecialValue(code)
		if err != nil {
			t.Fatalf("SpecialValue(%v) error = %v", code, err)
		}
		if got := math.Float64bits(v); got != bits {
			t.Fatalf("round trip of %#x gave %#x via code %v", bits, got, code)
		}
	}
}

func TestSpecialValueInvalid(t *testing.T) {
	for _, code := range []float64{
		0, math.Copysign(0, -1), 0.5, -0.5, 1.5, -2.25, 1<<52 + 2, -(1<<52 + 2), 1e300,
		math.MaxFloat64, math.NaN(), math.Inf(1), math.Inf(-1), 5e-324,
	} {
		v, err := SpecialValue(code)
		if err == nil {
			t.Errorf("SpecialValue(%v) = %#x, want an error", code, math.Float64bits(v))
			continue
		}
		if !strings.Contains(err.Error(), `invalid "special" field value`) {
			t.Errorf("SpecialValue(%v) error = %q lacks context", code, err)
		}
	}
}

func FuzzSpecial(f *testing.F) {
	for _, bits := range []uint64{0x7ff0000000000000, 0xfff0000000000000, value.StaleNaN, 0x7ff8000000000001, 0xffffffffffffffff, 0, 0x3ff0000000000000} {
		f.Add(bits, math.Float64frombits(bits))
	}
	f.Add(uint64(0), 3.0)
	f.Add(uint64(0), 0.5)
	f.Fuzz(func(t *testing.T, bits uint64, code float64) {
		in := math.Float64frombits(bits)
		c, ok := specialCode(in)
		if ok != (math.IsNaN(in) || math.IsInf(in, 0)) {
			t.Fatalf("specialCode(%#x) ok = %v", bits, ok)
		}
		if ok {
			v, err := SpecialValue(c)
			if err != nil || math.Float64bits(v) != bits {
				t.Fatalf("round trip of %#x via %v gave %#x, %v", bits, c, math.Float64bits(v), err)
			}
		}
		// Every code SpecialValue accepts decodes to a special value that
		// encodes back to the same code.
		v, err := SpecialValue(code)
		if err != nil {
			return
		}
		back, ok := specialCode(v)
		if !ok || back != code {
			t.Fatalf("SpecialValue(%v) = %#x encodes back as %v, %v", code, math.Float64bits(v), back, ok)
		}
	})
}

func BenchmarkSpecialCode(b *testing.B) {
	in := []float64{math.Float64frombits(value.StaleNaN), math.NaN(), math.Inf(1), math.Inf(-1), 1.5}
	b.ReportAllocs()
	b.SetBytes(int64(8 * len(in)))
	for b.Loop() {
		for _, v := range in {
			if c, ok := specialCode(v); ok {
				if _, err := SpecialValue(c); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

package remote

import (
	"math"
	"math/rand"
	"testing"

	"github.com/prometheus/prometheus/prompb"
)

// randomResponse is a SAMPLES response of random results, series, labels
// and samples, special floats and empty parts included.
func randomResponse(r *rand.Rand) *prompb.ReadResponse {
	resp := &prompb.ReadResponse{}
	for range r.Intn(3) + 1 {
		qr := &prompb.QueryResult{}
		for range r.Intn(5) {
			ts := &prompb.TimeSeries{}
			for range r.Intn(4) {
				ts.Labels = append(ts.Labels, prompb.Label{Name: randomText(r), Value: randomText(r)})
			}
			for range r.Intn(20) {
				v := r.NormFloat64() * 1e6
				switch r.Intn(8) {
				case 0:
					v = math.NaN()
				case 1:
					v = math.Inf(-1)
				case 2:
					v = math.Copysign(0, -1)
				}
				ts.Samples = append(ts.Samples, prompb.Sample{Value: v, Timestamp: r.Int63n(1<<45) - 1<<44})
			}
			qr.Timeseries = append(qr.Timeseries, ts)
		}
		resp.Results = append(resp.Results, qr)
	}
	return resp
}

func randomText(r *rand.Rand) string {
	b := make([]byte, r.Intn(12))
	for i := range b {
		b[i] = byte(r.Intn(256))
	}
	return string(b)
}

// TestDecodeSamplesResponse: the two-walk decoder reads what the generated
// code reads, bit for bit, and refuses what it refuses.
func TestDecodeSamplesResponse(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := range 500 {
		want := randomResponse(r)
		raw, err := want.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeSamplesResponse(raw)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		var gogo prompb.ReadResponse
		if err := gogo.Unmarshal(raw); err != nil {
			t.Fatal(err)
		}
		if !sameResponse(got, &gogo) {
			t.Fatalf("response %d decodes differently:\n got %+v\nwant %v", i, got, &gogo)
		}
		for cut := range len(raw) {
			_, err1 := decodeSamplesResponse(raw[:cut])
			err2 := new(prompb.ReadResponse).Unmarshal(raw[:cut])
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("response %d cut at %d: error %v, generated code %v", i, cut, err1, err2)
			}
		}
	}
}

func FuzzDecodeSamplesResponse(f *testing.F) {
	r := rand.New(rand.NewSource(2))
	for range 8 {
		raw, _ := randomResponse(r).Marshal()
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := decodeSamplesResponse(raw)
		var gogo prompb.ReadResponse
		if err != nil || gogo.Unmarshal(raw) != nil {
			// Exemplars and histograms are skipped, not checked: each
			// decoder may refuse what the other reads there.
			return
		}
		if !sameResponse(got, &gogo) {
			t.Fatalf("decodes differently:\n got %+v\nwant %v", got, &gogo)
		}
	})
}

// sameResponse compares the results, series, labels and samples of
// decoded with those of b, floats by their bits (NaN payloads, -0);
// unknown fields, which the generated code keeps, exemplars and histograms
// are not compared.
func sameResponse(decoded [][]FloatSeries, b *prompb.ReadResponse) bool {
	if len(decoded) != len(b.Results) {
		return false
	}
	for i := range decoded {
		x, y := decoded[i], b.Results[i].Timeseries
		if len(x) != len(y) {
			return false
		}
		for j := range x {
			if len(x[j].Labels) != len(y[j].Labels) || len(x[j].Samples) != len(y[j].Samples) {
				return false
			}
			for k, l := range x[j].Labels {
				if l.Name != y[j].Labels[k].Name || l.Value != y[j].Labels[k].Value {
					return false
				}
			}
			for k, smp := range x[j].Samples {
				w := y[j].Samples[k]
				if smp.T != w.Timestamp || math.Float64bits(smp.V) != math.Float64bits(w.Value) {
					return false
				}
			}
		}
	}
	return true
}

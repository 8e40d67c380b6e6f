package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type queryOptions struct {
	url         string
	queries     []string
	samples     int
	step        time.Duration
	concurrency int
	duration    time.Duration
	label       string
	procs       procFlags
	csvPath     string
}

// runQuery plays dashboards on a Prometheus query API: o.concurrency
// clients, each sending the range queries in turn over the range written
// (as the panels of a dashboard do) until o.duration has passed, and
// prints queries/s and the latency percentiles, as bench read's dashboard
// load does for remote read.
func runQuery(g *generator, o *queryOptions) error {
	if o.step <= 0 {
		return fmt.Errorf("--step must be positive, got %s", o.step)
	}
	pids, names, err := o.procs.resolve()
	if err != nil {
		return err
	}
	forms := make([]string, len(o.queries))
	for i, q := range o.queries {
		forms[i] = url.Values{
			"query": {q},
			"start": {strconv.FormatFloat(float64(g.start)/1000, 'f', -1, 64)},
			"end":   {strconv.FormatFloat(float64(g.timestamp(o.samples-1))/1000, 'f', -1, 64)},
			"step":  {strconv.FormatFloat(o.step.Seconds(), 'f', -1, 64)},
		}.Encode()
	}
	client := &http.Client{Timeout: 10 * time.Minute}
	endpoint := strings.TrimSuffix(o.url, "/") + "/api/v1/query_range"
	l, err := playLoad(o.concurrency, o.duration, len(forms), pids, names, func(i int) (int, error) {
		return queryRange(client, endpoint, forms[i])
	})
	if err != nil {
		return err
	}
	return l.report(o.label, "query_range", "query_range", o.csvPath)
}

// queryRange sends one range query as a form POST, as Grafana does, and
// decodes the whole answer, returning the points of its matrix: an answer
// other than a successful matrix is an error.
func queryRange(client *http.Client, endpoint, form string) (int, error) {
	resp, err := client.Post(endpoint, "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %.200s", resp.Status, b)
	}
	var answer struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Values     []json.RawMessage `json:"values"`
				Histograms []json.RawMessage `json:"histograms"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return 0, fmt.Errorf("answer: %w", err)
	}
	if answer.Status != "success" || answer.Data.ResultType != "matrix" {
		return 0, fmt.Errorf("answer: status %q, result type %q", answer.Status, answer.Data.ResultType)
	}
	points := 0
	for _, s := range answer.Data.Result {
		points += len(s.Values) + len(s.Histograms)
	}
	if points == 0 {
		return 0, fmt.Errorf("empty: no point in the answer: is the data loaded?")
	}
	return points, nil
}

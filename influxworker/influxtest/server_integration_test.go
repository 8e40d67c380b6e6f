package influxtest

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestServerLifecycle(t *testing.T) {
	s := Start(t)
	s.CreateDatabase(t, `we"ird db`)
	s.Write(t, `we"ird db`, "m,host=a value=1.5 1700000000123\n")

	want := []Series{{
		Name:    "m",
		Columns: []string{"time", "host", "value"},
		Values:  [][]any{{json.Number("1700000000123"), "a", json.Number("1.5")}},
	}}
	got := s.Query(t, `we"ird db`, "SELECT * FROM m")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Query = %#v, want %#v", got, want)
	}

	s.Stop()
	if c, err := net.DialTimeout("tcp", s.httpAddr, time.Second); err == nil {
		c.Close()
		t.Fatal("port still open after Stop")
	}

	s.Restart()
	if got := s.Query(t, `we"ird db`, "SELECT * FROM m"); !reflect.DeepEqual(got, want) {
		t.Fatalf("after Restart, Query = %#v, want %#v", got, want)
	}

	s.Pause()
	c := &http.Client{Timeout: 300 * time.Millisecond}
	if resp, err := c.Get(s.URL() + "/ping"); err == nil {
		resp.Body.Close()
		t.Fatalf("paused influxd answered /ping with %s", resp.Status)
	}
	s.Resume()
	resp, err := c.Get(s.URL() + "/ping")
	if err != nil {
		t.Fatalf("resumed influxd: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("resumed influxd answered /ping with %s", resp.Status)
	}

	// A point acknowledged just before SIGKILL is only in the WAL; the
	// restarted server must replay it.
	s.Write(t, `we"ird db`, "m,host=b value=2.5 1700000000456\n")
	s.Kill()
	if c, err := net.DialTimeout("tcp", s.httpAddr, time.Second); err == nil {
		c.Close()
		t.Fatal("port still open after Kill")
	}
	s.Restart()
	want[0].Values = append(want[0].Values, []any{json.Number("1700000000456"), "b", json.Number("2.5")})
	if got := s.Query(t, `we"ird db`, "SELECT * FROM m"); !reflect.DeepEqual(got, want) {
		t.Fatalf("after Kill and Restart, Query = %#v, want %#v", got, want)
	}
}

func TestStartFailsWhenPortTaken(t *testing.T) {
	s := Start(t)
	// A second influxd on the same configuration finds its ports taken.
	dup := &Server{t: t, bin: s.bin, dir: t.TempDir(), configPath: s.configPath, httpAddr: s.httpAddr}
	dup.logPath = dup.dir + "/influxd.log"
	err := dup.start()
	if !errors.Is(err, errExited) {
		_ = dup.stop()
		t.Fatalf("start() = %v, want errExited", err)
	}
	if tail := dup.logTail(); !strings.Contains(tail, "address already in use") {
		t.Fatalf("log tail does not show the cause:\n%s", tail)
	}
}

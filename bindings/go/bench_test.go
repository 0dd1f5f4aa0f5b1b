package cdc

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuSeconds is the process's user + system time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// report gives changes per wall second and per CPU second (every thread:
// the garbage collector's too).
func report(b *testing.B, total int, t0 time.Time, c0 float64) {
	b.ReportMetric(float64(total)/time.Since(t0).Seconds(), "changes/s")
	b.ReportMetric(float64(total)/(cpuSeconds()-c0), "changes/cpu-s")
}

// benchFile is $CDC_BENCH_FILE, else the 47,273 changes of
// mysql-bin.sakila.gz in $CDC_FIXTURES (docs/bindings.md, "Speed";
// tests/bench/bindings_bench.py runs these on an inflated copy).
func benchFile() string {
	if p := os.Getenv("CDC_BENCH_FILE"); p != "" {
		return p
	}
	return filepath.Join(os.Getenv("CDC_FIXTURES"), "mysql-binlog-connector-java", "mysql-bin.sakila.gz")
}

// BenchmarkDecodeSakila: DecodeFile (JSON lines, encoding/json).
//
//	go test -run XXX -bench DecodeSakila
func BenchmarkDecodeSakila(b *testing.B) {
	path := benchFile()
	total, t0, c0 := 0, time.Now(), cpuSeconds()
	for i := 0; i < b.N; i++ {
		if err := DecodeFile(path, 0, func(r *Record) error { total++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	report(b, total, t0, c0)
}

// BenchmarkDecodeSakilaNative: DecodeFileNative (typed values from
// binary batches) over the same fixture.
func BenchmarkDecodeSakilaNative(b *testing.B) {
	path := benchFile()
	total, t0, c0 := 0, time.Now(), cpuSeconds()
	for i := 0; i < b.N; i++ {
		if err := DecodeFileNative(path, 0, func(r *Record) error { total++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	report(b, total, t0, c0)
}

// BenchmarkSnapshot: a snapshot through a native Stream, configured by
// $CDC_BENCH_SNAPSHOT (key=value lines of docs/configuration.md, with
// snapshot.mode=initial_only); reports rows, seconds to the first record,
// rows/s and the process's peak RSS. tests/bench/snapshot_bench.py runs
// it (one iteration: -test.benchtime 1x).
func BenchmarkSnapshot(b *testing.B) {
	settings := map[string]string{}
	for _, line := range strings.Split(os.Getenv("CDC_BENCH_SNAPSHOT"), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			settings[k] = v
		}
	}
	if len(settings) == 0 {
		b.Fatal("CDC_BENCH_SNAPSHOT is not set")
	}
	for i := 0; i < b.N; i++ {
		cfg, err := NewConfig(settings)
		if err != nil {
			b.Fatal(err)
		}
		st, err := NewStream(cfg, 256*1024)
		cfg.Close()
		if err != nil {
			b.Fatal(err)
		}
		st.SetNative(true)
		rows, t0 := 0, time.Now()
		var first time.Duration
		for {
			r, err := st.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if first == 0 {
				first = time.Since(t0)
			}
			if r.Op == "r" {
				rows++
			}
		}
		st.Close()
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		b.ReportMetric(float64(rows), "rows")
		b.ReportMetric(first.Seconds(), "first-s")
		b.ReportMetric(float64(rows)/time.Since(t0).Seconds(), "rows/s")
		b.ReportMetric(float64(ru.Maxrss), "peak-rss-KiB")
	}
}

package cdc

import (
	"os"
	"path/filepath"
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

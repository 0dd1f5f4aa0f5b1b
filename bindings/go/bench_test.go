package cdc

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkDecodeSakila: DecodeFile over the 47,273 changes of
// mysql-bin.sakila.gz (docs/bindings.md, "Speed"); needs CDC_FIXTURES.
//
//	go test -run XXX -bench DecodeSakila
func BenchmarkDecodeSakila(b *testing.B) {
	path := filepath.Join(os.Getenv("CDC_FIXTURES"), "mysql-binlog-connector-java", "mysql-bin.sakila.gz")
	total, t0 := 0, time.Now()
	for i := 0; i < b.N; i++ {
		if err := DecodeFile(path, 0, func(r *Record) error { total++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total)/time.Since(t0).Seconds(), "changes/s")
}

// BenchmarkDecodeSakilaNative: DecodeFileNative (typed values from
// binary batches) over the same fixture.
func BenchmarkDecodeSakilaNative(b *testing.B) {
	path := filepath.Join(os.Getenv("CDC_FIXTURES"), "mysql-binlog-connector-java", "mysql-bin.sakila.gz")
	total, t0 := 0, time.Now()
	for i := 0; i < b.N; i++ {
		if err := DecodeFileNative(path, 0, func(r *Record) error { total++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total)/time.Since(t0).Seconds(), "changes/s")
}

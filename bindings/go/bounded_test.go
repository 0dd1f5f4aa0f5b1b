package cdc

// Issue 13, items 1-3 in Go, against both servers: a snapshot in bounded
// memory, Next cancelled by a context on an idle stream without losing a
// change, Close from another goroutine while Next runs.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

const goDB = "snapshot_go" // this file's own database

func rssKiB() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, res int64
	fmt.Sscan(string(b), &size, &res)
	return res * int64(os.Getpagesize()) / 1024
}

func colInt(m map[string]interface{}, k string) int64 {
	if v, ok := m[k].(int64); ok { // native records
		return v
	}
	n, _ := m[k].(json.Number)
	v, _ := n.Int64()
	return v
}

func TestIntegrationSnapshotBoundedMemory(t *testing.T) {
	rows := 2000000 // issue 13: a 2M-row table, in bounded memory
	if v, err := strconv.Atoi(os.Getenv("CDC_TEST_SNAPSHOT_ROWS")); err == nil && v > 0 {
		rows = v
	}
	for _, srv := range servers(t) {
		srv.sql(t, fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %[1]s; DROP TABLE IF EXISTS %[1]s.big;"+
			"CREATE TABLE %[1]s.big (id INT PRIMARY KEY, pad VARCHAR(100))", goDB))
		// The fill is not in the binlog (sql_log_bin = 0): a snapshot reads
		// the table, and writing 200 MB of binlog would double the time.
		rec := "SET SESSION sql_log_bin = 0; SET SESSION max_recursive_iterations = 10000000;"
		if srv.flavor == "mysql" {
			rec = "SET SESSION sql_log_bin = 0; SET SESSION cte_max_recursion_depth = 10000000;"
		}
		for lo := 1; lo <= rows; lo += 250000 {
			hi := lo + 249999
			if hi > rows {
				hi = rows
			}
			srv.sql(t, fmt.Sprintf("%sINSERT INTO %s.big WITH RECURSIVE c(n) AS (SELECT %d UNION ALL SELECT n + 1 "+
				"FROM c WHERE n < %d) SELECT n, REPEAT('p', 60 + n %% 40) FROM c", rec, goDB, lo, hi))
		}
		st := srv.stream(t, map[string]string{"snapshot.mode": "initial_only", "user": "root",
			"table.include.list": goDB + ".big", "snapshot.parallelism": "2"}, 256*1024)
		st.SetNative(true)
		runtime.GC()
		base, peak := rssKiB(), int64(0)
		seen := make([]bool, rows+1)
		n := 0
		t0 := time.Now()
		var first time.Duration
		for {
			r, err := st.Next()
			if first == 0 {
				first = time.Since(t0)
			}
			if err != nil {
				if err == io.EOF {
					break
				}
				t.Fatal(err)
			}
			if r.Op != "r" {
				continue
			}
			id := colInt(r.After, "id")
			if id < 1 || id > int64(rows) || seen[id] {
				t.Fatalf("%s: row %d out of range or twice", srv.flavor, id)
			}
			seen[id] = true
			n++
			if n%5000 == 0 {
				if m := rssKiB(); m > peak {
					peak = m
				}
			}
		}
		st.Close()
		dt := time.Since(t0).Seconds()
		t.Logf("%s: %d snapshot rows in %.1f s (%.0f rows/s), first record after %.2f s, RSS %d -> peak %d KiB (+%d KiB)",
			srv.flavor, n, dt, float64(n)/dt, first.Seconds(), base, peak, peak-base)
		if n != rows {
			t.Fatalf("%s: %d rows, want %d", srv.flavor, n, rows)
		}
		if peak-base > 80*1024 {
			t.Fatalf("%s: RSS grew by %d KiB", srv.flavor, peak-base)
		}
		srv.sql(t, "DROP TABLE "+goDB+".big")
	}
}

func TestIntegrationContextCancelIdle(t *testing.T) {
	for _, srv := range servers(t) {
		srv.sql(t, fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %[1]s; CREATE TABLE IF NOT EXISTS %[1]s.quiet (id INT PRIMARY KEY)", goDB))
		st := srv.stream(t, map[string]string{"start": srv.position(t), "table.include.list": goDB + ".quiet",
			"heartbeat.interval.ms": "30000"}, 0)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		t0 := time.Now()
		var err error
		for err == nil {
			_, err = st.NextContext(ctx)
		}
		cancel()
		took := time.Since(t0) - time.Second
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: %v, want context.DeadlineExceeded", srv.flavor, err)
		}
		t.Logf("%s: NextContext returned %v after the deadline", srv.flavor, took)
		if took > time.Second {
			t.Fatalf("%s: cancellation took %v", srv.flavor, took)
		}
		// nothing lost: a change made now comes next
		id := rand.Intn(1e9)
		srv.sql(t, fmt.Sprintf("INSERT INTO %s.quiet VALUES (%d)", goDB, id))
		ctx2, cancel2 := context.WithTimeout(context.Background(), 60*time.Second)
		for {
			r, err := st.NextContext(ctx2)
			if err != nil {
				t.Fatalf("%s: %v", srv.flavor, err)
			}
			if r.Op == "c" {
				got := colInt(r.After, "id")
				if got != int64(id) {
					t.Fatalf("%s: got %d, want %d", srv.flavor, got, id)
				}
				break
			}
		}
		cancel2()
		st.Close()
	}
}

func TestIntegrationCloseFromGoroutine(t *testing.T) {
	for _, srv := range servers(t) {
		srv.sql(t, fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %[1]s; CREATE TABLE IF NOT EXISTS %[1]s.quiet (id INT PRIMARY KEY)", goDB))
		for k := 0; k < 5; k++ {
			st := srv.stream(t, map[string]string{"start": srv.position(t), "table.include.list": goDB + ".quiet"}, 0)
			done := make(chan error, 1)
			go func() {
				for {
					if _, err := st.Next(); err != nil {
						done <- err
						return
					}
				}
			}()
			time.Sleep(time.Duration(rand.Intn(500)) * time.Millisecond)
			st.Close()
			select {
			case err := <-done:
				var ce *Error
				if !errors.As(err, &ce) || ce.Code != ErrState {
					t.Fatalf("%s: Next after Close: %v, want ErrState", srv.flavor, err)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("%s: Next did not return after Close", srv.flavor)
			}
			st.Close()
		}
	}
}

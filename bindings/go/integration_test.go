package cdc

// Integration tests against the servers of tests/servers/testenv.sh: the
// same checks as the Python binding's (bindings/python/tests/
// test_integration.py). They fail, never skip, without the servers.

import (
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

type server struct {
	flavor, host, port, password, testenv string
}

func servers(t *testing.T) []server {
	names := " " + mustEnv(t, "CDC_TEST_SERVERS") + " "
	var out []server
	for _, f := range []string{"mariadb", "mysql"} {
		if !strings.Contains(names, " "+f+" ") {
			t.Fatalf("server %s is not running", f)
		}
		up := strings.ToUpper(f)
		out = append(out, server{f, mustEnv(t, "CDC_TEST_"+up+"_HOST"), mustEnv(t, "CDC_TEST_"+up+"_PORT"),
			mustEnv(t, "CDC_TEST_PASSWORD"), mustEnv(t, "CDC_TEST_TESTENV")})
	}
	return out
}

func (s server) sql(t *testing.T, script string) [][]string {
	cmd := exec.Command(s.testenv, s.flavor, "--batch", "--skip-column-names")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("%s: %v: %s", s.flavor, err, ee.Stderr)
		}
		t.Fatalf("%s: %v", s.flavor, err)
	}
	var rows [][]string
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" {
			rows = append(rows, strings.Split(l, "\t"))
		}
	}
	return rows
}

func (s server) position(t *testing.T) string {
	q := "SHOW MASTER STATUS"
	if s.flavor == "mysql" {
		q = "SHOW BINARY LOG STATUS"
	}
	r := s.sql(t, q)[0]
	return r[0] + ":" + r[1]
}

// config is the settings of a stream from this server (the replication
// account, a random server id, no snapshot), with extra on top.
func (s server) config(t *testing.T, extra map[string]string) *Config {
	m := map[string]string{"host": s.host, "port": s.port, "user": "cdc_repl", "password": s.password,
		"server.id": fmt.Sprint(20000 + rand.Intn(4000000)), "snapshot.mode": "never"}
	for k, v := range extra {
		m[k] = v
	}
	cfg, err := NewConfig(m)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (s server) stream(t *testing.T, extra map[string]string, batch int) *Stream {
	cfg := s.config(t, extra)
	defer cfg.Close()
	st, err := NewStream(cfg, batch)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func drain(t *testing.T, st *Stream) []Record {
	var out []Record
	for {
		r, err := st.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *r)
	}
}

const goTable = "cdc_test.go_binding"

func checkServer(t *testing.T, srv server) {
	srv.sql(t, "CREATE DATABASE IF NOT EXISTS cdc_test")
	start := srv.position(t)
	srv.sql(t, strings.ReplaceAll(`
DROP TABLE IF EXISTS {T};
CREATE TABLE {T} (id INT PRIMARY KEY, name VARCHAR(20), amount DECIMAL(10,2), big BIGINT UNSIGNED);
BEGIN;
INSERT INTO {T} VALUES (1,'one',1.50,18446744073709551615),(2,'two',2.25,0),(3,'three',NULL,7);
COMMIT;
UPDATE {T} SET name='TWO', amount=20.00 WHERE id=2;
DELETE FROM {T} WHERE id=1;
INSERT INTO {T} VALUES (4,'four',4.00,4);
`, "{T}", goTable))
	end := srv.position(t)
	st := srv.stream(t, map[string]string{"start": start, "stop.at": end}, 64)
	recs := drain(t, st)
	if st.Metric("rows") == 0 {
		t.Fatalf("%s: rows metric is 0", srv.flavor)
	}
	st.Close()

	// Other writers share the servers: look at our table and transactions.
	var mine []Record
	var ops []string
	ours := map[string]bool{}
	for _, r := range recs {
		if r.Kind() == KindChange && r.Table == "go_binding" {
			mine = append(mine, r)
			ops = append(ops, r.Op)
			ours[*r.GTID] = true
		}
	}
	commits, ddls := 0, 0
	for _, r := range recs {
		if r.Kind() != KindChange && r.Checkpoint == "" {
			t.Fatalf("%s: no checkpoint in %+v", srv.flavor, r)
		}
		if r.Kind() == KindCommit && ours[r.CommitGTID()] {
			commits++
		}
		if r.Kind() == KindDDL && strings.Contains(r.SQL, "go_binding") {
			ddls++
		}
	}
	// Exact integers (json.Number), DECIMAL as text.
	if a := mine[0].After; fmt.Sprint(a["big"]) != "18446744073709551615" || a["amount"] != "1.50" ||
		a["name"] != "one" || fmt.Sprint(a["id"]) != "1" {
		t.Fatalf("%s: first insert %v", srv.flavor, a)
	}
	if mine[3].Before["name"] != "two" || mine[4].After != nil {
		t.Fatalf("%s: update/delete images %+v %+v", srv.flavor, mine[3], mine[4])
	}
	// State rebuilt from the stream equals SELECT.
	state := map[string]string{}
	for _, r := range mine {
		if r.Op == "d" {
			delete(state, fmt.Sprint(r.Before["id"]))
			continue
		}
		amount := "NULL"
		if r.After["amount"] != nil {
			amount = fmt.Sprint(r.After["amount"])
		}
		state[fmt.Sprint(r.After["id"])] = fmt.Sprintf("%v|%s|%v", r.After["name"], amount, r.After["big"])
	}
	want := map[string]string{}
	for _, row := range srv.sql(t, "SELECT id, name, amount, big FROM "+goTable) {
		want[row[0]] = strings.Join(row[1:], "|")
	}
	if !reflect.DeepEqual(state, want) {
		t.Fatalf("%s: rebuilt %v, SELECT %v", srv.flavor, state, want)
	}
	// Resume from the first commit's checkpoint: exactly the rest.
	first := -1
	for i, r := range recs {
		if r.Kind() == KindCommit && r.CommitGTID() == *mine[0].GTID {
			first = i
			break
		}
	}
	var rest []Record
	for _, r := range recs[first+1:] {
		if r.Kind() == KindChange {
			rest = append(rest, r)
		}
	}
	st2 := srv.stream(t, map[string]string{"start": recs[first].Checkpoint, "stop.at": end}, 0)
	var again []Record
	againOps := ""
	for _, r := range drain(t, st2) {
		if r.Kind() == KindChange {
			again = append(again, r)
			if r.Table == "go_binding" {
				againOps += r.Op
			}
		}
	}
	st2.Close()
	if againOps != "udc" || !reflect.DeepEqual(again, rest) {
		t.Fatalf("%s: resumed %d changes %+v, want %+v", srv.flavor, len(again), again, rest)
	}
}

func TestIntegrationMariaDB(t *testing.T) { checkServer(t, servers(t)[0]) }
func TestIntegrationMySQL(t *testing.T)   { checkServer(t, servers(t)[1]) }

func TestIntegrationStopFromGoroutine(t *testing.T) {
	for _, srv := range servers(t) {
		srv.sql(t, "CREATE DATABASE IF NOT EXISTS cdc_test; CREATE TABLE IF NOT EXISTS cdc_test.go_live (id INT PRIMARY KEY)")
		st := srv.stream(t, map[string]string{"start": srv.position(t)}, 0)
		seen := make(chan string, 16)
		done := make(chan error, 1)
		go func() {
			for {
				r, err := st.Next()
				if err != nil {
					done <- err
					return
				}
				if r.Kind() == KindChange && r.Table == "go_live" {
					seen <- fmt.Sprint(r.After["id"])
				}
			}
		}()
		base := rand.Intn(1000000000)
		srv.sql(t, fmt.Sprintf("INSERT INTO cdc_test.go_live VALUES (%d),(%d)", base, base+1))
		for i := 0; i < 2; i++ {
			select {
			case id := <-seen:
				if id != fmt.Sprint(base+i) {
					t.Fatalf("%s: got id %s, want %d", srv.flavor, id, base+i)
				}
			case <-time.After(120 * time.Second):
				// Other writers share the servers; say how far the stream got.
				t.Fatalf("%s: change %d not seen; stream read %d events, %d bytes, at offset %d",
					srv.flavor, i, st.Metric("events"), st.Metric("bytes"), st.Metric("offset"))
			}
		}
		st.Stop()
		select {
		case err := <-done:
			if err != io.EOF {
				t.Fatalf("%s: after Stop: %v", srv.flavor, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: Stop did not end Next", srv.flavor)
		}
		if st.Checkpoint == "" {
			t.Fatalf("%s: no checkpoint", srv.flavor)
		}
		st.Close()
	}
}

func init() { rand.Seed(time.Now().UnixNano() ^ int64(os.Getpid())) }

// A 900-row transaction in 4 KiB batches comes in many batches with its
// commit after the last row; Stop after the first of them ends NextBatch
// with io.EOF, and calling it again goes on from there: every row once.
func TestIntegrationLargeTransactionStopResume(t *testing.T) {
	for _, srv := range servers(t) {
		srv.sql(t, "CREATE DATABASE IF NOT EXISTS cdc_test; DROP TABLE IF EXISTS cdc_test.go_big;"+
			"CREATE TABLE cdc_test.go_big (id INT PRIMARY KEY, pad VARCHAR(60))")
		start := srv.position(t)
		srv.sql(t, "INSERT INTO cdc_test.go_big WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL "+
			"SELECT n + 1 FROM c WHERE n < 900) SELECT n, REPEAT('x', 50) FROM c")
		end := srv.position(t)
		st := srv.stream(t, map[string]string{"start": start, "stop.at": end}, 4096)
		var recs []Record
		ours := 0
		for {
			b, err := st.NextBatch()
			if err != nil {
				t.Fatalf("%s: %v", srv.flavor, err)
			}
			recs = append(recs, b...)
			if len(b) > 0 && b[len(b)-1].Table == "go_big" {
				ours++
				break // inside our transaction
			}
		}
		st.Stop()
		if b, err := st.NextBatch(); err != io.EOF || len(b) != 0 {
			t.Fatalf("%s: after Stop: %d records, %v", srv.flavor, len(b), err)
		}
		for {
			b, err := st.NextBatch()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", srv.flavor, err)
			}
			recs = append(recs, b...)
			for _, r := range b {
				if r.Table == "go_big" {
					ours++
					break
				}
			}
		}
		st.Close()
		next, last, gtid, commits := 1, -1, "", 0
		for i, r := range recs {
			if r.Kind() == KindChange && r.Table == "go_big" {
				if fmt.Sprint(r.After["id"]) != fmt.Sprint(next) {
					t.Fatalf("%s: row %d has id %v", srv.flavor, next, r.After["id"])
				}
				next++
				last, gtid = i, *r.GTID
			}
		}
		for i, r := range recs {
			if r.Kind() == KindCommit && r.CommitGTID() == gtid {
				commits++
				if i < last {
					t.Fatalf("%s: commit before the last row", srv.flavor)
				}
			}
		}
		if next != 901 || commits != 1 || ours <= 5 {
			t.Fatalf("%s: %d rows, %d commits, %d batches", srv.flavor, next-1, commits, ours)
		}
	}
}

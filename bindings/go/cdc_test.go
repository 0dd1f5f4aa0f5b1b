package cdc

// Unit tests (no servers): version, configuration errors, and every
// fixture binlog decoded through batches compared with `cdc dump` of the
// same file ($CDC_TOOL), record by record.

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// A sanitizer runtime preloaded by bindings/run-tests.sh is for this test
// binary only, not for the tools and clients it starts.
func init() { os.Unsetenv("LD_PRELOAD") }

func mustEnv(t *testing.T, name string) string {
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set", name)
	}
	return v
}

func TestUnitVersion(t *testing.T) {
	if got, want := Version(), mustEnv(t, "LIBCDC_VERSION"); got != want {
		t.Fatalf("Version() = %q, want %q", got, want)
	}
}

func TestUnitConfigErrors(t *testing.T) {
	cfg, err := NewConfig(map[string]string{"host": "db1.example", "server.id": "4001"})
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if v, _ := cfg.Get("host"); v != "db1.example" {
		t.Fatalf("host = %q", v)
	}
	err = cfg.Set("no.such.key", "1")
	var ce *Error
	if !errors.As(err, &ce) || ce.Code != ErrConfig || ce.Name != "CDC_ERR_CONFIG" ||
		!strings.Contains(ce.Message, "no.such.key") || ce.Retriable() {
		t.Fatalf("unknown key: %#v", err)
	}
	if err = cfg.Set("port", "not-a-port"); !errors.As(err, &ce) ||
		!strings.Contains(ce.Message, "port") || !strings.Contains(ce.Message, "not-a-port") {
		t.Fatalf("bad port: %v", err)
	}
	if err = cfg.Set("password", "s3cret"); err != nil {
		t.Fatal(err)
	}
	if v, _ := cfg.Get("password"); v != "********" {
		t.Fatalf("password reads back %q", v)
	}
	if _, err = cfg.Get("nope"); !errors.As(err, &ce) || ce.Code != ErrConfig {
		t.Fatalf("Get(nope): %v", err)
	}
	if _, err = NewStream(cfg, 0); !errors.As(err, &ce) || ce.Code != ErrConfig ||
		!strings.Contains(ce.Message, "user") {
		t.Fatalf("stream without user: %v", err)
	}
}

func TestUnitStopBeforeStart(t *testing.T) {
	cfg, _ := NewConfig(map[string]string{"host": "127.0.0.1", "port": "9", "user": "cdc", "server.id": "77"})
	s, err := NewStream(cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Stop()
	if r, err := s.Next(); err == nil || err.Error() != "EOF" || r != nil {
		t.Fatalf("Next after Stop: %v %v", r, err)
	}
}

func TestUnitConnectError(t *testing.T) {
	cfg, _ := NewConfig(map[string]string{"host": "127.0.0.1", "port": "9", "user": "cdc", "server.id": "77"})
	s, _ := NewStream(cfg, 0)
	defer s.Close()
	_, err := s.Next()
	var ce *Error
	if !errors.As(err, &ce) || ce.Name != "CDC_ERR_CONNECT" || !ce.Retriable() ||
		!strings.Contains(ce.Message, "127.0.0.1") {
		t.Fatalf("connect to port 9: %v", err)
	}
}

func fixtureFiles(t *testing.T) []string {
	root := mustEnv(t, "CDC_FIXTURES")
	f, err := os.Open(filepath.Join(root, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		dest := strings.SplitN(sc.Text(), "\t", 2)[0]
		p := filepath.Join(root, dest)
		if st, err := os.Stat(p); dest != "dest" && err == nil && st.Mode().IsRegular() {
			out = append(out, p)
		}
	}
	return out
}

// cdcDump runs `cdc dump ARGS... PATH` and parses its lines.
func cdcDump(t *testing.T, path string, args ...string) (want []Record, stderr string, runErr error) {
	cmd := exec.Command(mustEnv(t, "CDC_TOOL"), append(append([]string{"dump"}, args...), path)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	runErr = cmd.Run()
	want, err := parseLines(out.Bytes(), nil)
	if err != nil {
		t.Fatalf("%s: cdc dump output: %v", path, err)
	}
	return want, errb.String(), runErr
}

// compare decodes path with DecodeFile and with `cdc dump`.
func compare(t *testing.T, path string, batch int) int {
	want, stderr, runErr := cdcDump(t, path)
	var got []Record
	decErr := DecodeFile(path, batch, func(r *Record) error {
		got = append(got, *r)
		return nil
	})
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, cdc dump printed %d", path, len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("%s record %d:\n got %+v\nwant %+v", path, i, got[i], want[i])
		}
	}
	var ce *Error
	if runErr == nil && decErr != nil {
		t.Fatalf("%s: DecodeFile: %v; cdc dump succeeded", path, decErr)
	}
	if runErr != nil && (!errors.As(decErr, &ce) || !strings.Contains(stderr, ce.Message)) {
		t.Fatalf("%s: DecodeFile: %v; cdc dump: %s", path, decErr, stderr)
	}
	return len(got)
}

func TestUnitDecodeEveryFixture(t *testing.T) {
	files := fixtureFiles(t)
	total := 0
	for _, p := range files {
		total += compare(t, p, 0)
	}
	if len(files) < 15 || total < 1000 {
		t.Fatalf("only %d files, %d changes", len(files), total)
	}
}

func TestUnitDecodeSmallBatches(t *testing.T) {
	root := mustEnv(t, "CDC_FIXTURES")
	for _, rel := range []string{"mariadb-server-11.8.6/std_data/mdev6020-mysql-bin.000001",
		"rust_mysql_common/transaction_compression.000001",
		"mysql-binlog-connector-java/mysql-bin.sakila.gz"} {
		if compare(t, filepath.Join(root, rel), 1) == 0 {
			t.Fatalf("%s: no changes", rel)
		}
	}
}

func TestUnitDecodeCallbackError(t *testing.T) {
	root := mustEnv(t, "CDC_FIXTURES")
	stop := errors.New("enough")
	n := 0
	err := DecodeFile(filepath.Join(root, "mariadb-server-11.8.6/std_data/mdev6020-mysql-bin.000001"), 0,
		func(r *Record) error {
			n++
			if n == 10 {
				return stop
			}
			return nil
		})
	if err != stop || n != 10 {
		t.Fatalf("err %v after %d records", err, n)
	}
}

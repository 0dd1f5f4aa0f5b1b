package cdc

// Stream.SetDebezium against the servers: the same checks as the Python
// binding's TestDebeziumStream (bindings/python/tests/test_integration.py).

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

var dzOpts = map[string]string{"topic.prefix": "goz", "provide.transaction.metadata": "true",
	"decimal.handling.mode": "string", "schemas.enable": "false"}

// dzStream is a stream as root (the snapshot reads the tables) returning
// Debezium records, its tableChanges read with the same settings.
func dzStream(t *testing.T, srv server, extra map[string]string, batch int) *Stream {
	extra["user"] = "root"
	cfg := srv.config(t, extra)
	defer cfg.Close()
	st, err := NewStream(cfg, batch)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetDebezium(dzOpts, cfg); err != nil {
		t.Fatal(err)
	}
	return st
}

type dzValue struct {
	Op     string                 `json:"op"`
	Before map[string]interface{} `json:"before"`
	After  map[string]interface{} `json:"after"`
	Source struct {
		Snapshot string `json:"snapshot"`
	} `json:"source"`
	Transaction *struct {
		ID string `json:"id"`
	} `json:"transaction"`
	Status       string `json:"status"`
	ID           string `json:"id"`
	EventCount   int    `json:"event_count"`
	DDL          string `json:"ddl"`
	TableChanges []struct {
		Table struct {
			Columns []struct {
				Name string `json:"name"`
			} `json:"columns"`
		} `json:"table"`
	} `json:"tableChanges"`
}

func dzParse(t *testing.T, r *Record) *dzValue {
	if r.ValueJSON == nil {
		return nil
	}
	var v dzValue
	if err := json.Unmarshal(r.ValueJSON, &v); err != nil {
		t.Fatalf("value %s: %v", r.ValueJSON, err)
	}
	return &v
}

func checkDebezium(t *testing.T, srv server) {
	db := "cdc_test_godz"
	srv.sql(t, strings.ReplaceAll(`SET NAMES utf8mb4; DROP DATABASE IF EXISTS {D}; CREATE DATABASE {D};
CREATE TABLE {D}.a (id INT PRIMARY KEY, name VARCHAR(20), amount DECIMAL(10,2));
CREATE TABLE {D}.b (id INT PRIMARY KEY, v VARCHAR(8)) DEFAULT CHARSET utf8mb4;
INSERT INTO {D}.a VALUES (1,'one',1.50),(2,'two',NULL),(3,'drei',3.00);
INSERT INTO {D}.b VALUES (10,'x'),(11,'y'),(12,'😀');`, "{D}", db))
	st := dzStream(t, srv, map[string]string{"snapshot.mode": "initial_only",
		"table.include.list": db + ".a," + db + ".b"}, 256)
	recs := drain(t, st)
	st.Close()
	var marks []string
	for i := range recs {
		if recs[i].Kind() == KindDebezium {
			v := dzParse(t, &recs[i])
			if v.Op != "r" {
				t.Fatalf("%s: snapshot record %s", srv.flavor, recs[i].ValueJSON)
			}
			marks = append(marks, v.Source.Snapshot)
		}
	}
	want := []string{"first", "true", "last_in_data_collection", "first_in_data_collection", "true", "last"}
	if !reflect.DeepEqual(marks, want) {
		t.Fatalf("%s: snapshot marks %v, want %v", srv.flavor, marks, want)
	}
	if recs[len(recs)-1].Kind() != KindSnapshotDone {
		t.Fatalf("%s: the last record is %+v", srv.flavor, recs[len(recs)-1])
	}

	start := srv.position(t)
	srv.sql(t, strings.ReplaceAll(`BEGIN; INSERT INTO {D}.a VALUES (4,'four',4.00),(5,'five',5.55); COMMIT;
UPDATE {D}.a SET amount = 20.00 WHERE id = 2;
DELETE FROM {D}.a WHERE id = 1;
ALTER TABLE {D}.a ADD COLUMN note VARCHAR(10) DEFAULT 'n';
INSERT INTO {D}.a VALUES (6,'six',6.00,'z');`, "{D}", db))
	end := srv.position(t)
	st = dzStream(t, srv, map[string]string{"start": start, "stop.at": end, "table.include.list": db + ".a"}, 300)
	recs = drain(t, st)
	st.Close()
	var ops []string
	var begins, ends []*dzValue
	var schema []*dzValue
	var open *dzValue
	for i := range recs {
		r := &recs[i]
		if r.Kind() != KindDebezium {
			continue
		}
		v := dzParse(t, r)
		switch r.Topic {
		case "goz." + db + ".a":
			if v == nil {
				ops = append(ops, "tombstone")
				if string(r.KeyJSON) != `{"id":1}` {
					t.Fatalf("%s: tombstone key %s", srv.flavor, r.KeyJSON)
				}
				continue
			}
			ops = append(ops, v.Op)
			if open == nil || v.Transaction == nil || v.Transaction.ID != open.ID {
				t.Fatalf("%s: change outside its BEGIN/END: %s", srv.flavor, r.ValueJSON)
			}
		case "goz.transaction":
			if v.Status == "BEGIN" {
				begins = append(begins, v)
				open = v
			} else {
				ends = append(ends, v)
				if open == nil || v.ID != open.ID {
					t.Fatalf("%s: END without its BEGIN: %s", srv.flavor, r.ValueJSON)
				}
				open = nil
			}
		case "goz":
			schema = append(schema, v)
		default:
			t.Fatalf("%s: topic %s", srv.flavor, r.Topic)
		}
	}
	if got := strings.Join(ops, ","); got != "c,c,u,d,tombstone,c" {
		t.Fatalf("%s: ops %s", srv.flavor, got)
	}
	var counts []int
	for _, e := range ends {
		counts = append(counts, e.EventCount)
	}
	if len(begins) != 4 || !reflect.DeepEqual(counts, []int{2, 1, 1, 1}) {
		t.Fatalf("%s: %d BEGIN, END counts %v", srv.flavor, len(begins), counts)
	}
	if len(schema) != 1 || !strings.Contains(schema[0].DDL, "ADD COLUMN note") || len(schema[0].TableChanges) != 1 {
		t.Fatalf("%s: schema changes %+v", srv.flavor, schema)
	}
	var cols []string
	for _, c := range schema[0].TableChanges[0].Table.Columns {
		cols = append(cols, c.Name)
	}
	if strings.Join(cols, ",") != "id,name,amount,note" {
		t.Fatalf("%s: tableChanges columns %v", srv.flavor, cols)
	}
	srv.sql(t, "DROP DATABASE "+db)
}

func TestIntegrationDebeziumMariaDB(t *testing.T) { checkDebezium(t, servers(t)[0]) }
func TestIntegrationDebeziumMySQL(t *testing.T)   { checkDebezium(t, servers(t)[1]) }

func TestIntegrationDebeziumExcludesNative(t *testing.T) {
	srv := servers(t)[0]
	st := srv.stream(t, nil, 0)
	defer st.Close()
	st.SetNative(true)
	if err := st.SetDebezium(dzOpts, nil); err == nil {
		t.Fatal("SetDebezium on a native stream succeeded")
	}
	st2 := srv.stream(t, nil, 0)
	defer st2.Close()
	err := st2.SetDebezium(map[string]string{"topic.prefix": "p", "decimal.handling.mode": "nope"}, nil)
	if e, ok := err.(*Error); !ok || e.Code != ErrConfig || !strings.Contains(e.Message, "nope") {
		t.Fatalf("bad option: %v", err)
	}
}

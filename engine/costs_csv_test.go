package engine

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/routing"
)

func TestParseCostsCSV(t *testing.T) {
	in := "\ufeffcalled_prefix,cost,connectfee,Media, days ,starthour,endhour,priority,least_cost,description,peer,id\n" +
		"44,0.012,0.1,voice,12345,8,18,2,1,\"UK, fixed\",7,900\n" +
		"447,0.09,0,fax,,0,23,1,0,UK mobile,,\n"
	got, err := parseCostsCSV(strings.NewReader(in), 7)
	if err != nil {
		t.Fatal(err)
	}
	want0 := routing.DefaultPeerCost(7)
	// The id column is accepted but rows get new ids on import.
	want0.CalledPrefix, want0.Cost, want0.ConnectFee, want0.Media = "44", 0.012, 0.1, "voice"
	want0.Days, want0.StartHour, want0.EndHour, want0.Priority, want0.Description = "12345", 8, 18, 2, "UK, fixed"
	want1 := routing.DefaultPeerCost(7)
	// An empty cell takes the default, as an omitted API parameter does.
	want1.CalledPrefix, want1.Cost, want1.Media, want1.LeastCost, want1.Description = "447", 0.09, "fax", 0, "UK mobile"
	if len(got) != 2 || got[0] != want0 || got[1] != want1 {
		t.Errorf("got\n%+v\nwant\n%+v\n%+v", got, want0, want1)
	}
	// Defaults of a row naming only its prefix.
	got, err = parseCostsCSV(strings.NewReader("called_prefix\n1\n"), 3)
	if err != nil {
		t.Fatal(err)
	}
	d := got[0]
	if d.CalledMax != 100 || d.CalledMin != 1 || d.CallerType != "prefix" || d.Days != "1234567" || d.End != -1 || d.Start != -1 ||
		d.EndHour != 23 || d.EndMinute != 59 || d.Increment != 1 || d.LeastCost != 1 || d.Media != "voice_fax" || d.Priority != 1 || d.Peer != 3 {
		t.Errorf("defaults: %+v", d)
	}
}

func TestParseCostsCSVErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", []string{"no header"}},
		{"unknown column", "called_prefix,colour\n1,red\n", []string{"line 1", `"colour"`}},
		{"repeated column", "cost,cost\n1,2\n", []string{"line 1", "cost"}},
		{"bad number", "called_prefix,cost\n1,0.1\n2,cheap\n", []string{"line 3", "cost must be a decimal number", "cheap"}},
		{"bad prefix", "called_prefix\n44x\n", []string{"line 2", "called_prefix"}},
		{"bad media", "called_prefix,media\n44,video\n", []string{"line 2", "media"}},
		{"bad hour", "called_prefix,endhour\n44,25\n", []string{"line 2", "endhour"}},
		{"other peer", "called_prefix,peer\n44,8\n", []string{"line 2", "peer \"8\" is not peer 7"}},
		{"short row", "called_prefix,cost\n44\n", []string{"line 2"}},
		{"nan", "called_prefix,cost\n44,NaN\n", []string{"line 2", "cost must be a decimal number"}},
		{"bad quote", "called_prefix,description\n44,\"open\n", []string{"line"}},
		{"huge column name", strings.Repeat("x", 1<<20), []string{"line 1", "record longer than 65536 bytes"}},
		{"quote never closed", "called_prefix,description\n44,x\n45,\"" + strings.Repeat("y\n", 1<<16), []string{"line 3", "record longer than"}},
		{"long unknown column", "called_prefix," + strings.Repeat("z", 1000) + "\n", []string{"line 1", "unknown column", "zzz..."}},
	}
	for _, tt := range tests {
		_, err := parseCostsCSV(strings.NewReader(tt.in), 7)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tt.name, clip(err.Error()), w)
			}
		}
		if len(err.Error()) > 200 {
			t.Errorf("%s: a %d-byte error message", tt.name, len(err.Error()))
		}
	}
}

func FuzzParseCostsCSV(f *testing.F) {
	f.Add("called_prefix,cost\n44,0.1\n")
	f.Add("called_prefix,cost,connectfee,media,days,starthour,endhour,priority,least_cost\n44,0.012,0.1,voice,12345,8,18,2,1\n")
	f.Add("\ufeffcalled_prefix,description\n1,\"a,\"\"b\"\"\"\n")
	f.Add("called_prefix,start,end\n1,-1,99999999999\n")
	f.Add("cost\n1e308\n")
	f.Fuzz(func(t *testing.T, in string) {
		costs, err := parseCostsCSV(strings.NewReader(in), 5)
		if err != nil {
			return
		}
		// Every accepted row must compile into a cost index.
		if _, err := routing.CompileCostIndex([]routing.Peer{{ID: 5, Costs: 1}}, costs); err != nil {
			t.Fatalf("accepted rows do not compile: %v", err)
		}
	})
}

func BenchmarkParseCostsCSV(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("called_prefix,cost,connectfee,description,priority\n")
	for i := range 500000 {
		fmt.Fprintf(&buf, "%d,0.%04d,0,Destination %d,1\n", 440000+i, i%10000, i%300)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		x, err := newCostsCSVReader(bytes.NewReader(data), 1)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := x.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 500000 {
			b.Fatalf("read %d rows", n)
		}
	}
}

//go:build linux

package main

import (
	"errors"
	"reflect"
	"testing"
)

func TestBencodeRoundTrip(t *testing.T) {
	// An ng offer: keys come out sorted, whatever the map's order.
	req := map[string]any{
		"sdp":      "v=0\r\n",
		"command":  "offer",
		"call-id":  "c1",
		"from-tag": "a",
		"flags":    []string{"trust-address"},
		"n":        -12,
	}
	b, err := bencode(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	want := "d7:call-id2:c17:command5:offer5:flagsl13:trust-addresse8:from-tag1:a1:ni-12e3:sdp5:v=0\r\ne"
	if string(b) != want {
		t.Fatalf("encoded\n%q\nwant\n%q", b, want)
	}
	got, err := bdecode(b)
	if err != nil {
		t.Fatal(err)
	}
	back := map[string]any{"sdp": "v=0\r\n", "command": "offer", "call-id": "c1", "from-tag": "a",
		"flags": []any{"trust-address"}, "n": int64(-12)}
	if !reflect.DeepEqual(got, back) {
		t.Fatalf("decoded %#v, want %#v", got, back)
	}
}

func TestBdecodeReply(t *testing.T) {
	// rtpengine's reply to an offer, nested as its statistics are.
	got, err := bdecode([]byte("d6:result2:ok3:sdp3:v=05:statsd1:xli1ei2eeee"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"result": "ok", "sdp": "v=0", "stats": map[string]any{"x": []any{int64(1), int64(2)}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %#v, want %#v", got, want)
	}
}

func TestBdecodeRejects(t *testing.T) {
	deep := make([]byte, 0, 200)
	for range 100 {
		deep = append(deep, 'l')
	}
	for _, in := range []string{"", "i12", "5:abc", "-1:", "l", "d1:a", "di1ei2ee", "x", "i1ei2e", "3:abcd", "iabce", string(deep)} {
		if v, err := bdecode([]byte(in)); !errors.Is(err, errBencode) {
			t.Errorf("bdecode(%q) = %v, %v; want a bencode error", in, v, err)
		}
	}
	if _, err := bencode(nil, 1.5); !errors.Is(err, errBencode) {
		t.Errorf("encoding a float: %v, want a bencode error", err)
	}
}

package render

import (
	"strconv"
	"testing"

	"github.com/sipswitch/sipswitch/routing"
)

// bigSnapshot builds a switch of the given size: phones spread over 100
// plans, peers of mixed types, routes with overlapping prefixes.
func bigSnapshot(phones, peers, routes int) *routing.Snapshot {
	s := &routing.Snapshot{Revision: 1, Settings: routing.Settings{DefaultPeer: 1, DefaultPlan: 1}}
	for i := 1; i <= 100; i++ {
		s.Plans = append(s.Plans, routing.Plan{ID: i, Name: "plan" + strconv.Itoa(i)})
	}
	types := []string{routing.PeerPJSIP, routing.PeerSIP, routing.PeerIAX, routing.PeerPJSIP}
	for i := 1; i <= peers; i++ {
		s.Peers = append(s.Peers, routing.Peer{
			ID: i, Name: "peer" + strconv.Itoa(i), Type: types[i%len(types)], Destination: "10.1." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250+1),
			Codecs: "alaw,ulaw", OutMaximum: i % 50, CalledStripHash: i % 2, CallerIDUnknown: "Anonymous", CallerIDWithheld: "Anonymous",
			Username: "u" + strconv.Itoa(i), Password: "p" + strconv.Itoa(i),
		})
	}
	for i := 1; i <= phones; i++ {
		s.Phones = append(s.Phones, routing.Phone{
			ID: i, Name: "ph" + strconv.Itoa(i), Password: "secret" + strconv.Itoa(i), Plan: i%100 + 1,
			RingTime: 20, TotalMaximum: 2, Ping: i % 2, CallerIDExternal: "+4420" + strconv.Itoa(7000000+i), Mailbox: strconv.Itoa(i),
		})
	}
	for i := 1; i <= routes; i++ {
		s.Routes = append(s.Routes, routing.Route{
			ID: i, Plan: i%100 + 1, CalledPrefix: strconv.Itoa(i), Allow: 1, Media: routing.MediaVoiceFax,
			Peer1: i%peers + 1, Peer2: (i*7)%peers + 1,
		})
	}
	return s
}

func benchmarkRender(b *testing.B, phones, peers, routes int) {
	snap := bigSnapshot(phones, peers, routes)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		files, err := Render(snap)
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			n := 0
			for _, f := range files {
				n += len(f)
			}
			b.ReportMetric(float64(n), "bytes/render")
		}
	}
}

func BenchmarkRender10kPhones(b *testing.B)  { benchmarkRender(b, 10000, 1000, 20000) }
func BenchmarkRender100kPhones(b *testing.B) { benchmarkRender(b, 100000, 10000, 200000) }

// BenchmarkWriteFilesUnchanged is the re-render-without-change path: the
// bytes on disk equal the rendered bytes, so nothing is written.
func BenchmarkWriteFilesUnchanged(b *testing.B) {
	files, err := Render(bigSnapshot(100000, 10000, 200000))
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if _, err := WriteFiles(dir, files); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		changed, err := WriteFiles(dir, files)
		if err != nil || len(changed) != 0 {
			b.Fatal(changed, err)
		}
	}
}

// BenchmarkRenderLeastCost renders a least-cost route over three carriers'
// rate decks of 20,000 prefixes each (country codes and their area codes,
// so prefixes nest two to four deep).
func BenchmarkRenderLeastCost(b *testing.B) {
	snap := bigSnapshot(100, 3, 1)
	snap.Routes[0].Peer1 = routing.PeerLeastCost
	var costs []routing.PeerCost
	for p := range snap.Peers {
		snap.Peers[p].Costs = 1
		for i := 0; i < 20000; i++ {
			c := routing.DefaultPeerCost(snap.Peers[p].ID)
			c.ID = len(costs) + 1
			c.CalledPrefix = strconv.Itoa(1 + i%200)
			if i >= 200 {
				c.CalledPrefix += strconv.Itoa(i)
			}
			c.Cost = float64((i*7+p*13)%100) / 1000
			costs = append(costs, c)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		files, err := Render(snap, WithCosts(costs))
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			b.ReportMetric(float64(len(files[FileExtensions])), "bytes/extensions.conf")
		}
	}
}

package render

import (
	"slices"

	"github.com/sipswitch/sipswitch/routing"
)

// musiconhold.conf holds the hold music classes the lines name (issue
// 29): a line's music N is moh_suggest=music-N (sipobjects.go), played to
// the other party while the line holds, and the class music-N is the
// files of moh/music-N under Asterisk's data directory; [default] is
// moh itself, Asterisk's stock default class. The SIP core reads the
// same layout from media.music_dir (sip/media/music.go): its top-level
// files are the default class, its subdirectory music-N the class
// music-N. The file replaces Asterisk's own musiconhold.conf: classes of
// other names are not kept.
func renderMusicOnHold(m *model, _ *config) ([]byte, error) {
	w := m.newConfWriter(FileMusicOnHold, 128+64*len(m.phones))
	header(w, FileMusicOnHold, m.snap.Revision)
	w.section("general")
	w.section("default")
	w.set("mode", "files", "music")
	w.set("directory", "moh", "music")
	var ids []int
	for _, p := range m.phones {
		if p.Music > 0 && !slices.Contains(ids, p.Music) {
			ids = append(ids, p.Music)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		class := routing.MusicClass(id)
		w.ctx = "music class " + class
		w.section(class)
		w.set("mode", "files", "music")
		w.set("directory", "moh/"+class, "music")
	}
	return w.bytes()
}

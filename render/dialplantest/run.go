package dialplantest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Call is one call entering the dialplan.
type Call struct {
	Context   string // the endpoint's context, e.g. "phone-alice"
	Exten     string // the number dialled
	CallerNum string
	// Headers are the INVITE's headers by name (case-insensitive), the
	// first of each, as PJSIP_HEADER(read,…) and SIP_HEADER(…) read them.
	// The caller's presentation starts allowed: Asterisk takes no
	// identity from a phone (a Privacy header included).
	Headers map[string]string
	// Vars are channel variables present when the call starts (the
	// endpoint's set_var).
	Vars map[string]string
	Now  time.Time
	// Groups are GROUP_COUNT values of other calls ("peer-1@outmaximum").
	Groups map[string]int
	// Dial answers a Dial: the channel string after substitution and the
	// outgoing channel's caller id. It returns the DIALSTATUS.
	Dial func(d Dialled) string
	// MaxSteps bounds the run (default 10,000).
	MaxSteps int
	// Rand draws RAND(min,max); nil draws max.
	Rand func(min, max int) int
	// Unregistered says whether a line (a PJSIP endpoint or chan_sip
	// peer name) has no registered contact: PJSIP_DIAL_CONTACTS is then
	// empty and DEVICE_STATE UNAVAILABLE. Nil: every line is registered.
	Unregistered func(line string) bool
	// CallID is the INVITE's Call-ID: CHANNEL(pjsip,call-id) and
	// SIPCALLID.
	CallID string
}

// Dialled is one Dial the dialplan made.
type Dialled struct {
	Channel   string // e.g. "PJSIP/9441234@carrier-a"
	CallerNum string // on the outgoing channel, after the pre-dial subroutine
	Withheld  bool
	// DivertedFrom and DivertReason are the REDIRECTING from-num and
	// reason the outgoing channel got from the caller's (its Diversion).
	DivertedFrom, DivertReason string
	Timeout                    string
	Options                    string
}

// Result is how the call ended.
type Result struct {
	Dials     []Dialled
	Hangup    int      // cause; 16 (normal clearing) when none was given, 0 after a Goto to no extension
	VoiceMail []string // VoiceMail() arguments
	// Recordings are MixMonitor() arguments (the file, options).
	Recordings []string
	Trace      []string // applications run, "context,exten,priority: App(data)"
}

type frame struct {
	retCtx, retExten string
	retPri           int
	saved            map[string]*string // LOCAL variables' values before the frame
}

type channel struct {
	dp        *Dialplan
	call      *Call
	vars      map[string]string
	callerNum string
	withheld  bool
	groups    map[string]string // category -> group
	frames    []frame
	ctx, ext  string
	pri       int
	res       *Result
	steps     int
	outgoing  bool // a pre-dial subroutine's channel
	// divertedFrom and divertReason are REDIRECTING's from-num and reason.
	divertedFrom, divertReason string
}

var errHangup = fmt.Errorf("hangup")

// Run executes the call until it hangs up (explicitly, by running off an
// extension's end, or by reaching a missing extension).
func (d *Dialplan) Run(c Call) (Result, error) {
	if c.MaxSteps == 0 {
		c.MaxSteps = 10000
	}
	if c.Now.IsZero() {
		c.Now = time.Now()
	}
	res := &Result{Hangup: 16}
	ch := &channel{dp: d, call: &c, vars: map[string]string{}, callerNum: c.CallerNum, groups: map[string]string{}, res: res}
	for k, v := range c.Vars {
		ch.vars[k] = v
	}
	e := d.find(c.Context, c.Exten, c.CallerNum, map[string]bool{})
	if e == nil {
		return *res, fmt.Errorf("%w: %q in %q", ErrNoExtension, c.Exten, c.Context)
	}
	ch.ext, ch.pri = c.Exten, 1
	ch.ctx = c.Context
	err := ch.loop(-1)
	if err == errHangup {
		err = nil
	}
	return *res, err
}

// loop runs until the frame depth drops below stopDepth (a pre-dial
// subroutine's Return) or the channel hangs up.
func (ch *channel) loop(stopDepth int) error {
	for {
		if stopDepth >= 0 && len(ch.frames) < stopDepth {
			return nil
		}
		ch.steps++
		if ch.steps > ch.call.MaxSteps {
			return fmt.Errorf("more than %d steps: a loop?", ch.call.MaxSteps)
		}
		e := ch.dp.find(ch.ctx, ch.ext, ch.callerNum, map[string]bool{})
		if e == nil || ch.pri > len(e.prios) {
			return errHangup // autofallthrough
		}
		s := e.prios[ch.pri-1]
		data, err := ch.subst(s.data)
		if err != nil {
			return fmt.Errorf("%s,%s,%d (line %d): %w", ch.ctx, ch.ext, ch.pri, s.line, err)
		}
		ch.res.Trace = append(ch.res.Trace, fmt.Sprintf("%s,%s,%d: %s(%s)", ch.ctx, ch.ext, ch.pri, s.app, data))
		ch.pri++
		if err := ch.exec(s.app, data); err != nil {
			if err == errHangup {
				return err
			}
			return fmt.Errorf("%s,%s,%d (line %d) %s(%s): %w", ch.ctx, ch.ext, ch.pri-1, s.line, s.app, data, err)
		}
	}
}

func (ch *channel) exec(app, data string) error {
	switch app {
	case "NoOp":
		return nil
	case "Set":
		name, val, ok := strings.Cut(data, "=")
		if !ok {
			return fmt.Errorf("set without =")
		}
		return ch.set(name, val)
	case "ExecIf":
		cond, rest, _ := strings.Cut(data, "?")
		if !truth(cond) {
			return nil
		}
		open := strings.IndexByte(rest, '(')
		if open < 0 || !strings.HasSuffix(rest, ")") {
			return fmt.Errorf("%w: ExecIf branch %q", ErrUnsupported, rest)
		}
		return ch.exec(rest[:open], rest[open+1:len(rest)-1])
	case "Goto":
		return ch.jump(data)
	case "GotoIf":
		cond, labels, _ := strings.Cut(data, "?")
		t, f, _ := strings.Cut(labels, ":")
		if truth(cond) {
			if t != "" {
				return ch.jump(t)
			}
		} else if f != "" {
			return ch.jump(f)
		}
		return nil
	case "GotoIfTime":
		spec, label, _ := strings.Cut(data, "?")
		ok, err := ch.ifTime(spec)
		if err != nil {
			return err
		}
		if ok {
			return ch.jump(label)
		}
		return nil
	case "Gosub":
		return ch.gosub(data)
	case "GosubIf":
		cond, labels, _ := strings.Cut(data, "?")
		if strings.Contains(labels, ":") {
			return fmt.Errorf("%w: GosubIf false branch", ErrUnsupported)
		}
		if truth(cond) {
			return ch.gosub(labels)
		}
		return nil
	case "Return":
		return ch.ret(data)
	case "Hangup":
		if data != "" {
			n, err := strconv.Atoi(data)
			if err != nil {
				return fmt.Errorf("hangup cause %q", data)
			}
			ch.res.Hangup = n
		}
		return errHangup
	case "VoiceMail":
		ch.res.VoiceMail = append(ch.res.VoiceMail, data)
		return nil
	case "MixMonitor":
		ch.res.Recordings = append(ch.res.Recordings, data)
		return nil
	case "Dial":
		return ch.dial(data)
	}
	return fmt.Errorf("%w: application %s", ErrUnsupported, app)
}

func (ch *channel) set(name, val string) error {
	switch {
	case strings.HasPrefix(name, "LOCAL(") && strings.HasSuffix(name, ")"):
		v := name[6 : len(name)-1]
		if len(ch.frames) == 0 {
			return fmt.Errorf("LOCAL(%s) outside a Gosub", v)
		}
		f := &ch.frames[len(ch.frames)-1]
		if _, ok := f.saved[v]; !ok {
			if old, had := ch.vars[v]; had {
				f.saved[v] = &old
			} else {
				f.saved[v] = nil
			}
		}
		ch.vars[v] = val
	case name == "CONNECTEDLINE(num,i)" && ch.outgoing:
		ch.callerNum = val
	case name == "CONNECTEDLINE(name,i)" && ch.outgoing:
	case name == "CONNECTEDLINE(pres,i)" && ch.outgoing:
		ch.withheld = strings.HasPrefix(val, "prohib")
	case strings.HasPrefix(name, "CALLERID(") && ch.outgoing:
		return fmt.Errorf("%w: Set(%s) on an outgoing channel changes nothing the peer is sent (CONNECTEDLINE does)", ErrUnsupported, name)
	case name == "CALLERID(num)":
		ch.callerNum = val
	case name == "CALLERID(name)":
	case name == "CALLERID(pres)":
		switch {
		case strings.HasPrefix(val, "prohib"):
			ch.withheld = true
		case strings.HasPrefix(val, "allowed"):
			ch.withheld = false
		default:
			return fmt.Errorf("CALLERID(pres)=%q", val)
		}
	case strings.HasPrefix(name, "REDIRECTING(") && strings.HasSuffix(name, ",i)"):
		// Who sent the call on and why: Dial copies it to the outgoing
		// channel (res_pjsip's Diversion).
		switch field := name[len("REDIRECTING(") : len(name)-3]; field {
		case "from-num":
			ch.divertedFrom = val
		case "reason":
			ch.divertReason = val
		case "count":
		default:
			return fmt.Errorf("%w: Set(%s)", ErrUnsupported, name)
		}
	case strings.HasPrefix(name, "GROUP(") && strings.HasSuffix(name, ")"):
		ch.groups[name[6:len(name)-1]] = val
	case strings.ContainsAny(name, "()"):
		return fmt.Errorf("%w: Set(%s)", ErrUnsupported, name)
	default:
		ch.vars[name] = val
	}
	return nil
}

// jump is Goto's [[context,]exten,]priority.
func (ch *channel) jump(target string) error {
	parts := strings.Split(target, ",")
	ctx, ext := ch.ctx, ch.ext
	switch len(parts) {
	case 1:
	case 2:
		ext = parts[0]
	case 3:
		ctx, ext = parts[0], parts[1]
	default:
		return fmt.Errorf("goto %q", target)
	}
	e := ch.dp.find(ctx, ext, ch.callerNum, map[string]bool{})
	if e == nil {
		// Asterisk goes there anyway and, finding no extension to run,
		// goes on at the context's "i" extension (INVALID_EXTEN), or
		// without one hangs up.
		if ch.dp.find(ctx, "i", ch.callerNum, map[string]bool{}) != nil {
			ch.vars["INVALID_EXTEN"] = ext
			ch.ctx, ch.ext, ch.pri = ctx, "i", 1
			return nil
		}
		ch.res.Hangup = 0
		return errHangup
	}
	pri, err := e.priorityOf(parts[len(parts)-1])
	if err != nil {
		return fmt.Errorf("goto %q: %w", target, err)
	}
	ch.ctx, ch.ext, ch.pri = ctx, ext, pri
	return nil
}

// gosub is Gosub([[context,]exten,]priority[(args)]).
func (ch *channel) gosub(data string) error {
	target, args := data, ""
	if open := strings.IndexByte(data, '('); open >= 0 {
		if !strings.HasSuffix(data, ")") {
			return fmt.Errorf("gosub %q", data)
		}
		target, args = data[:open], data[open+1:len(data)-1]
	}
	f := frame{retCtx: ch.ctx, retExten: ch.ext, retPri: ch.pri, saved: map[string]*string{}}
	ch.frames = append(ch.frames, f)
	if err := ch.jump(target); err != nil {
		ch.frames = ch.frames[:len(ch.frames)-1]
		return err
	}
	var list []string
	if args != "" {
		list = strings.Split(args, ",")
	}
	// ARGn are LOCAL variables of the new frame; ARGs past the count are
	// unset so that an outer frame's do not show through.
	for i := 1; i <= 9; i++ {
		v := ""
		if i <= len(list) {
			v = list[i-1]
		}
		if err := ch.set("LOCAL(ARG"+strconv.Itoa(i)+")", v); err != nil {
			return err
		}
		if i > len(list) {
			delete(ch.vars, "ARG"+strconv.Itoa(i))
		}
	}
	return nil
}

func (ch *channel) ret(value string) error {
	if len(ch.frames) == 0 {
		return fmt.Errorf("return without gosub")
	}
	f := ch.frames[len(ch.frames)-1]
	ch.frames = ch.frames[:len(ch.frames)-1]
	for k, v := range f.saved {
		if v == nil {
			delete(ch.vars, k)
		} else {
			ch.vars[k] = *v
		}
	}
	ch.vars["GOSUB_RETVAL"] = value
	ch.ctx, ch.ext, ch.pri = f.retCtx, f.retExten, f.retPri
	return nil
}

// dial runs Dial(channel[,timeout[,options]]): the b() pre-dial
// subroutine runs on a copy of the caller's channel that inherits no
// variables, and what it sets stays on that copy.
func (ch *channel) dial(data string) error {
	if ch.outgoing {
		return fmt.Errorf("%w: Dial from a pre-dial subroutine", ErrUnsupported)
	}
	parts := strings.SplitN(data, ",", 3)
	d := Dialled{Channel: parts[0]}
	if len(parts) > 1 {
		d.Timeout = parts[1]
	}
	if len(parts) > 2 {
		d.Options = parts[2]
	}
	out := &channel{dp: ch.dp, call: ch.call, vars: map[string]string{}, callerNum: ch.callerNum, withheld: ch.withheld, groups: map[string]string{}, res: ch.res, outgoing: true}
	if i := strings.Index(d.Options, "b("); i >= 0 {
		end, depth := -1, 0
		for j := i + 1; j < len(d.Options) && end < 0; j++ {
			switch d.Options[j] {
			case '(':
				depth++
			case ')':
				if depth--; depth == 0 {
					end = j - i
				}
			}
		}
		if end < 0 {
			return fmt.Errorf("dial option b without )")
		}
		target := strings.ReplaceAll(d.Options[i+2:i+end], "^", ",")
		out.ctx, out.ext, out.pri = ch.ctx, ch.ext, ch.pri
		if err := out.gosub(target); err != nil {
			return err
		}
		if err := out.loop(1); err != nil {
			return fmt.Errorf("pre-dial %s: %w", target, err)
		}
		ch.steps += out.steps
	}
	d.CallerNum, d.Withheld = out.callerNum, out.withheld
	d.DivertedFrom, d.DivertReason = ch.divertedFrom, ch.divertReason
	ch.res.Dials = append(ch.res.Dials, d)
	status := "CHANUNAVAIL"
	if ch.call.Dial != nil {
		status = ch.call.Dial(d)
	}
	ch.vars["DIALSTATUS"] = status
	return nil
}

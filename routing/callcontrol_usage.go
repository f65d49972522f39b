package routing

// EachLimitedPhone calls fn for every line with a daily spend limit
// (call_maximum >= 0), for the console's dashboard (spend against the
// limit).
func (c *CallControl) EachLimitedPhone(fn func(p *Phone)) {
	for _, p := range c.view.Load().phones {
		if p.CallMaximum >= 0 {
			fn(p)
		}
	}
}

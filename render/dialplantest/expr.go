package dialplantest

import (
	"fmt"
	"strconv"
	"strings"
)

// evalExpr evaluates the text of a $[...] after substitution, as
// main/ast_expr2.y does for the operators render/ writes: | & = != < >
// <= >= + - and parentheses. A quoted string keeps its quotes (the lexer
// strdup()s the whole token) and is a string; a bare token is a number
// only when it reads [0-9]+(.[0-9]+)?. A comparison is numeric when both
// sides are numbers, else by string with the quotes: "1" = "01" is false,
// 1 = 01 is true. Results of comparisons are "1" or "0".
func evalExpr(s string) (string, error) {
	toks, err := tokenize(s)
	if err != nil {
		return "", err
	}
	p := exprParser{toks: toks}
	v, err := p.or()
	if err != nil {
		return "", fmt.Errorf("$[%s]: %w", s, err)
	}
	if p.pos != len(p.toks) {
		return "", fmt.Errorf("$[%s]: %w: trailing %q", s, ErrUnsupported, p.toks[p.pos].text)
	}
	return v, nil
}

type token struct {
	text string
	op   bool
}

func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("$[%s]: unterminated string", s)
			}
			out = append(out, token{text: s[i : i+2+j]})
			i += j + 2
		case strings.HasPrefix(s[i:], "!=") || strings.HasPrefix(s[i:], "<=") || strings.HasPrefix(s[i:], ">="):
			out = append(out, token{text: s[i : i+2], op: true})
			i += 2
		case strings.IndexByte("|&=<>+-()!", c) >= 0:
			out = append(out, token{text: s[i : i+1], op: true})
			i++
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\"|&=<>!+-()", s[j]) < 0 {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("$[%s]: %w: operator %q", s, ErrUnsupported, s[i:i+1])
			}
			out = append(out, token{text: s[i:j]})
			i = j
		}
	}
	return out, nil
}

type exprParser struct {
	toks []token
	pos  int
}

func (p *exprParser) peekOp(ops ...string) (string, bool) {
	if p.pos >= len(p.toks) || !p.toks[p.pos].op {
		return "", false
	}
	for _, o := range ops {
		if p.toks[p.pos].text == o {
			return o, true
		}
	}
	return "", false
}

// truth is pbx_checkcondition: empty is false, a leading integer
// (sscanf %d) is its value, anything else is true.
func truth(v string) bool {
	v = strings.TrimLeft(v, " \t")
	if v == "" {
		return false
	}
	end := 0
	if v[0] == '-' || v[0] == '+' {
		end = 1
	}
	start := end
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	if end == start {
		return true
	}
	n, err := strconv.Atoi(v[:end])
	return err != nil || n != 0
}

func (p *exprParser) or() (string, error) {
	l, err := p.and()
	for err == nil {
		if _, ok := p.peekOp("|"); !ok {
			break
		}
		p.pos++
		var r string
		if r, err = p.and(); err == nil {
			if !truth(l) {
				l = r
			}
		}
	}
	return l, err
}

func (p *exprParser) and() (string, error) {
	l, err := p.cmp()
	for err == nil {
		if _, ok := p.peekOp("&"); !ok {
			break
		}
		p.pos++
		var r string
		if r, err = p.cmp(); err == nil && (!truth(l) || !truth(r)) {
			l = "0"
		}
	}
	return l, err
}

func (p *exprParser) cmp() (string, error) {
	l, err := p.sum()
	for err == nil {
		op, ok := p.peekOp("=", "!=", "<", ">", "<=", ">=")
		if !ok {
			break
		}
		p.pos++
		var r string
		if r, err = p.sum(); err != nil {
			break
		}
		var c int
		if isNumber(l) && isNumber(r) {
			ln, _ := strconv.ParseFloat(l, 64)
			rn, _ := strconv.ParseFloat(r, 64)
			c = compareFloat(ln, rn)
		} else {
			c = strings.Compare(l, r)
		}
		res := false
		switch op {
		case "=":
			res = c == 0
		case "!=":
			res = c != 0
		case "<":
			res = c < 0
		case ">":
			res = c > 0
		case "<=":
			res = c <= 0
		case ">=":
			res = c >= 0
		}
		l = "0"
		if res {
			l = "1"
		}
	}
	return l, err
}

// isNumber is the lexer's numeric token, [0-9]+(\.[0-9]+)?.
func isNumber(v string) bool {
	whole, frac, dot := strings.Cut(v, ".")
	digits := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return s != ""
	}
	return digits(whole) && (!dot || digits(frac))
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (p *exprParser) sum() (string, error) {
	l, err := p.unary()
	for err == nil {
		op, ok := p.peekOp("+", "-")
		if !ok {
			break
		}
		p.pos++
		var r string
		if r, err = p.unary(); err != nil {
			break
		}
		ln, lerr := strconv.ParseInt(l, 10, 64)
		rn, rerr := strconv.ParseInt(r, 10, 64)
		if lerr != nil || rerr != nil || !isNumber(l) || !isNumber(r) {
			return "", fmt.Errorf("%w: arithmetic on %q and %q", ErrUnsupported, l, r)
		}
		if op == "+" {
			l = strconv.FormatInt(ln+rn, 10)
		} else {
			l = strconv.FormatInt(ln-rn, 10)
		}
	}
	return l, err
}

func (p *exprParser) unary() (string, error) {
	if p.pos >= len(p.toks) {
		return "", fmt.Errorf("%w: missing operand", ErrUnsupported)
	}
	t := p.toks[p.pos]
	if t.op && t.text == "(" {
		p.pos++
		v, err := p.or()
		if err != nil {
			return "", err
		}
		if _, ok := p.peekOp(")"); !ok {
			return "", fmt.Errorf("missing )")
		}
		p.pos++
		return v, nil
	}
	if t.op && t.text == "!" {
		// ast_expr2's logical not: "1" for a false operand, else "0".
		p.pos++
		v, err := p.unary()
		if err != nil {
			return "", err
		}
		if truth(v) {
			return "0", nil
		}
		return "1", nil
	}
	if t.op {
		return "", fmt.Errorf("%w: operator %q where an operand belongs", ErrUnsupported, t.text)
	}
	p.pos++
	return t.text, nil
}

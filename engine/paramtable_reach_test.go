package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The parameter table's claims are checked against the code: a row that
// says a parameter acts on the SIP core, the rendered files or the
// simulation must have the struct field carrying the parameter read by a
// function that path reaches. The check type-checks the module's own
// packages from source (their dependencies from the build cache's export
// data, found by `go list -export`) and follows calls from each path's
// entry points:
//   - SIP core: every function of package sip and the packages under it
//     (auth, registrar, sessiontimer, sipmsg, media...);
//   - rendered files: every function of package render;
//   - simulation: routing's Simulate and engine's SimulationRequest.
// Calls through an interface reach every method of that name in the
// analysed packages, and a function used as a value counts as called, so
// the check may accept a claim whose read is not actually on the way; it
// never refuses a true one. Writes (composite literal keys) do not count.

const modulePath = "github.com/sipswitch/sipswitch"

// analysedPatterns name the packages type-checked from source, with every
// package of the module they import; test helpers are left out.
var analysedPatterns = []string{"./routing", "./engine", "./render", "./sip/..."}

func testHelperPackage(path string) bool {
	return strings.HasSuffix(path, "/siptest") || strings.Contains(path, "/internal/testcert") || strings.Contains(path, "/internal/servicetest")
}

type reachGraph struct {
	// fields[f] are the fields ("pkg.Type.Field") function f reads.
	fields map[string]map[string]bool
	// calls[f] are the functions and package variables f uses.
	calls map[string]map[string]bool
	// literals[f] are the string constants f's body holds.
	literals map[string]map[string]bool
	// byMethodName lists the concrete methods of each name, for calls
	// through interfaces.
	byMethodName map[string][]string
	// pkgFuncs lists each package's functions.
	pkgFuncs map[string][]string
}

func buildReachGraph(t *testing.T) *reachGraph {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}\t{{.Dir}}\t{{join .GoFiles \",\"}}"}
	args = append(args, analysedPatterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	exports := map[string]string{}
	sources := map[string][]string{} // import path -> its Go files (build tags applied)
	var analysed []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 4 {
			t.Fatalf("go list: %q", sc.Text())
		}
		exports[f[0]] = f[1]
		if strings.HasPrefix(f[0], modulePath+"/") && !testHelperPackage(f[0]) {
			analysed = append(analysed, f[0])
		}
		for _, name := range strings.Split(f[3], ",") {
			if name != "" {
				sources[f[0]] = append(sources[f[0]], filepath.Join(f[2], name))
			}
		}
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	g := &reachGraph{
		fields: map[string]map[string]bool{}, calls: map[string]map[string]bool{}, literals: map[string]map[string]bool{},
		byMethodName: map[string][]string{}, pkgFuncs: map[string][]string{},
	}
	for _, path := range analysed {
		g.addPackage(t, fset, imp, sources[path], path)
	}
	return g
}

func (g *reachGraph) addPackage(t *testing.T, fset *token.FileSet, imp types.Importer, sources []string, path string) {
	t.Helper()
	var files []*ast.File
	for _, name := range sources {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}, Selections: map[*ast.SelectorExpr]*types.Selection{}}
	conf := types.Config{Importer: imp, Error: func(error) {}}
	if _, err := conf.Check(path, fset, files, info); err != nil {
		t.Fatalf("type-check %s: %v", path, err)
	}
	add := func(key string, n ast.Node) {
		fs, cs, ls := g.fields[key], g.calls[key], g.literals[key]
		if fs == nil {
			fs, cs, ls = map[string]bool{}, map[string]bool{}, map[string]bool{}
			g.fields[key], g.calls[key], g.literals[key] = fs, cs, ls
			g.pkgFuncs[path] = append(g.pkgFuncs[path], key)
		}
		ast.Inspect(n, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if s, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING {
					ls[s] = true
				}
			case *ast.SelectorExpr:
				if sel, ok := info.Selections[n]; ok && sel.Kind() == types.FieldVal {
					if f := fieldKeyOf(sel); f != "" {
						fs[f] = true
					}
				}
			case *ast.Ident:
				switch o := info.Uses[n].(type) {
				case *types.Func:
					cs[funcKeyOf(o)] = true
				case *types.Var:
					if o.Pkg() != nil && !o.IsField() && o.Parent() == o.Pkg().Scope() {
						cs[o.Pkg().Path()+"."+o.Name()] = true
					}
				}
			}
			return true
		})
	}
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				key := path + "." + d.Name.Name
				if d.Recv != nil && len(d.Recv.List) > 0 {
					key = path + "." + recvName(d.Recv.List[0].Type) + "." + d.Name.Name
					g.byMethodName[d.Name.Name] = append(g.byMethodName[d.Name.Name], key)
				}
				add(key, d)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if vs, ok := s.(*ast.ValueSpec); ok {
						for _, n := range vs.Names {
							add(path+"."+n.Name, vs)
						}
					}
				}
			}
		}
	}
}

func recvName(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.Ident:
			return x.Name
		default:
			return "?"
		}
	}
}

// funcKeyOf names a function as addPackage keys its declaration; a method
// of an interface is "iface:Name".
func funcKeyOf(f *types.Func) string {
	f = f.Origin()
	sig := f.Type().(*types.Signature)
	if sig.Recv() == nil {
		if f.Pkg() == nil {
			return f.Name()
		}
		return f.Pkg().Path() + "." + f.Name()
	}
	rt := sig.Recv().Type()
	if p, ok := rt.(*types.Pointer); ok {
		rt = p.Elem()
	}
	if types.IsInterface(rt) {
		return "iface:" + f.Name()
	}
	if n, ok := rt.(*types.Named); ok && f.Pkg() != nil {
		return f.Pkg().Path() + "." + n.Origin().Obj().Name() + "." + f.Name()
	}
	return "?" + f.Name()
}

// fieldKeyOf names the field a selection reads: "pkg.Type.Field" of the
// struct that declares it (walking embedded fields).
func fieldKeyOf(sel *types.Selection) string {
	t := sel.Recv()
	idx := sel.Index()
	for i, k := range idx {
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		named, _ := t.(*types.Named)
		st, ok := t.Underlying().(*types.Struct)
		if !ok {
			return ""
		}
		f := st.Field(k)
		if i == len(idx)-1 {
			if named == nil || named.Obj().Pkg() == nil {
				return ""
			}
			return named.Obj().Pkg().Path() + "." + named.Obj().Name() + "." + f.Name()
		}
		t = f.Type()
	}
	return ""
}

// reach returns every function and variable reachable from roots.
func (g *reachGraph) reach(roots []string) map[string]bool {
	seen := map[string]bool{}
	stack := append([]string(nil), roots...)
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[f] {
			continue
		}
		seen[f] = true
		if name, ok := strings.CutPrefix(f, "iface:"); ok {
			stack = append(stack, g.byMethodName[name]...)
			continue
		}
		for c := range g.calls[f] {
			stack = append(stack, c)
		}
	}
	return seen
}

// readFields returns the fields the reachable functions read.
func (g *reachGraph) readFields(reached map[string]bool) map[string]bool {
	out := map[string]bool{}
	for f := range reached {
		for k := range g.fields[f] {
			out[k] = true
		}
	}
	return out
}

// pathReach is what each path of the parameter table reaches.
type pathReach struct {
	g       *reachGraph
	reached map[callPath]map[string]bool
	fields  map[callPath]map[string]bool
}

// Roots of each path. The daemon (cmd/sipswitch serve) feeds the SIP
// core what engine's Snapshot and PeerCosts read, through routing's
// NewCallControl and Reload; the renderer is given the same snapshot and
// costs.
func pathRoots(g *reachGraph) map[callPath][]string {
	feed := []string{modulePath + "/engine.Service.Snapshot", modulePath + "/engine.Service.PeerCosts"}
	sip := append([]string{modulePath + "/routing.NewCallControl", modulePath + "/routing.CallControl.Reload"}, feed...)
	for path, funcs := range g.pkgFuncs {
		if path == modulePath+"/sip" || strings.HasPrefix(path, modulePath+"/sip/") {
			sip = append(sip, funcs...)
		}
	}
	render := append(append([]string(nil), feed...), g.pkgFuncs[modulePath+"/render"]...)
	sim := []string{modulePath + "/routing.Simulate", modulePath + "/engine.Service.SimulationRequest", modulePath + "/engine.RoutingStates.Current"}
	return map[callPath][]string{pathSIP: sip, pathRender: render, pathSimulate: sim}
}

func analysePaths(t *testing.T) *pathReach {
	t.Helper()
	g := buildReachGraph(t)
	r := &pathReach{g: g, reached: map[callPath]map[string]bool{}, fields: map[callPath]map[string]bool{}}
	for p, roots := range pathRoots(g) {
		for _, root := range roots {
			if g.calls[root] == nil {
				t.Fatalf("entry point %s not found", root)
			}
		}
		r.reached[p] = g.reach(roots)
		r.fields[p] = g.readFields(r.reached[p])
	}
	return r
}

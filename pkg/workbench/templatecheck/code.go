package templatecheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// sdkServicePrefix starts the import path of every AWS SDK service package.
const sdkServicePrefix = "github.com/aws/aws-sdk-go-v2/service/"

// protocolClients are this module's packages that speak an AWS service's
// wire protocol themselves, to keep the SDK's client out of the binaries:
// their <Op>Input types name that service's operations, as the SDK's do.
var protocolClients = map[string]string{
	"github.com/keyward/keyward/pkg/kmsclient": "kms",
}

// Op is an AWS SDK operation: the SDK service package's name (dynamodb,
// kms, apigateway, ...) and the operation (GetItem, Decrypt, ...).
type Op struct {
	Service string
	Name    string
}

func (o Op) String() string { return o.Service + "." + o.Name }

// Usage is what one function's Go code needs from its environment and from
// AWS.
type Usage struct {
	// Package is the function's import path; Dir its directory.
	Package string
	Dir     string
	// Env maps every environment variable that reachable code reads to one
	// place reading it.
	Env map[string]Site
	// DynamicEnv are the places where reachable code reads an environment
	// variable whose name is not a constant: the template cannot be checked
	// for it.
	DynamicEnv []Site
	// Ops maps every SDK operation reachable from main to one call site.
	Ops map[Op]Site
	// TransactWrites maps the kinds of item reachable code builds for
	// DynamoDB TransactWriteItems (Put, Update, Delete, ConditionCheck) to
	// one place building it.
	TransactWrites map[string]Site
	// IndexReads holds the places where reachable code sets IndexName on a
	// DynamoDB Query or Scan: the function reads a secondary index.
	IndexReads []Site
}

// Site is a place in reachable code, and how it is reached.
type Site struct {
	Pos token.Position
	// Via is the chain of functions from a root (main, or a package's
	// initialisation) to the function holding Pos.
	Via []string
}

func (s Site) String() string {
	return fmt.Sprintf("%s (%s)", s.Pos, strings.Join(s.Via, " → "))
}

// Analyze type-checks the module's packages linked into the packages that
// patterns (e.g. "./functions/...") match in root and reports each matched
// package's Usage, keyed by import path.
//
// The analysis is static and deliberately simple:
//
//   - Environment variables: calls of os.Getenv, os.LookupEnv and
//     syscall.Getenv, and calls of function values whose name contains "env"
//     (getenv, lookupEnv) with the signature func(string) string or
//     func(string) (string, bool), whose argument is a constant (literal or
//     named). os.Getenv with a non-constant argument is listed in
//     DynamicEnv, since its variable cannot be checked.
//   - SDK operations: a reference to a method named Op that takes a
//     *<service>.OpInput — a method of an SDK client or of one of our small
//     interfaces holding SDK signatures — and SDK functions taking such an
//     interface (paginators, waiters), in code reachable from main. The
//     OpInput types of protocolClients (pkg/kmsclient) count as their
//     service's.
//   - Reachability: from main, the package initialisers and init functions
//     of every linked package of the module, following every reference to a
//     function or method (calls, method values, functions passed as
//     values), every method of our types that implements an interface whose
//     method is referenced, and every method of our types passed to a
//     function of another module as an interface (encoding/json,
//     net/http). Code of other modules is not followed: what it calls back
//     is covered by the last rule.
func Analyze(root string, patterns ...string) (map[string]*Usage, error) {
	listed, err := goList(root, patterns)
	if err != nil {
		return nil, err
	}
	a := &analysis{
		fset:    token.NewFileSet(),
		listed:  listed,
		ours:    make(map[string]*types.Package),
		facts:   make(map[*types.Func]*facts),
		pkgInit: make(map[string]*facts),
	}
	exports := make(map[string]string)
	for _, p := range listed {
		if p.Export != "" {
			exports[p.ImportPath] = p.Export
		}
	}
	gc := importer.ForCompiler(a.fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	a.imp = importerFunc(func(path string) (*types.Package, error) {
		if p, ok := a.ours[path]; ok {
			return p, nil
		}
		return gc.Import(path)
	})
	// go list -deps prints dependencies before their dependents.
	for _, p := range listed {
		if p.Module == nil || !p.Module.Main {
			continue
		}
		if err := a.check(p); err != nil {
			return nil, err
		}
	}
	a.indexMethods()

	out := make(map[string]*Usage)
	for _, p := range listed {
		if p.DepOnly || p.Module == nil || !p.Module.Main {
			continue
		}
		u, err := a.usage(p)
		if err != nil {
			return nil, err
		}
		out[p.ImportPath] = u
	}
	return out, nil
}

type listedPackage struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Export     string
	DepOnly    bool
	Deps       []string
	Module     *struct{ Main bool }
	Error      *struct{ Err string }
}

func goList(root string, patterns []string) ([]*listedPackage, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("templatecheck: the go command is needed: %w", err)
	}
	args := append([]string{"list", "-e", "-deps", "-export", "-json=ImportPath,Name,Dir,GoFiles,CgoFiles,Export,DepOnly,Deps,Module,Error"}, patterns...)
	cmd := exec.Command(goBin, args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("templatecheck: go list: %w: %s", err, stderr.String())
	}
	var pkgs []*listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(listedPackage)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("templatecheck: go list output: %w", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("templatecheck: package %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// facts are what one function body (or a package's initialisers) refers to.
type facts struct {
	// owner is the function whose body these are; nil for a package's
	// initialisation, named by pkg.
	owner *types.Func
	pkg   string
	calls map[*types.Func]token.Position
	// escapes are our named types whose values are handed to another
	// module as an interface: all their methods may be called.
	escapes map[*types.Named]bool
	// ops are SDK operations referenced directly.
	ops      map[Op]token.Position
	transact map[string]token.Position
	index    []token.Position
	env      map[string]token.Position
	// dynamicEnv are os.Getenv calls whose argument is not a constant.
	dynamicEnv []token.Position
}

type analysis struct {
	fset   *token.FileSet
	listed []*listedPackage
	imp    types.Importer
	ours   map[string]*types.Package

	facts   map[*types.Func]*facts
	pkgInit map[string]*facts

	// methods maps a method name to our concrete methods of that name.
	methods map[string][]*types.Func
	// transactFields and indexFields are the dynamodb/types and dynamodb
	// struct fields whose use reveals the IAM actions a call needs.
	transactFields map[*types.Var]string
	indexFields    map[*types.Var]bool
}

func (a *analysis) check(p *listedPackage) error {
	if len(p.CgoFiles) > 0 {
		return fmt.Errorf("templatecheck: %s uses cgo, which the functions must not", p.ImportPath)
	}
	var files []*ast.File
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(a.fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return fmt.Errorf("templatecheck: %w", err)
		}
		files = append(files, f)
	}
	info := &types.Info{
		Types: make(map[ast.Expr]types.TypeAndValue),
		Defs:  make(map[*ast.Ident]types.Object),
		Uses:  make(map[*ast.Ident]types.Object),
	}
	conf := types.Config{Importer: a.imp}
	pkg, err := conf.Check(p.ImportPath, a.fset, files, info)
	if err != nil {
		return fmt.Errorf("templatecheck: type-check %s: %w", p.ImportPath, err)
	}
	a.ours[p.ImportPath] = pkg
	a.lookupFields(pkg)

	init := a.newFacts(p.ImportPath)
	a.pkgInit[p.ImportPath] = init
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Body == nil {
					continue
				}
				fn, _ := info.Defs[d.Name].(*types.Func)
				fs := init
				if fn != nil && !(d.Recv == nil && d.Name.Name == "init") {
					fs = a.newFacts(p.ImportPath)
					fs.owner = fn
					a.facts[fn] = fs
				}
				a.collect(d.Body, info, fs)
			case *ast.GenDecl:
				if d.Tok != token.VAR {
					continue
				}
				for _, s := range d.Specs {
					for _, v := range s.(*ast.ValueSpec).Values {
						a.collect(v, info, init)
					}
				}
			}
		}
	}
	return nil
}

func (a *analysis) newFacts(pkg string) *facts {
	return &facts{
		pkg:      pkg,
		calls:    make(map[*types.Func]token.Position),
		escapes:  make(map[*types.Named]bool),
		ops:      make(map[Op]token.Position),
		transact: make(map[string]token.Position),
		env:      make(map[string]token.Position),
	}
}

// lookupFields finds, once the SDK's DynamoDB packages are loaded, the
// struct fields that tell which item actions a transaction needs and
// whether a read uses an index.
func (a *analysis) lookupFields(pkg *types.Package) {
	if a.transactFields != nil {
		return
	}
	ddb, ddbTypes := findImport(pkg, sdkServicePrefix+"dynamodb"), findImport(pkg, sdkServicePrefix+"dynamodb/types")
	if ddb == nil || ddbTypes == nil {
		return
	}
	a.transactFields = make(map[*types.Var]string)
	a.indexFields = make(map[*types.Var]bool)
	if st := structOf(ddbTypes, "TransactWriteItem"); st != nil {
		for i := range st.NumFields() {
			f := st.Field(i)
			a.transactFields[f] = f.Name()
		}
	}
	for _, in := range []string{"QueryInput", "ScanInput"} {
		if st := structOf(ddb, in); st != nil {
			for i := range st.NumFields() {
				if f := st.Field(i); f.Name() == "IndexName" {
					a.indexFields[f] = true
				}
			}
		}
	}
}

func findImport(pkg *types.Package, path string) *types.Package {
	seen := make(map[*types.Package]bool)
	var find func(p *types.Package) *types.Package
	find = func(p *types.Package) *types.Package {
		if p.Path() == path {
			return p
		}
		if seen[p] {
			return nil
		}
		seen[p] = true
		for _, q := range p.Imports() {
			if r := find(q); r != nil {
				return r
			}
		}
		return nil
	}
	return find(pkg)
}

func structOf(pkg *types.Package, name string) *types.Struct {
	tn, _ := pkg.Scope().Lookup(name).(*types.TypeName)
	if tn == nil {
		return nil
	}
	st, _ := tn.Type().Underlying().(*types.Struct)
	return st
}

// collect records what node refers to, and the environment variables it
// reads, into fs.
func (a *analysis) collect(node ast.Node, info *types.Info, fs *facts) {
	ast.Inspect(node, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			switch obj := info.Uses[n].(type) {
			case *types.Func:
				fn := obj.Origin()
				pos := a.fset.Position(n.Pos())
				if _, ok := fs.calls[fn]; !ok {
					fs.calls[fn] = pos
				}
				for _, op := range sdkOps(fn) {
					if _, ok := fs.ops[op]; !ok {
						fs.ops[op] = pos
					}
				}
			case *types.Var:
				if kind, ok := a.transactFields[obj]; ok {
					if _, ok := fs.transact[kind]; !ok {
						fs.transact[kind] = a.fset.Position(n.Pos())
					}
				}
				if a.indexFields[obj] {
					fs.index = append(fs.index, a.fset.Position(n.Pos()))
				}
			}
		case *ast.CallExpr:
			a.call(n, info, fs)
		case *ast.CompositeLit:
			a.compositeLit(n, info, fs)
		}
		return true
	})
}

func (a *analysis) call(call *ast.CallExpr, info *types.Info, fs *facts) {
	fun := ast.Unparen(call.Fun)
	if tv, ok := info.Types[fun]; ok && tv.IsType() {
		return // a conversion
	}
	var obj types.Object
	switch f := fun.(type) {
	case *ast.Ident:
		obj = info.Uses[f]
	case *ast.SelectorExpr:
		obj = info.Uses[f.Sel]
	}
	if name, ok := envRead(obj); ok && len(call.Args) == 1 {
		pos := a.fset.Position(call.Pos())
		tv := info.Types[call.Args[0]]
		if tv.Value != nil && tv.Value.Kind() == constant.String {
			v := constant.StringVal(tv.Value)
			if _, ok := fs.env[v]; !ok {
				fs.env[v] = pos
			}
		} else if name == "os" {
			fs.dynamicEnv = append(fs.dynamicEnv, pos)
		}
	}
	ft := info.Types[fun].Type
	if ft == nil {
		return
	}
	sig, _ := ft.Underlying().(*types.Signature)
	if sig == nil {
		return
	}
	callee, _ := obj.(*types.Func)
	if callee != nil && a.isOurs(callee.Pkg()) {
		return // our own functions are followed, not their arguments
	}
	params := sig.Params()
	for i, arg := range call.Args {
		var pt types.Type
		switch {
		case sig.Variadic() && i >= params.Len()-1:
			pt = params.At(params.Len() - 1).Type()
			if !call.Ellipsis.IsValid() {
				pt = pt.(*types.Slice).Elem()
			}
		case i < params.Len():
			pt = params.At(i).Type()
		default:
			continue
		}
		a.escape(info.Types[arg].Type, pt, fs)
	}
}

// envRead reports whether obj, being called, reads an environment variable;
// name is "os" for the os and syscall functions, "var" for function values.
func envRead(obj types.Object) (name string, ok bool) {
	switch o := obj.(type) {
	case *types.Func:
		if o.Pkg() == nil {
			return "", false
		}
		switch o.Pkg().Path() + "." + o.Name() {
		case "os.Getenv", "os.LookupEnv", "syscall.Getenv":
			return "os", true
		}
	case *types.Var:
		if !strings.Contains(strings.ToLower(o.Name()), "env") {
			return "", false
		}
		sig, _ := o.Type().Underlying().(*types.Signature)
		if sig == nil || sig.Params().Len() != 1 || !isString(sig.Params().At(0).Type()) {
			return "", false
		}
		r := sig.Results()
		if r.Len() >= 1 && r.Len() <= 2 && isString(r.At(0).Type()) && (r.Len() == 1 || isBool(r.At(1).Type())) {
			return "var", true
		}
	}
	return "", false
}

func isString(t types.Type) bool {
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Kind() == types.String
}

func isBool(t types.Type) bool {
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Kind() == types.Bool
}

// compositeLit treats our values placed in another module's struct as an
// interface-typed field (http.Server{Handler: h}) as escaping.
func (a *analysis) compositeLit(lit *ast.CompositeLit, info *types.Info, fs *facts) {
	tv, ok := info.Types[lit]
	if !ok {
		return
	}
	if n, ok := types.Unalias(tv.Type).(*types.Named); ok && a.isOurs(n.Obj().Pkg()) {
		return
	}
	if _, ok := tv.Type.Underlying().(*types.Struct); !ok {
		return
	}
	for _, e := range lit.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		key, _ := kv.Key.(*ast.Ident)
		if key == nil {
			continue
		}
		if f, ok := info.Uses[key].(*types.Var); ok {
			a.escape(info.Types[kv.Value].Type, f.Type(), fs)
		}
	}
}

// escape records that a value of type arg is passed where another module
// expects param: if param is an interface and arg one of our named types,
// that module may call any of its methods.
func (a *analysis) escape(arg, param types.Type, fs *facts) {
	if arg == nil || param == nil {
		return
	}
	if _, ok := param.Underlying().(*types.Interface); !ok {
		return
	}
	if n, ok := types.Unalias(param).(*types.Named); ok && a.isOurs(n.Obj().Pkg()) {
		return
	}
	if p, ok := arg.(*types.Pointer); ok {
		arg = p.Elem()
	}
	if n, ok := types.Unalias(arg).(*types.Named); ok && a.isOurs(n.Obj().Pkg()) {
		if _, isIface := n.Underlying().(*types.Interface); !isIface {
			fs.escapes[n.Origin()] = true
		}
	}
}

func (a *analysis) isOurs(p *types.Package) bool {
	if p == nil {
		return false
	}
	_, ok := a.ours[p.Path()]
	return ok
}

// sdkOps returns the SDK operations a reference to fn stands for: a method
// Op taking a *<service>.OpInput, or an SDK function (paginator, waiter)
// taking an interface that holds such methods.
func sdkOps(fn *types.Func) []Op {
	sig := fn.Type().(*types.Signature)
	if sig.Recv() != nil {
		if op, ok := methodOp(fn.Name(), sig); ok {
			return []Op{op}
		}
		return nil
	}
	if fn.Pkg() == nil || !strings.HasPrefix(fn.Pkg().Path(), sdkServicePrefix) {
		return nil
	}
	var ops []Op
	for i := range sig.Params().Len() {
		it, ok := sig.Params().At(i).Type().Underlying().(*types.Interface)
		if !ok {
			continue
		}
		for j := range it.NumMethods() {
			m := it.Method(j)
			if op, ok := methodOp(m.Name(), m.Type().(*types.Signature)); ok {
				ops = append(ops, op)
			}
		}
	}
	return ops
}

func methodOp(name string, sig *types.Signature) (Op, bool) {
	for i := range sig.Params().Len() {
		p, ok := sig.Params().At(i).Type().(*types.Pointer)
		if !ok {
			continue
		}
		n, ok := types.Unalias(p.Elem()).(*types.Named)
		if !ok || n.Obj().Pkg() == nil || n.Obj().Name() != name+"Input" {
			continue
		}
		if svc, ok := strings.CutPrefix(n.Obj().Pkg().Path(), sdkServicePrefix); ok && !strings.Contains(svc, "/") {
			return Op{Service: svc, Name: name}, true
		}
		if svc, ok := protocolClients[n.Obj().Pkg().Path()]; ok {
			return Op{Service: svc, Name: name}, true
		}
	}
	return Op{}, false
}

// indexMethods lists every concrete method of our packages' named types by
// name, the candidates a call through an interface may reach.
func (a *analysis) indexMethods() {
	a.methods = make(map[string][]*types.Func)
	for _, pkg := range a.ours {
		scope := pkg.Scope()
		for _, name := range scope.Names() {
			tn, ok := scope.Lookup(name).(*types.TypeName)
			if !ok || tn.IsAlias() {
				continue
			}
			if _, ok := tn.Type().Underlying().(*types.Interface); ok {
				continue
			}
			ms := types.NewMethodSet(types.NewPointer(tn.Type()))
			for i := range ms.Len() {
				fn := ms.At(i).Obj().(*types.Func)
				if a.isOurs(fn.Pkg()) {
					a.methods[fn.Name()] = append(a.methods[fn.Name()], fn)
				}
			}
		}
	}
}

// implementations returns our concrete methods that a call of the interface
// method m may reach.
func (a *analysis) implementations(m *types.Func) []*types.Func {
	sig := m.Type().(*types.Signature)
	iface, ok := sig.Recv().Type().Underlying().(*types.Interface)
	if !ok {
		return nil
	}
	var out []*types.Func
	for _, fn := range a.methods[m.Name()] {
		recv := fn.Type().(*types.Signature).Recv().Type()
		if p, ok := recv.(*types.Pointer); ok {
			recv = p.Elem()
		}
		n, ok := types.Unalias(recv).(*types.Named)
		if !ok {
			continue
		}
		if n.TypeParams().Len() > 0 || types.Implements(types.NewPointer(n), iface) {
			out = append(out, fn)
		}
	}
	return out
}

func (a *analysis) usage(p *listedPackage) (*Usage, error) {
	u := &Usage{
		Package:        p.ImportPath,
		Dir:            p.Dir,
		Env:            make(map[string]Site),
		Ops:            make(map[Op]Site),
		TransactWrites: make(map[string]Site),
	}
	mainFn, _ := a.ours[p.ImportPath].Scope().Lookup("main").(*types.Func)
	if p.Name != "main" || mainFn == nil {
		return nil, fmt.Errorf("templatecheck: %s is not a main package", p.ImportPath)
	}
	var queue []*facts
	for _, path := range append(slices.Clone(p.Deps), p.ImportPath) {
		if _, ok := a.ours[path]; !ok {
			continue
		}
		queue = append(queue, a.pkgInit[path])
	}
	seen := make(map[*types.Func]bool)
	parent := make(map[*types.Func]*facts)
	escaped := make(map[*types.Named]bool)
	visit := func(fn *types.Func, from *facts) {
		if seen[fn] {
			return
		}
		seen[fn] = true
		parent[fn] = from
		if fs, ok := a.facts[fn]; ok {
			queue = append(queue, fs)
		}
	}
	site := func(fs *facts, pos token.Position) Site {
		var via []string
		for f := fs; f != nil; {
			if f.owner == nil {
				via = append(via, a.short(f.pkg)+".init")
				break
			}
			via = append(via, a.short(f.owner.FullName()))
			f = parent[f.owner]
		}
		slices.Reverse(via)
		return Site{Pos: pos, Via: via}
	}
	visit(mainFn, nil)
	for len(queue) > 0 {
		fs := queue[0]
		queue = queue[1:]
		for op, pos := range fs.ops {
			if _, ok := u.Ops[op]; !ok {
				u.Ops[op] = site(fs, pos)
			}
		}
		for name, pos := range fs.env {
			if _, ok := u.Env[name]; !ok {
				u.Env[name] = site(fs, pos)
			}
		}
		for k, pos := range fs.transact {
			if _, ok := u.TransactWrites[k]; !ok {
				u.TransactWrites[k] = site(fs, pos)
			}
		}
		for _, pos := range fs.index {
			u.IndexReads = append(u.IndexReads, site(fs, pos))
		}
		for _, pos := range fs.dynamicEnv {
			u.DynamicEnv = append(u.DynamicEnv, site(fs, pos))
		}
		// Sorted, so that the recorded paths do not vary between runs.
		calls := make([]*types.Func, 0, len(fs.calls))
		for fn := range fs.calls {
			calls = append(calls, fn)
		}
		sort.Slice(calls, func(i, j int) bool { return fs.calls[calls[i]].Offset < fs.calls[calls[j]].Offset })
		for _, fn := range calls {
			visit(fn, fs)
			if sig := fn.Type().(*types.Signature); sig.Recv() != nil {
				if _, ok := sig.Recv().Type().Underlying().(*types.Interface); ok {
					for _, impl := range a.implementations(fn) {
						visit(impl, fs)
					}
				}
			}
		}
		escapes := make([]*types.Named, 0, len(fs.escapes))
		for n := range fs.escapes {
			escapes = append(escapes, n)
		}
		sort.Slice(escapes, func(i, j int) bool { return escapes[i].Obj().Pos() < escapes[j].Obj().Pos() })
		for _, n := range escapes {
			if escaped[n] {
				continue
			}
			escaped[n] = true
			ms := types.NewMethodSet(types.NewPointer(n))
			for i := range ms.Len() {
				visit(ms.At(i).Obj().(*types.Func).Origin(), fs)
			}
		}
	}
	return u, nil
}

// short drops the module path from a package path or qualified name.
func (a *analysis) short(name string) string {
	for path := range a.ours {
		if mod, _, ok := strings.Cut(path, "/pkg/"); ok {
			name = strings.ReplaceAll(name, mod+"/", "")
			break
		}
	}
	return name
}

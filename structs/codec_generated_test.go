package structs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// generatedTypes are the types codec.generated.go encodes (the go:generate
// line in msgpack.go).
var generatedTypes = []any{
	&Allocation{}, &TaskState{}, &TaskEvent{}, &AllocMetric{}, &NodeScoreMeta{},
	&AllocatedResources{}, &AllocatedSharedResources{}, &Resources{},
	&AllocDeploymentStatus{}, &DesiredTransition{}, &RescheduleTracker{}, &RescheduleEvent{},
	&AllocUpdateRequest{}, &AllocsGetResponse{}, &AllocsGetRequest{},
	&Plan{}, &PlanResult{}, &Evaluation{},
	&NodeUpdateStatusRequest{}, &NodeUpdateResponse{}, &NodeSpecificRequest{}, &NodeClientAllocsResponse{},
}

// TestGeneratedTypesAreTheGeneratedOnes keeps generatedTypes in step with
// codec.generated.go, so that the test below checks every generated type.
func TestGeneratedTypesAreTheGeneratedOnes(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "codec.generated.go", nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var generated []string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "CodecEncodeSelf" || fn.Recv == nil {
			continue
		}
		if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); ok {
			generated = append(generated, star.X.(*ast.Ident).Name)
		}
	}
	var listed []string
	for _, v := range generatedTypes {
		listed = append(listed, reflect.TypeOf(v).Elem().Name())
	}
	slices.Sort(generated)
	slices.Sort(listed)
	if !slices.Equal(generated, listed) {
		t.Fatalf("codec.generated.go encodes %v; generatedTypes lists %v", generated, listed)
	}
}

// TestNoGeneratedTypeIsEmbedded: a struct that embeds a generated type gets
// its CodecEncodeSelf and CodecDecodeSelf, and would encode as that type
// alone (QueryMeta, embedded in most responses, is not generated for this
// reason). Every Go file of the module is checked.
func TestNoGeneratedTypeIsEmbedded(t *testing.T) {
	generated := map[string]bool{}
	for _, v := range generatedTypes {
		generated[reflect.TypeOf(v).Elem().Name()] = true
	}
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != ".." && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir // .git and the like
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			st, ok := n.(*ast.StructType)
			if !ok {
				return true
			}
			for _, field := range st.Fields.List {
				if len(field.Names) > 0 {
					continue
				}
				typ := field.Type
				if star, ok := typ.(*ast.StarExpr); ok {
					typ = star.X
				}
				name := ""
				switch e := typ.(type) {
				case *ast.Ident:
					if f.Name.Name == "structs" {
						name = e.Name
					}
				case *ast.SelectorExpr:
					if pkg, ok := e.X.(*ast.Ident); ok && pkg.Name == "structs" {
						name = e.Sel.Name
					}
				}
				if generated[name] {
					t.Errorf("%s embeds %s, whose generated codec it would take over", fset.Position(field.Pos()), name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestGeneratedCodecMatchesReflection: every generated type encodes the
// fields and values the handle's reflection writes (the wire, the Raft log
// and snapshots are unchanged by the generated code but for the fields'
// order, and servers of either kind read each other), and decodes them to the
// same value. A field
// added to a type without regenerating fails here (the generated encoder
// does not know it).
func TestGeneratedCodecMatchesReflection(t *testing.T) {
	for _, v := range generatedTypes {
		typ := reflect.TypeOf(v).Elem()
		plain := plainType(typ)
		t.Run(typ.Name(), func(t *testing.T) {
			cases := map[string]reflect.Value{"zero": reflect.New(typ)}
			full := reflect.New(typ)
			fillValue(full.Elem(), 0)
			cases["every field"] = full
			for i := range typ.NumField() {
				if f := typ.Field(i); f.IsExported() {
					one := reflect.New(typ)
					fillValue(one.Elem().Field(i), 0)
					cases["only "+f.Name] = one
				}
			}
			for name, val := range cases {
				gen := mustEncode(t, Encode, val.Interface())
				refl := mustEncode(t, Encode, withoutMethods(val, plain).Interface())
				// Generated code writes fields in declaration order, reflection
				// by name; a decoder reads them by name, so compare the maps.
				var genFields, reflFields any
				mustDecode(t, gen, &genFields)
				mustDecode(t, refl, &reflFields)
				if len(gen) != len(refl) || !reflect.DeepEqual(genFields, reflFields) {
					t.Fatalf("%s, %s: the generated encoding differs from reflection's in %v (stale codec.generated.go? run go generate ./structs)\n generated:  %v\n reflection: %v",
						typ.Name(), name, differingKeys(genFields, reflFields), genFields, reflFields)
				}
				decGen := reflect.New(typ)
				mustDecode(t, gen, decGen.Interface())
				decRefl := reflect.New(plain)
				mustDecode(t, gen, decRefl.Interface())
				if back := withoutMethods(decGen, plain); !reflect.DeepEqual(back.Interface(), decRefl.Interface()) {
					t.Fatalf("%s, %s: decoded differently\n generated:  %+v\n reflection: %+v", typ.Name(), name, back.Elem(), decRefl.Elem())
				}
			}
		})
	}
}

// TestCanonicalJobsHoldNoGeneratedMap: generated code writes maps in Go's
// random order even with a canonical handle, and EncodeCanonical compares
// jobs by their bytes. So no generated type a job holds may have a map.
func TestCanonicalJobsHoldNoGeneratedMap(t *testing.T) {
	generated := map[reflect.Type]bool{}
	for _, v := range generatedTypes {
		generated[reflect.TypeOf(v).Elem()] = true
	}
	type visit struct {
		typ         reflect.Type
		inGenerated bool
	}
	seen := map[visit]bool{}
	var walk func(typ reflect.Type, inGenerated bool, path string)
	walk = func(typ reflect.Type, inGenerated bool, path string) {
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			walk(typ.Elem(), inGenerated, path)
		case reflect.Map:
			if inGenerated {
				t.Errorf("%s is a map inside a generated type: EncodeCanonical of a job would not sort it", path)
			}
			walk(typ.Elem(), inGenerated, path)
		case reflect.Struct:
			inGenerated = inGenerated || generated[typ]
			if seen[visit{typ, inGenerated}] {
				return
			}
			seen[visit{typ, inGenerated}] = true
			for i := range typ.NumField() {
				if f := typ.Field(i); f.IsExported() {
					walk(f.Type, inGenerated, typ.Name()+"."+f.Name)
				}
			}
		}
	}
	walk(reflect.TypeOf(Job{}), false, "Job")
}

// plainType is typ's exported fields, with their tags, in a struct type of
// no methods: the handle encodes it by reflection. Fields of generated types
// inside it still use their generated code, but each is checked on its own.
func plainType(typ reflect.Type) reflect.Type {
	var fields []reflect.StructField
	for i := range typ.NumField() {
		if f := typ.Field(i); f.IsExported() {
			f.Index, f.Offset = nil, 0
			fields = append(fields, f)
		}
	}
	return reflect.StructOf(fields)
}

// withoutMethods copies the exported fields of *ptr into a new value of
// plain (plainType of its type) and returns a pointer to it.
func withoutMethods(ptr reflect.Value, plain reflect.Type) reflect.Value {
	src := ptr.Elem()
	out := reflect.New(plain)
	for i, j := 0, 0; i < src.NumField(); i++ {
		if src.Type().Field(i).IsExported() {
			out.Elem().Field(j).Set(src.Field(i))
			j++
		}
	}
	return out
}

// fillValue sets v, and everything it holds, to non-zero values: slices of
// two elements, maps of one entry, pointers to filled values. depth bounds
// recursive types.
func fillValue(v reflect.Value, depth int) {
	if depth > 8 || v.Type() == reflect.TypeOf(codec.Raw(nil)) {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(strings.Repeat("x", depth+1))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(7 + depth))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(7 + depth))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5 + float64(depth))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillValue(v.Elem(), depth+1)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fillValue(v.Index(i), depth+1)
		}
	case reflect.Array:
		for i := range v.Len() {
			fillValue(v.Index(i), depth+1)
		}
	case reflect.Map:
		key, elem := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fillValue(key, depth+1)
		fillValue(elem, depth+1)
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(key, elem)
	case reflect.Interface:
		if v.NumMethod() == 0 {
			v.Set(reflect.ValueOf("any"))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillValue(v.Field(i), depth+1)
			}
		}
	}
}

// differingKeys names the top-level fields whose values differ between two
// decoded structs.
func differingKeys(a, b any) []string {
	am, _ := a.(map[string]any)
	bm, _ := b.(map[string]any)
	var keys []string
	for k := range am {
		if !reflect.DeepEqual(am[k], bm[k]) {
			keys = append(keys, k)
		}
	}
	for k := range bm {
		if _, ok := am[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

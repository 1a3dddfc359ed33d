package jobspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Jobs in JSON (the HTTP API's bodies, `orch job run -json`) are decoded by
// DecodeJSON: strictly, so that a misspelt field ("Resoruces") is an error
// naming its path instead of a setting silently dropped, and with every error
// placed by line, column and path.

// JSONError is a JSON document that does not decode into the value asked for.
type JSONError struct {
	Kind   JSONErrorKind
	Line   int // 1-based position of the offending value, key or byte
	Column int
	// Path is where the problem is, as Job.TaskGroups[0].Count; "" for
	// syntax errors and the document itself.
	Path string
	// Value is the offending value as written (shortened), for KindType.
	Value string
	// Rule says what is wrong: "unknown field", "must be an integer, not a
	// string", or encoding/json's description of a syntax error.
	Rule string
}

// JSONErrorKind classifies a JSONError.
type JSONErrorKind int

const (
	JSONSyntax       JSONErrorKind = iota // not JSON, or cut short
	JSONType                              // a value of the wrong type
	JSONUnknownField                      // a field the type does not have
	JSONTrailingData                      // more after the top-level value
)

// Detail is the error without its position: `Job.TaskGroups[1].Count =
// "three": must be an integer, not a string`, `Job.Resoruces: unknown field`.
func (e *JSONError) Detail() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		if e.Value != "" {
			b.WriteString(" = " + e.Value)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Rule)
	return b.String()
}

func (e *JSONError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Detail())
}

// DecodeJSON decodes raw, which must hold exactly one JSON value, into v (a
// pointer) strictly: an object key that matches no field of the struct it
// decodes into is an error, as encoding/json's DisallowUnknownFields makes
// it, but reported with its path. Maps and `any` (a task's Config) take any
// key. Every error is a *JSONError.
func DecodeJSON(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describeJSONError(raw, reflect.TypeOf(v), err)
	}
	if dec.More() {
		line, col := lineCol(raw, dec.InputOffset())
		return &JSONError{Kind: JSONTrailingData, Line: line, Column: col, Rule: "unexpected data after the top-level value"}
	}
	return nil
}

// describeJSONError turns encoding/json's error about raw (decoded into a
// value of type t) into a *JSONError.
func describeJSONError(raw []byte, t reflect.Type, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		// Offset is just past the offending byte.
		line, col := lineCol(raw, syn.Offset-1)
		return &JSONError{Kind: JSONSyntax, Line: line, Column: col, Rule: syn.Error()}
	case errors.As(err, &typ):
		start, literal := valueBefore(raw, typ.Offset, typ.Value)
		line, col := lineCol(raw, start)
		path := jsonPathAt(raw, typ.Offset)
		if path == "" {
			path = typ.Field
		}
		if path == "" {
			return &JSONError{Kind: JSONType, Line: line, Column: col,
				Rule: fmt.Sprintf("the document must be %s, not %s", describeType(typ.Type), describeValue(typ.Value))}
		}
		return &JSONError{Kind: JSONType, Line: line, Column: col, Path: path, Value: literal,
			Rule: fmt.Sprintf("must be %s, not %s", describeType(typ.Type), describeValue(typ.Value))}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		line, col := lineCol(raw, int64(len(raw)))
		return &JSONError{Kind: JSONSyntax, Line: line, Column: col, Rule: "unexpected end of input"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json names the field but not where it is: find it.
		if path, off, ok := findUnknownField(raw, t); ok {
			line, col := lineCol(raw, off)
			return &JSONError{Kind: JSONUnknownField, Line: line, Column: col, Path: path, Rule: "unknown field"}
		}
		return &JSONError{Kind: JSONUnknownField, Line: 1, Column: 1,
			Rule: strings.TrimPrefix(err.Error(), "json: ")}
	}
	return &JSONError{Kind: JSONSyntax, Line: 1, Column: 1, Rule: strings.TrimPrefix(err.Error(), "json: ")}
}

// findUnknownField walks raw (valid JSON) along the type t it decodes into
// and returns the path and offset of the first object key that matches no
// field of its struct, as encoding/json matches them (the field's name or its
// json tag, case-insensitively).
func findUnknownField(raw []byte, t reflect.Type) (path string, offset int64, ok bool) {
	w := &fieldWalker{raw: raw, dec: json.NewDecoder(bytes.NewReader(raw))}
	if err := w.value(t, ""); err != nil || !w.found {
		return "", 0, false
	}
	return w.path, w.offset, true
}

// fieldWalker is the state of findUnknownField.
type fieldWalker struct {
	raw    []byte
	dec    *json.Decoder
	found  bool
	path   string
	offset int64
}

// value reads one value of type t at path; it stops at the first unknown key.
func (w *fieldWalker) value(t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	delim, isDelim := tok.(json.Delim)
	if !isDelim {
		return nil
	}
	switch {
	case delim == '{' && t != nil && t.Kind() == reflect.Struct:
		for w.dec.More() {
			keyStart := w.dec.InputOffset()
			keyTok, err := w.dec.Token()
			if err != nil {
				return err
			}
			key, _ := keyTok.(string)
			ft, known := fieldType(t, key)
			if !known {
				// The offset before the key token may be before the
				// comma and blanks that precede the key.
				for keyStart < int64(len(w.raw)) && strings.IndexByte(", \t\r\n", w.raw[keyStart]) >= 0 {
					keyStart++
				}
				w.found, w.path, w.offset = true, joinPath(path, key), keyStart
				return nil
			}
			if err := w.value(ft, joinPath(path, key)); err != nil || w.found {
				return err
			}
		}
	case delim == '{' && t != nil && t.Kind() == reflect.Map:
		for w.dec.More() {
			keyTok, err := w.dec.Token()
			if err != nil {
				return err
			}
			key, _ := keyTok.(string)
			if err := w.value(t.Elem(), fmt.Sprintf("%s[%q]", path, key)); err != nil || w.found {
				return err
			}
		}
	case delim == '[' && t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		for i := 0; w.dec.More(); i++ {
			if err := w.value(t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil || w.found {
				return err
			}
		}
	default:
		// An object or list decoded into `any` (or a type mismatch, which
		// Decode reports first): skip it whole, without recursion.
		return skipRest(w.dec)
	}
	_, err = w.dec.Token() // the closing delimiter
	return err
}

// skipRest consumes the rest of an object or list whose opening delimiter
// was just read.
func skipRest(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// fieldType returns the type of the field of struct t that encoding/json
// decodes key into, following embedded structs.
func fieldType(t reflect.Type, key string) (reflect.Type, bool) {
	var folded reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Name
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		if n, _, _ := strings.Cut(tag, ","); n != "" {
			name = n
		}
		if f.Anonymous && f.Tag.Get("json") == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				if ft, ok := fieldType(et, key); ok {
					return ft, true
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == key {
			return f.Type, true
		}
		if folded == nil && strings.EqualFold(name, key) {
			folded = f.Type
		}
	}
	return folded, folded != nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// lineCol converts a byte offset of raw into a 1-based line and column.
func lineCol(raw []byte, offset int64) (line, col int) {
	offset = max(0, min(offset, int64(len(raw))))
	line, col = 1, 1
	for _, c := range raw[:offset] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// valueBefore finds the JSON value that ends at offset (where encoding/json
// reports a type error) and returns its start and its text, shortened. For
// objects and arrays encoding/json reports the offset after the opening
// bracket, so only the bracket is shown.
func valueBefore(raw []byte, offset int64, kind string) (int64, string) {
	offset = max(0, min(offset, int64(len(raw))))
	if kind == "object" || kind == "array" {
		start := max(0, offset-1)
		if kind == "object" {
			return start, "{...}"
		}
		return start, "[...]"
	}
	end := offset
	start := end
	if end > 0 && raw[end-1] == '"' {
		// A string: walk back to the unescaped opening quote.
		for start = end - 2; start > 0; start-- {
			if raw[start] == '"' && !escaped(raw, start) {
				break
			}
		}
	} else {
		for start > 0 && !strings.ContainsRune(":,[ \t\r\n", rune(raw[start-1])) {
			start--
		}
	}
	start = max(0, start)
	text := string(raw[start:end])
	if len(text) > 40 {
		text = text[:37] + "..."
	}
	return start, text
}

// escaped reports whether the byte at i is preceded by an odd number of backslashes.
func escaped(raw []byte, i int64) bool {
	n := 0
	for j := i - 1; j >= 0 && raw[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// jsonPathAt returns the path, such as Job.TaskGroups[0].Count, of the value
// that ends at offset (or, for an object or array, starts just before it),
// or "" when raw cannot be walked that far.
func jsonPathAt(raw []byte, offset int64) string {
	type frame struct {
		array     bool
		key       string
		index     int
		expectKey bool
	}
	var stack []*frame
	render := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.array {
				fmt.Fprintf(&b, "[%d]", f.index)
			} else {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			}
		}
		return b.String()
	}
	// valueDone advances the innermost frame past one value.
	valueDone := func() {
		if n := len(stack); n > 0 {
			if f := stack[n-1]; f.array {
				f.index++
			} else {
				f.expectKey = true
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if n := len(stack); n > 0 && !stack[n-1].array && stack[n-1].expectKey {
			if key, ok := tok.(string); ok {
				stack[n-1].key, stack[n-1].expectKey = key, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if dec.InputOffset() >= offset {
				return render()
			}
			stack = append(stack, &frame{array: tok == json.Delim('['), expectKey: tok == json.Delim('{')})
		case json.Delim('}'), json.Delim(']'):
			if len(stack) == 0 {
				return ""
			}
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			if dec.InputOffset() >= offset {
				return render()
			}
			valueDone()
		}
	}
}

// describeType names a Go type the way a JSON author thinks of it.
func describeType(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if t.String() == "time.Duration" {
			return "a duration in nanoseconds (an integer)"
		}
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// describeValue names the kind of JSON value encoding/json found.
func describeValue(v string) string {
	kind, _, _ := strings.Cut(v, " ")
	switch kind {
	case "number":
		if strings.Contains(v, ".") || strings.ContainsAny(v, "eE") {
			return "a fractional number"
		}
		if strings.HasPrefix(strings.TrimPrefix(v, "number "), "-") {
			return "a negative number"
		}
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "array":
		return "a list"
	case "object":
		return "an object"
	}
	return v
}

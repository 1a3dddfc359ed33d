package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/orch-io/orch/structs"
)

// maxJobBody bounds the body of a job registration.
const maxJobBody = 8 << 20

// jobRegisterBody is the body of PUT /v1/jobs and PUT /v1/job/:id, and of
// PUT /v1/job/:id/plan, as in Nomad.
type jobRegisterBody struct {
	Job            *structs.Job
	EnforceIndex   bool
	JobModifyIndex uint64
	Diff           bool // plan only: also return the diff against the stored job
}

// jobRegister is PUT/POST /v1/jobs and PUT/POST /v1/job/:id → Job.Register.
func (s *HTTPServer) jobRegister(r *http.Request) (any, error) {
	body, err := decodeJobBody(r.Body)
	if err != nil {
		return nil, err
	}
	job := body.Job
	if pathID := r.PathValue("id"); pathID != "" && pathID != job.ID {
		return nil, badRequest("job ID %q in the body does not match %q in the path", job.ID, pathID)
	}
	// The server canonicalizes and validates the job; its "invalid job: ..."
	// errors come back here as 400s.
	req := &structs.JobRegisterRequest{
		Job:            job,
		EnforceIndex:   body.EnforceIndex,
		JobModifyIndex: body.JobModifyIndex,
		WriteRequest:   writeRequest(r),
	}
	var reply structs.JobRegisterResponse
	if err := s.backend.RPC(r.Context(), "Job.Register", req, &reply); err != nil {
		return nil, err
	}
	s.logger.Debug("job registered", "job_id", job.ID, "eval_id", reply.EvalID)
	return withMeta{body: &reply, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

// jobPlan is PUT/POST /v1/job/:id/plan → Job.Plan: a dry run of the
// registration, with body {"Job": {...}, "Diff": true}.
func (s *HTTPServer) jobPlan(r *http.Request) (any, error) {
	id, err := pathID(r, "job")
	if err != nil {
		return nil, err
	}
	body, err := decodeJobBody(r.Body)
	if err != nil {
		return nil, err
	}
	if body.Job.ID != id {
		return nil, badRequest("job ID %q in the body does not match %q in the path", body.Job.ID, id)
	}
	req := &structs.JobPlanRequest{Job: body.Job, Diff: body.Diff, WriteRequest: writeRequest(r)}
	var reply structs.JobPlanResponse
	if err := s.backend.RPC(r.Context(), "Job.Plan", req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: &reply, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

// jobDeregister is DELETE /v1/job/:id[?purge=true] → Job.Deregister.
func (s *HTTPServer) jobDeregister(r *http.Request) (any, error) {
	id, err := pathID(r, "job")
	if err != nil {
		return nil, err
	}
	purge := false
	if v := r.URL.Query().Get("purge"); v != "" {
		switch v {
		case "true", "1":
			purge = true
		case "false", "0":
		default:
			return nil, badRequest("invalid purge %q: must be true or false", v)
		}
	}
	req := &structs.JobDeregisterRequest{JobID: id, Purge: purge, WriteRequest: writeRequest(r)}
	var reply structs.JobDeregisterResponse
	if err := s.backend.RPC(r.Context(), "Job.Deregister", req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: &reply, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

// jobList is GET /v1/jobs[?prefix=] → Job.List.
func (s *HTTPServer) jobList(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	var reply structs.JobListResponse
	if err := s.backend.RPC(r.Context(), "Job.List", &structs.JobListRequest{QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: nonNil(reply.Jobs), meta: reply.QueryMeta}, nil
}

// jobGet is GET /v1/job/:id → Job.GetJob.
func (s *HTTPServer) jobGet(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "job")
	if err != nil {
		return nil, err
	}
	var reply structs.SingleJobResponse
	if err := s.backend.RPC(r.Context(), "Job.GetJob", &structs.JobSpecificRequest{JobID: id, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	if reply.Job == nil {
		return nil, notFound("job %q not found", id)
	}
	return withMeta{body: reply.Job, meta: reply.QueryMeta}, nil
}

// jobAllocations is GET /v1/job/:id/allocations → Job.Allocations.
func (s *HTTPServer) jobAllocations(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "job")
	if err != nil {
		return nil, err
	}
	var reply structs.JobAllocationsResponse
	if err := s.backend.RPC(r.Context(), "Job.Allocations", &structs.JobSpecificRequest{JobID: id, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: nonNil(reply.Allocations), meta: reply.QueryMeta}, nil
}

// jobEvaluations is GET /v1/job/:id/evaluations → Job.Evaluations.
func (s *HTTPServer) jobEvaluations(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "job")
	if err != nil {
		return nil, err
	}
	var reply structs.JobEvaluationsResponse
	if err := s.backend.RPC(r.Context(), "Job.Evaluations", &structs.JobSpecificRequest{JobID: id, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: nonNil(reply.Evaluations), meta: reply.QueryMeta}, nil
}

// writeRequest reads the write parameters (?region=, ?namespace=) and the
// request ID (see requestID).
func writeRequest(r *http.Request) structs.WriteRequest {
	q := r.URL.Query()
	return structs.WriteRequest{Region: q.Get("region"), Namespace: q.Get("namespace"), RequestID: requestID(r)}
}

// idAndQuery reads the {id} path value and the query options of a read.
func idAndQuery(r *http.Request, what string) (string, structs.QueryOptions, error) {
	id, err := pathID(r, what)
	if err != nil {
		return "", structs.QueryOptions{}, err
	}
	q, err := parseQueryOptions(r)
	return id, q, err
}

// nonNil makes a nil list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// decodeJobBody reads a registration body. Every error is a 400 (413 when too
// large) whose message says where the body is wrong.
func decodeJobBody(r io.Reader) (*jobRegisterBody, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxJobBody+1))
	if err != nil {
		return nil, badRequest("reading the request body: %v", err)
	}
	if len(raw) > maxJobBody {
		return nil, &httpError{code: http.StatusRequestEntityTooLarge,
			msg: fmt.Sprintf("request body larger than %d bytes", maxJobBody)}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, badRequest(`empty request body: expected {"Job": {...}}`)
	}
	var body jobRegisterBody
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&body); err != nil {
		return nil, badRequest("%s", describeJSONError(raw, err))
	}
	if dec.More() {
		line, col := lineCol(raw, dec.InputOffset())
		return nil, badRequest("invalid JSON body at line %d, column %d: unexpected data after the top-level object", line, col)
	}
	if body.Job == nil {
		return nil, badRequest(`invalid request body: missing "Job": expected {"Job": {...}}`)
	}
	defaultAbsentCounts(raw, body.Job)
	return &body, nil
}

// describeJSONError explains a decoding error of raw: where (line, column and
// field path) and what (the value found, the type expected).
func describeJSONError(raw []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		// Offset is just past the offending byte.
		line, col := lineCol(raw, syn.Offset-1)
		return fmt.Sprintf("invalid JSON body at line %d, column %d: %s", line, col, syn.Error())
	case errors.As(err, &typ):
		start, literal := valueBefore(raw, typ.Offset, typ.Value)
		line, col := lineCol(raw, start)
		path := jsonPathAt(raw, typ.Offset)
		if path == "" {
			path = typ.Field
		}
		return fmt.Sprintf("invalid job: %s = %s at line %d, column %d: must be %s, not %s",
			path, literal, line, col, describeType(typ.Type), describeValue(typ.Value))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "invalid JSON body: unexpected end of input"
	}
	return "invalid JSON body: " + err.Error()
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

// defaultAbsentCounts gives Count = 1 to every group whose JSON has no Count,
// as Nomad's API does: after decoding, an absent Count and an explicit 0 are
// both 0, and only the raw body can tell them apart. raw has been decoded once
// already, so it is valid JSON of the same shape.
func defaultAbsentCounts(raw []byte, job *structs.Job) {
	var counts struct {
		Job struct {
			TaskGroups []struct{ Count *int }
		}
	}
	if json.Unmarshal(raw, &counts) != nil {
		return
	}
	for i, tg := range counts.Job.TaskGroups {
		if tg.Count == nil && i < len(job.TaskGroups) && job.TaskGroups[i] != nil {
			job.TaskGroups[i].Count = 1
		}
	}
}

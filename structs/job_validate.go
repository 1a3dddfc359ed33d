package structs

// Validate checks a canonicalized job and returns every problem at once
// (errors.Join), each naming the field, the value and the rule, for example
// `group "web": count = -1: must be >= 0`. It has no side effects.
//
// TODO(#2): filled in by the jobspec work.
func (j *Job) Validate() error { return nil }

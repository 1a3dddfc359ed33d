package structs

import "encoding/json"

// The job diff of services and templates (diff.go): each is an object of a
// set, "Service" or "Template", flattened field by field from its API JSON.

func serviceFields(s *Service) map[string]string { return jsonFields(s) }

func templateFields(t *Template) map[string]string { return jsonFields(t) }

// jsonFields flattens v through its JSON form: nested objects and lists
// become "Name[key]" and "Name[i]" fields, as flattenValue names them.
func jsonFields(v any) map[string]string {
	f := map[string]string{}
	buf, err := json.Marshal(v)
	if err != nil {
		return f // the types here always marshal
	}
	var m map[string]any
	if json.Unmarshal(buf, &m) != nil {
		return f
	}
	for k, e := range m {
		flattenValue(f, k, e)
	}
	return f
}

func groupServices(tg *TaskGroup) []*Service {
	if tg == nil {
		return nil
	}
	return tg.Services
}

func taskServices(t *Task) []*Service {
	if t == nil {
		return nil
	}
	return t.Services
}

func taskTemplates(t *Task) []*Template {
	if t == nil {
		return nil
	}
	return t.Templates
}

// Package template renders a task's `template` blocks: Go text/template
// with Nomad's functions for the built-in registry (nomadService,
// nomadServices), the task's environment (env), files and a few basics.
//
// A Manager renders every template of one task before it starts (env =
// true templates feed its environment) and then watches what the templates
// read: one blocking query per service read, on the servers. When one
// changes it renders again and, for each file whose content changed, writes
// it and applies the template's change_mode (restart, signal or noop) after
// a random splay, through the callbacks its owner (the task runner) gives.
package template

// Package structstest builds small, valid domain objects (a job, a node, an
// allocation, an evaluation) for tests: the HTTP, api and CLI tests, the
// formatting tests of the CLI and the end-to-end tests. It imports only
// structs; production code never imports it.
package structstest

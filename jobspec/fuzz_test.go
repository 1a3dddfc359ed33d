package jobspec

import (
	"os"
	"strings"
	"testing"

	"github.com/orch-io/orch/structs"
)

// FuzzJobFile parses arbitrary job files (`make fuzz` runs it): Parse must
// never panic, and a job it accepts must be valid, copyable, and survive the
// msgpack round trip every job makes to the clients.
func FuzzJobFile(f *testing.F) {
	for _, path := range []string{"../examples/hello.hcl", "../examples/web.hcl"} {
		if src, err := os.ReadFile(path); err == nil {
			f.Add(src)
		}
	}
	task := func(body string) []byte {
		return []byte(`job "j" {
  group "g" {
    task "t" {
      driver = "raw_exec"
` + body + `
    }
  }
}`)
	}
	for _, n := range []string{"9223372036854775807", "-1", "1e308", "-9223372036854775808", "0", "1.5"} {
		f.Add(task("resources {\n cpu = " + n + "\n memory = " + n + "\n}"))
		f.Add([]byte(`job "j" {
  priority = ` + n + `
  group "g" {
    count = ` + n + `
    ephemeral_disk { size = ` + n + ` }
    restart { attempts = ` + n + ` }
    network { port "p" { static = ` + n + ` } }
    task "t" { driver = "raw_exec" }
  }
}`))
	}
	f.Add(task("config {\n args = [null, null]\n m = { a = null }\n}"))
	f.Add(task("config {\n x = " + strings.Repeat("{ a = ", 40) + "1" + strings.Repeat(" }", 40) + "\n}"))
	f.Add(task("config {\n x = " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n}"))
	f.Add(task(`env = { "a=b" = "x", "" = "y" }` + "\nmeta = { k = \"\\u0000\" }"))
	f.Add([]byte(`job ".." { group "../x" { task "a/b" { driver = "raw_exec" } } }`))
	f.Add([]byte("job \"j\" {\n constraint {\n attribute = null\n }\n affinity {}\n spread {}\n}"))
	f.Add([]byte(`variable "n" { default = 3 }` + "\n" + `job "j" { group "g" { count = var.n task "t" { driver = "x" } } }`))

	f.Fuzz(func(t *testing.T, src []byte) {
		job, err := Parse("fuzz.hcl", src, Options{})
		if err != nil {
			return
		}
		if err := job.Validate(); err != nil {
			t.Fatalf("Parse accepted a job that Validate rejects: %v", err)
		}
		checkRoundTrip(t, job)
	})
}

// checkRoundTrip fails unless a copy of job encodes and decodes with msgpack,
// as the servers and clients do.
func checkRoundTrip(t *testing.T, job *structs.Job) {
	t.Helper()
	buf, err := structs.Encode(job.Copy())
	if err != nil {
		t.Fatalf("a valid job does not encode: %v", err)
	}
	var back structs.Job
	if err := structs.Decode(buf, &back); err != nil {
		t.Fatalf("a valid job does not decode: %v", err)
	}
}

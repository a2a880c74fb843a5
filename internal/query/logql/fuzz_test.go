package logql

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

func FuzzParseExpr(f *testing.F) {
	for _, q := range roundTripQueries {
		f.Add(q)
	}
	for _, q := range []string{`{`, `{a="b"} |`, `sum(`, `{a="b"} | json a="x[`, "{a=`b", `1 + `, `{a="b"} | x > 1KB`, `--strict`, `{a="b"} | logfmt --`} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		e, err := ParseExpr(q)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("%q: error %T is not a *ParseError", q, err)
			}
			return
		}
		s := e.String()
		e2, err := ParseExpr(s)
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", q, s, err)
		}
		if s2 := e2.String(); s2 != s {
			t.Fatalf("%q: printed form not stable:\n%s\n%s", q, s, s2)
		}
	})
}

// fuzzPipelines are the stages FuzzPipeline runs every line through.
var fuzzPipelines = []string{
	`{a="b"} | json`,
	`{a="b"} | json x="a.b[0]", y="c", z="[\"k\"][1]"`,
	`{a="b"} | logfmt`,
	`{a="b"} | logfmt --strict --keep-empty`,
	`{a="b"} | logfmt x, y="z"`,
	`{a="b"} | regexp "(?P<first>\\w+)\\s+(?P<rest>.*)"`,
	`{a="b"} | pattern "<ip> - <_> [<ts>] \"<method> <path>"`,
	`{a="b"} | unpack`,
	`{a="b"} | decolorize | line_format "{{ __line__ | ToUpper }} {{ .x | default \"d\" | trunc 3 }}"`,
	`{a="b"} | json | label_format z="{{ regexReplaceAll \"(a+)\" .x \"$1\" }}", w=x | drop y`,
	`{a="b"} | logfmt | status > 400 or took < 1s or size >= 1KB | keep status`,
	`{a="b"} |= ip("10.0.0.0/8") |> "<_> <_>"`,
}

func FuzzPipeline(f *testing.F) {
	for _, l := range []string{
		`{"a":{"b":[1,2]},"c":"x\u00e9\"","_entry":"e"}`, `level=info msg="a b" x=`, `"`, `{`, `{"a":`,
		"10.0.0.1 - - [ts] \"GET /", "\x1b[31mred\x1b[0m", `{"x":1e400}`, `x="\q"`, "",
	} {
		f.Add(l)
	}
	var pls []*pipeline
	for _, q := range fuzzPipelines {
		e, err := ParseExpr(q)
		if err != nil {
			f.Fatal(err)
		}
		pl, err := compilePipeline(e.(*LogExpr).Stages)
		if err != nil {
			f.Fatal(err)
		}
		pls = append(pls, pl)
	}
	stream := labels.FromStrings("a", "b", "x", "stream")
	f.Fuzz(func(t *testing.T, line string) {
		e := &Entry{Time: 1, Line: line, Stream: stream, Metadata: labels.FromStrings("y", line)}
		for _, pl := range pls {
			var ps procState
			pl.process(e, &ps, true)
			for _, l := range pl.st.ls {
				if l.name == "" {
					t.Fatalf("empty label name from %q", line)
				}
			}
		}
	})
}

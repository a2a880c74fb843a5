package logql

import (
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// Loki's special labels.
const (
	errorLabel        = "__error__"
	errorDetailsLabel = "__error_details__"
	extractedSuffix   = "_extracted"
)

// The __error__ values the pipeline sets, as Loki names them.
const (
	errJSON             = "JSONParserErr"
	errLogfmt           = "LogfmtParserErr"
	errLabelFilter      = "LabelFilterErr"
	errTemplateFormat   = "TemplateFormatErr"
	errSampleExtraction = "SampleExtractionErr"
)

// category says where a label came from, for the categorize-labels
// response encoding.
type category uint8

const (
	catStream category = iota
	catMetadata
	catParsed
)

type label struct {
	name, value string
	cat         category
	gen         uint64 // the parser invocation that set it (setParsed)
}

// labelState is the label set of the entry the pipeline is processing,
// kept sorted by name so lookups are binary searches and series keys need
// no sorting. It is reset, not reallocated, for every entry. Its strings
// may point into the store's buffers, valid only while the entry is;
// whatever outlives the entry is copied.
type labelState struct {
	ls     []label
	stream labels.Labels // the entry's stream labels (Loki's "base" labels)
	hasErr bool
	gen    uint64 // counts parser invocations, for setParsed
}

// reset loads the stream labels and the structured metadata of e.
// Metadata whose name is a stream label gets the _extracted suffix, as
// Loki does.
func (s *labelState) reset(e *Entry) {
	s.ls = s.ls[:0]
	s.hasErr = false
	s.stream = e.Stream
	e.Stream.Range(func(l labels.Label) {
		s.ls = append(s.ls, label{name: l.Name, value: l.Value, cat: catStream})
	})
	e.Metadata.Range(func(l labels.Label) {
		name := l.Name
		if e.Stream.Has(name) {
			name += extractedSuffix
		}
		s.set(name, l.Value, catMetadata)
	})
}

// parsedName returns the name a parser gives an extracted key: keys that
// collide with a stream label get the _extracted suffix.
func (s *labelState) parsedName(key string) string {
	if s.stream.Has(key) {
		return key + extractedSuffix
	}
	return key
}

func (s *labelState) find(name string) (int, bool) {
	// Label sets are small: a linear scan from the end would do, but
	// binary search keeps wide sets (JSON with many fields) cheap.
	lo, hi := 0, len(s.ls)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.ls[m].name < name {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(s.ls) && s.ls[lo].name == name
}

func (s *labelState) get(name string) (string, bool) {
	if i, ok := s.find(name); ok {
		return s.ls[i].value, true
	}
	return "", false
}

func (s *labelState) set(name, value string, cat category) {
	i, ok := s.find(name)
	if ok {
		s.ls[i].value, s.ls[i].cat = value, cat
		return
	}
	s.ls = slices.Insert(s.ls, i, label{name: name, value: value, cat: cat})
}

// beginParse starts a parser invocation; within it the first value of a
// key wins ("if an extracted key appears twice, only the first label
// value will be kept", Loki's documentation says).
func (s *labelState) beginParse() { s.gen++ }

// setParsed sets a parsed label unless this parser invocation already
// set it.
func (s *labelState) setParsed(name, value string) {
	i, ok := s.find(name)
	if ok {
		if s.ls[i].gen == s.gen {
			return
		}
		s.ls[i] = label{name: s.ls[i].name, value: value, cat: catParsed, gen: s.gen}
		return
	}
	s.ls = slices.Insert(s.ls, i, label{name: name, value: value, cat: catParsed, gen: s.gen})
}

func (s *labelState) del(name string) {
	if i, ok := s.find(name); ok {
		s.ls = slices.Delete(s.ls, i, i+1)
	}
}

// setErr records a pipeline error; the first error of an entry wins.
func (s *labelState) setErr(kind, details string) {
	if s.hasErr {
		return
	}
	s.hasErr = true
	s.set(errorLabel, kind, catParsed)
	if details != "" {
		s.set(errorDetailsLabel, details, catParsed)
	}
}

// refreshErr recomputes hasErr after stages that may remove labels.
func (s *labelState) refreshErr() {
	_, s.hasErr = s.get(errorLabel)
}

// appendKey appends a canonical encoding of the label set to buf,
// for map lookups that do not allocate.
func (s *labelState) appendKey(buf []byte) []byte {
	for i := range s.ls {
		buf = append(buf, s.ls[i].name...)
		buf = append(buf, 0xff)
		buf = append(buf, s.ls[i].value...)
		buf = append(buf, 0xfe)
	}
	return buf
}

// labels copies the label set, keeping the categories keep accepts (all
// when keep is nil).
func (s *labelState) labels(b *labels.ScratchBuilder, keep func(category) bool) labels.Labels {
	b.Reset()
	for i := range s.ls {
		if keep == nil || keep(s.ls[i].cat) {
			b.Add(strings.Clone(s.ls[i].name), strings.Clone(s.ls[i].value))
		}
	}
	return b.Labels()
}

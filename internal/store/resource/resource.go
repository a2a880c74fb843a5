// Package resource maps a telemetry resource (the service instance that
// sent spans or log lines) to the stream labels of a column-store row and
// back, so the trace and log stores lay streams out alike: service.name
// first, then the other resource attributes in the sender's order, then,
// when any attribute is not a string, a "__types__" label holding one type
// byte per attribute.
package resource

import (
	"slices"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store/colstore"
)

// Label names with a fixed meaning in a stream.
const (
	// ServiceNameLabel is the first label of every stream.
	ServiceNameLabel = "service.name"
	// TypesLabel, when present, is the last label: the value types of the
	// resource attributes, one byte each.
	TypesLabel = "__types__"
)

// Same reports whether two resources are equal, so consecutive records of
// one resource can share one stream.
func Same(a, b *model.Resource) bool {
	return a.ServiceName == b.ServiceName && slices.Equal(a.Attributes, b.Attributes)
}

// Labels returns the stream labels of res.
func Labels(res *model.Resource) []colstore.Label {
	labels := make([]colstore.Label, 0, 1+len(res.Attributes))
	labels = append(labels, colstore.Label{Name: ServiceNameLabel, Value: res.ServiceName})
	var types []byte
	for i, a := range res.Attributes {
		labels = append(labels, colstore.Label{Name: a.Key, Value: a.Value})
		if a.Type != model.ValueString && types == nil {
			types = make([]byte, len(res.Attributes))
			for j := range i {
				types[j] = byte(model.ValueString)
			}
		}
		if types != nil {
			types[i] = byte(a.Type)
		}
	}
	if types != nil {
		labels = append(labels, colstore.Label{Name: TypesLabel, Value: string(types)})
	}
	return labels
}

// FromLabels rebuilds the resource of a stream. The strings it returns
// alias labels.
func FromLabels(labels []colstore.Label) model.Resource {
	var res model.Resource
	var types string
	n := len(labels)
	if n > 0 && labels[n-1].Name == TypesLabel {
		types = labels[n-1].Value
		n--
	}
	for i, l := range labels[:n] {
		if i == 0 && l.Name == ServiceNameLabel {
			res.ServiceName = l.Value
			continue
		}
		a := model.Attribute{Key: l.Name, Value: l.Value}
		if j := i - 1; j >= 0 && j < len(types) {
			a.Type = model.ValueType(types[j])
		}
		res.Attributes = append(res.Attributes, a)
	}
	return res
}

// ServiceName returns the service of a stream, or "" for a stream that was
// not written by Labels.
func ServiceName(labels []colstore.Label) string {
	if len(labels) > 0 && labels[0].Name == ServiceNameLabel {
		return labels[0].Value
	}
	return ""
}

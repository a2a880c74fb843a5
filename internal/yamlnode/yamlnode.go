// Package yamlnode finds entries in parsed YAML node trees, so that
// validation errors can name the line of what they are about.
package yamlnode

import "go.yaml.in/yaml/v3"

// Entry returns the key and value nodes of key in mapping node m, or nils
// when m is not a mapping or has no such key.
func Entry(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// Value returns the value node of key in mapping node m, or nil.
func Value(m *yaml.Node, key string) *yaml.Node {
	_, v := Entry(m, key)
	return v
}

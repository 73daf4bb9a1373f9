// Package docs holds sakk's OpenAPI document, embedded so the binary
// serves exactly the document its tests validate against.
package docs

import _ "embed"

// OpenAPI is docs/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

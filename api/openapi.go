package api

import (
	"fmt"
	"net/http"

	"github.com/sipswitch/sipswitch/engine"
)

// OpenAPIPath is where the OpenAPI description of both APIs is served.
const OpenAPIPath = "/api/openapi.json"

// OpenAPIHandler serves the OpenAPI 3 description of the Enswitch API and
// the gateway API (engine/openapi.go), made once. INFERRED: without
// authentication, as the README is: it describes the software (every
// function, every parameter's rule), not the switch's data, and holds no
// secret.
type OpenAPIHandler struct{ doc []byte }

// NewOpenAPIHandler describes the APIs of svc for a switch of version.
func NewOpenAPIHandler(svc *engine.Service, version string) (*OpenAPIHandler, error) {
	doc, err := svc.OpenAPI(version)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return &OpenAPIHandler{doc: doc}, nil
}

// ServeHTTP answers GET and HEAD with the document.
func (h *OpenAPIHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "use GET", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(h.doc)
}
